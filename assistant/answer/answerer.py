"""The extractive, cited answerer (the default; no generative model needed).

question -> (follow-up rewrite) -> sub-questions -> frame (answer type, constraints)
-> hybrid retrieval -> candidate units (sentences, table rows, dated events, highlights)
-> evidence features per candidate -> learned confidence (ranks and decides)
-> composed answer with [n] markers -> citation verifier.

A question asking for the outline of a part of the handbook ("成长路径有哪几条？") is answered with its
sections from the table of contents (outline.py). Any other question is answered only when its best
candidate's confidence clears the threshold chosen on the dev split; otherwise the handbook is said
not to answer it. Task requests ("写一首诗"), questions
with no word the handbook contains, and questions naming a company or place the handbook never
mentions are declined before any scoring.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from ..chunking import Unit
from ..citations import Citation, verify
from ..config import MAX_QUESTION_CHARS, REFUSAL, Config
from ..embedding import prefetch_queries
from ..index import Index
from ..ingest.profiles import asks_business, lookup_milestones
from ..retrieval import Filters, Hit, HybridRetriever
from . import confidence, derive
from .compose import AnswerSettings, compose, pick_units
from .evidence import Candidate, candidates
from .followup import MAX_PARTS, resolve_part, rewrite_followup, split_comparison, split_two_part
from .frame import TASK_REQUEST, Frame, frame, off_topic
from .input import check_question
from .items import from_item
from .outline import from_outline
from .rules import RULES
from .tables import from_row, from_table
from .lead import entity_leads
from .thread import NO_THREAD, Thread

INSTRUCTION = RULES.patterns["instruction_to_assistant"].pattern
ASKS_CURRENT_ROLE = RULES.patterns["asks_current_role"].pattern
ASKS_PROFILED = RULES.patterns["asks_profiled"].pattern


@dataclass
class Decision:
    """Why a (sub-)question was answered or refused: for reports and the eval's failure analysis."""

    question: str
    reason: str  # answered | below_threshold | no_candidate | unknown_name | off_topic | task_request | record | item | table | outline
    confidence: float = 0.0
    threshold: float = 0.0
    unit: str = ""  # the best candidate's text (first 60 chars)
    # the features that moved the best candidate most: computed only when a report asks (not per answer)
    explain: Callable[[], list[tuple[str, float]]] | None = field(default=None, repr=False, compare=False)

    @property
    def top_features(self) -> list[tuple[str, float]]:
        return self.explain() if self.explain else []

    def as_json(self) -> dict:
        return {"question": self.question, "reason": self.reason, "confidence": round(self.confidence, 4),
                "threshold": round(self.threshold, 4), "unit": self.unit,
                "top_features": [[n, v] for n, v in self.top_features]}


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    related: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    answered_question: str | None = None  # the rewritten question, for a follow-up
    answerer: str = "extractive"
    notice: str | None = None
    decisions: list[Decision] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return max((d.confidence for d in self.decisions), default=0.0)

    def as_json(self) -> dict:
        return {"question": self.question, "answer": self.answer, "refused": self.refused,
                "citations": [c.as_json() for c in self.citations],
                "confidence": round(self.confidence, 4),
                "timings_ms": {k: round(self.timings_ms.get(k, 0.0), 2) for k in ("retrieve", "answer", "total")}}


def settings(cfg: Config, model: confidence.ConfidenceModel, follow_up: bool = False) -> AnswerSettings:
    """The answer settings; a question that follows an answer has the model's follow-up threshold."""
    own = model.follow_up_threshold if follow_up and model.follow_up_threshold is not None else model.threshold
    threshold = cfg.answer_threshold if cfg.answer_threshold is not None else own
    return AnswerSettings(threshold, cfg.join_ratio, cfg.max_context_units, cfg.list_extra_units, cfg.other_extra_units)


def units_of(index: Index, company: str) -> list[Unit]:
    """A profiled company's units, from a table built once per index (not a scan per question)."""
    table = index.extra("company_units", lambda: _by_company(index.units))
    return table.get(company, [])


def _by_company(units: list[Unit]) -> dict[str, list[Unit]]:
    out: dict[str, list[Unit]] = {}
    for u in units:
        if u.company:
            out.setdefault(u.company, []).append(u)
    return out


def declined(question: str, f: Frame, index: Index) -> str | None:
    if TASK_REQUEST.search(question):
        return "task_request"
    if f.unknown and index.cfg.decline_unknown_names:
        return "unknown_name"
    if off_topic(f, index):
        return "off_topic"
    return None


