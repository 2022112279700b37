"""The extractive, cited answerer: question frame, evidence scoring, composition, follow-ups."""

from .answerer import (Answer, BadInput, Frame, ask, check_question, frame, rewrite_followup,
                       score_units)

__all__ = ["Answer", "BadInput", "Frame", "ask", "check_question", "frame", "rewrite_followup", "score_units"]
