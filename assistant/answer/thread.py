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
    # The follow-up took nothing from the conversation and names its own subject ("那东莞小巨人的发明专利占比是多少？"):
    # it is decided as a question asked alone, with the single-question threshold. The follow-up threshold is
    # lower because a rewritten follow-up scores lower; on questions that say it all, it let tempting unanswerables
    # through (turn accuracy of such turns at the follow-up / the single threshold: train 0.77 / 0.86, dev 0.79 / 0.81).
    self_contained: bool = False

    @property
    def follow_up(self) -> bool:
        """Decided with the follow-up threshold: it follows an answer and leans on it."""
        return bool(self.quotes) and not self.self_contained

    @property
    def parallel_quotes(self) -> tuple[str, ...]:
        """What the previous answer quoted, when the follow-up asks it again of another place or time."""
        return self.quotes if self.parallel else ()


NO_THREAD = Thread()