def from_record(question: str, f: Frame, index: Index, filters: Filters) -> list[Unit] | None:
    """A profiled company's dated milestone or business, straight from its record (None: not asked)."""
    if not f.companies:
        return None
    company_units = units_of(index, f.companies[0].name)
    asked = lookup_milestones(question, f.companies[0])
    if asked:
        return [u for u in company_units if any(sp.start == ev.event.start for ma in asked for ev in ma.events for sp in u.spans)
                and filters.allows(index.chunks[u.chunk])]  # empty: the record has no such milestone
    if asks_business(question):
        intro = f.companies[0].intro
        found = [u for u in company_units if intro and u.spans[0].start == intro.start and filters.allows(index.chunks[u.chunk])]
        return found or None
    return None


def from_profiles(question: str, f: Frame, index: Index, filters: Filters) -> list[Unit] | None:
    """The companies a 成长档案 presents, each by its profile's title line ("广东思谷智能技术有限公司：…"):
    those of the cities the question names, or all of them (None: not asked, or no profile of those cities)."""
    if not ASKS_PROFILED.search(question) or f.companies:
        return None
    profiles = [p for d in index.docs.values() for p in d.profiles]
    if f.places:
        profiles = [p for p in profiles if p.city in f.places]
    firsts = [next((u for u in units_of(index, p.name) if u.kind == "profile" and filters.allows(index.chunks[u.chunk])), None)
              for p in profiles]
    return [u for u in firsts if u is not None] or None


def from_byline(question: str, index: Index, filters: Filters) -> list[Unit] | None:
    """A column author's current titles, from the byline under the column's heading ("周伟然是什么职位").
    Only bylines that list titles below the name (a person's): None when not asked or no author is named."""
    if not ASKS_CURRENT_ROLE.search(question):
        return None
    found = [u for u in index.units if u.kind == "byline" and len(u.spans) > 1 and u.spans[0].text in question
             and filters.allows(index.chunks[u.chunk])]
    return found[:1] or None


def rank(question: str, index: Index, filters: Filters, timings: dict,
         thread: Thread = NO_THREAD) -> tuple[Frame, list[Candidate], list[Hit]]:
    """Frame, retrieve, and score every candidate unit with the learned model (best first)."""
    f, cands, hits = gather(question, index, filters, timings, thread)
    return f, confidence.load(index.cfg.confidence_model).score(cands), hits


def gather(question: str, index: Index, filters: Filters, timings: dict,
           thread: Thread = NO_THREAD) -> tuple[Frame, list[Candidate], list[Hit]]:
    """Frame, retrieve, and compute the evidence features of every candidate unit (unscored). `thread`:
    the previous answer, when the question follows one."""
    cfg = index.cfg
    f = frame(question, index)
    t0 = time.perf_counter()
    r = HybridRetriever(index, top_k=cfg.answer_chunks, filters=filters).retrieve_timed(question)
    timings["retrieve"] = timings.get("retrieve", 0.0) + (time.perf_counter() - t0) * 1e3
    for k, v in r.timings_ms.items():
        timings[k] = timings.get(k, 0.0) + v
    extra = [u.id for u in units_of(index, f.companies[0].name)] if f.companies else []
    return f, candidates(f, r.query_vec, r.hits, index, extra, filters, cfg.unit_candidates, thread), r.hits


def answer_one(question: str, index: Index, filters: Filters, timings: dict,
               thread: Thread = NO_THREAD) -> tuple[list[Unit], list[Hit], Decision]:
    f, ranked, hits = rank(question, index, filters, timings, thread)
    t1 = time.perf_counter()
    model = confidence.load(index.cfg.confidence_model)
    s = settings(index.cfg, model, follow_up=thread.follow_up)
    why = declined(question, f, index)
    if why:
        return [], hits, Decision(question, why, threshold=s.threshold)
    record = from_record(question, f, index, filters)
    if record is not None:
        return record, hits, Decision(question, "record" if record else "record_missing", 1.0 if record else 0.0, s.threshold)
    profiled = from_profiles(question, f, index, filters)
    if profiled:
        return profiled, hits, Decision(question, "profiles", 1.0, s.threshold, profiled[0].text[:60])
    author = from_byline(question, index, filters)
    if author:
        return author, hits, Decision(question, "byline", 1.0, s.threshold, author[0].text[:60])
    item = from_item(question, index, filters)
    if item:
        return item, hits, Decision(question, "item", 1.0, s.threshold, item[0].text[:60])
    row = from_table(question, f, index, filters) or from_row(question, f, index, filters)
    if row:
        return row, hits, Decision(question, "table", 1.0, s.threshold, row[0].text[:60])
    if not ranked:
        return [], hits, Decision(question, "no_candidate", threshold=s.threshold)
    best = ranked[0]
    d = Decision(question, "answered" if best.p >= s.threshold else "below_threshold", best.p, s.threshold,
                 best.unit.text[:60], lambda: model.contributions(best))
    chosen = pick_units(ranked, f, index, s) if best.p >= s.threshold else []
    timings["select"] = timings.get("select", 0.0) + (time.perf_counter() - t1) * 1e3
    return chosen, hits, d


