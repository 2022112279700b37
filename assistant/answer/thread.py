"""The thread of a conversation as the answerer sees a follow-up: what the previous answer quoted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thread:
    """The previous answer of a conversation, against which a follow-up's candidates are scored: the
    sentences it quoted, and whether the follow-up asks the same again of another place or time (a swap:
    then a sentence shaped like those quotes is likely the answer, parallel_previous)."""

    quotes: tuple[str, ...] = ()
    parallel: bool = False

    @property
    def parallel_quotes(self) -> tuple[str, ...]:
        """What the previous answer quoted, when the follow-up asks it again of another place or time."""
        return self.quotes if self.parallel else ()


NO_THREAD = Thread()
