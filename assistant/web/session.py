"""One chat session: its turns, the turn whose sources are shown, who it belongs to.

A session is created by the server on its first request (never chosen by the client): its id is
random, it is bound to the address it came from, and its turns are kept only as bounded text.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from assistant.store import QUESTION_CHARS

from .render import EMPTY_SOURCES, shown_question

VOTABLE = ("answer", "refused", "raw")


@dataclass
class Turn:
    question: str  # the checked question, or a bounded excerpt of rejected input
    mode: str  # "pending", "answer", "refused", "raw" or "error"
    chars: int = 0  # the length of what was typed (a rejected input is kept only as an excerpt)
    answer: str = ""
    shown: str = "正在查阅手册……"  # the chat's markdown for this answer
    citations: list = field(default_factory=list)
    sources: str = EMPTY_SOURCES
    rewritten: str | None = None
    anchors: dict = field(default_factory=dict)  # citation number -> the 来源 entry that shows it
    tail: str = ""  # notes shown under the streamed answer
    latency_ms: float = 0.0
    id: str | None = None  # the store's turn id, once recorded
    vote: str | None = None

    @property
    def votable(self) -> bool:
        return self.mode in VOTABLE


@dataclass
class Session:
    id: str
    address: str
    turns: list[Turn] = field(default_factory=list)
    shown: int = -1  # the turn whose sources (and vote buttons) are on screen
    # one answer at a time per session: a second question waits for the first, never races it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def new(cls, address: str) -> "Session":
        return cls(uuid.uuid4().hex, address)

    def shown_turn(self) -> Turn | None:
        return self.turns[self.shown] if -len(self.turns) <= self.shown < len(self.turns) else None

    def find(self, ref) -> Turn | None:
        """A turn of this session by id ("" or "-1" = the latest answer that can be rated)."""
        if ref in (None, "", "-1", -1):
            return next((t for t in reversed(self.turns) if t.votable), None)
        if isinstance(ref, str) and len(ref) <= 64:
            return next((t for t in self.turns if t.id == ref), None)
        return None

    def history(self) -> list[dict]:
        """The raw conversation for assistant.ask; rejected inputs and errors are left out."""
        hist = []
        for t in self.turns:
            if t.votable:
                hist += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer}]
        return hist

    def messages(self) -> list[dict]:
        """Two messages per turn, always: a message index maps to its turn as index // 2."""
        msgs = []
        for t in self.turns:
            msgs.append({"role": "user", "content": shown_question(t.question, t.chars)})
            msgs.append({"role": "assistant", "content": t.shown})
        return msgs


def rejected_excerpt(question) -> tuple[str, int]:
    """What a rejected input is remembered as: a bounded, encodable excerpt (never the whole text)
    and its length."""
    text = question if isinstance(question, str) else repr(question)[:QUESTION_CHARS]
    excerpt = text[:QUESTION_CHARS].encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    return excerpt, len(text)
