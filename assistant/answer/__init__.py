"""The extractive, cited answerer: question frame, evidence features, learned confidence, composition."""

from .answerer import Answer, Decision, ask, rank
from .followup import rewrite_followup
from .frame import Frame, frame
from .input import BadInput, check_question

__all__ = ["Answer", "BadInput", "Decision", "Frame", "ask", "check_question", "frame", "rank", "rewrite_followup"]