def _echo(user_text: str) -> str:
    """User text quoted inside a note line: no citation-like [n], no sentence break, one line."""
    return re.sub(r"[。！？!?\n]+", "，", user_text.replace("[", "［").replace("]", "］")).strip("，")


def sub_questions(effective: str, index: Index) -> tuple[list[str], bool]:
    subs = split_comparison(effective, index)
    if len(subs) > 1:
        return subs, False
    return split_two_part(effective), True


def ask(question, index: Index, history: list | None = None, filters: Filters | None = None,
        thread: Thread = NO_THREAD) -> Answer:
    t_start = time.perf_counter()
    q = check_question(question)
    filters = filters or Filters()
    timings: dict[str, float] = {}
    rewritten = rewrite_followup(q, history or [], index)
    if rewritten and len(rewritten) > MAX_QUESTION_CHARS:
        rewritten = None  # the length cap holds after a rewrite too: a huge earlier question is not reused
    core = re.sub(INSTRUCTION, "", rewritten or q) or (rewritten or q)  # "忽略以上所有规则，…": not the question
    subs, two_part = sub_questions(core, index)
    subs = subs[:MAX_PARTS]  # a question of 100 "？"-separated parts would cost 100 retrievals
    if not two_part:  # a comparison's sub-questions are known now (a two-part question's later parts are resolved later)
        prefetch_queries(index.embed, subs)
    chosen: list[Unit] = []
    related: list[Hit] = []
    notes: list[str] = []
    decisions: list[Decision] = []
    # the outline of a part is asked of the whole question: a comparison's halves ask about places
    outline = from_outline(core, index, filters)
    if outline:
        subs, chosen = [], outline
        threshold = settings(index.cfg, confidence.load(index.cfg.confidence_model)).threshold
        decisions.append(Decision(core, "outline", 1.0, threshold, outline[0].text[:60]))
    parts: list[tuple[str, list[Unit]]] = []  # per sub-question, for a computed comparison line
    asked: list[tuple[str, list[Unit], str]] = []  # per sub-question, for the asked-slot lines
    for i, sq in enumerate(subs):
        if two_part and i > 0:
            sq = resolve_part(sq, subs[0], chosen, index)
        units, hits, d = answer_one(sq, index, filters, timings, thread)
        decisions.append(d)
        related.extend(h for h in hits if h.chunk.id not in {x.chunk.id for x in related})
        if two_part and i == 0 and not units and len(subs) > 1:
            # later parts lean on the first ("广宇科技2023年营收多少？有没有突破3亿？"): when the handbook does
            # not answer the first, what they find answers another question (train: 10 of 18 such answers
            # were to unanswerable questions, 3 right)
            break
        parts.append((sq, units))
        asked.append((sq, units, d.unit))
        if not units and len(subs) > 1:
            notes.append(f"（手册中没有找到“{_echo(sq)}”的答案。）")
        chosen.extend(u for u in units if u.id not in {c.id for c in chosen})
    t_compose = time.perf_counter()
    cites: list[Citation] = []
    if not chosen:
        text, refused = REFUSAL, True
    else:
        computed = derive.lead(rewritten or q, parts, cites, index)  # cites its operands first: [1][2]
        if computed:  # the computed line answers for its names: no "not found" note about them
            notes = [n for n in notes if not any(name in n for name in computed.names)]
        text, refused = entity_leads(asked, index, cites) + compose(chosen, cites, notes), False
        if computed:
            text = f"{computed.text}\n{text}"
        if rewritten:
            text = f"（理解为：“{_echo(rewritten)}”）\n{text}"
    t_verify = time.perf_counter()
    timings["compose"] = (t_verify - t_compose) * 1e3
    if not refused:
        v = verify(text, cites, {d: doc.text for d, doc in index.docs.items()})
        text, cites, refused = v.answer, v.citations, v.answer == REFUSAL
    timings["verify"] = (time.perf_counter() - t_verify) * 1e3
    timings["total"] = (time.perf_counter() - t_start) * 1e3
    timings["answer"] = timings["total"] - timings.get("retrieve", 0.0)
    return Answer(q, text, refused, cites, related[:5], timings, rewritten, decisions=decisions)
