"""`assistant eval`: run an eval set through the real answerer and retriever, score, gate, report.

Metrics (null when the set has nothing to measure them on):
  hit@1, hit@5, mrr@10    retrieval: a chunk hits when its span overlaps an evidence span (answerable items)
  answer_accuracy         answerable, not refused, and the answer holds every must_contain string
  citation_validity       share of all citations whose quote equals source[start:end]
  citation_support        of correctly answered items, share with a citation overlapping an evidence span
  number_grounding        share of non-refused answers whose every number is in the quotes it cites
                          (or is the result of a right derivation from them that its sentence states)
  refusal_rate            unanswerable items refused
  false_refusal_rate      answerable items refused
Latency is wall clock around each `ask` call. Progress goes to stderr; with --json stdout holds
exactly one JSON document.
"""

from __future__ import annotations

import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..answer import Answer, check_question, doc2query
from ..citations import META_PREFIXES, quote_valid, ungrounded
from ..text import MARKER, bare_text, split_sentences
from .measures import RETRIEVE_K, first_hit, percentiles, rank_metrics, share
from .evalset import CATEGORIES, EvalItem, EvalSetError, evidence_spans
from ..index import Index
from ..retrieval import Hit, search
from ..types import Span

METRICS = ("hit@1", "hit@5", "mrr@10", "answer_accuracy", "citation_validity", "citation_support",
           "number_grounding", "refusal_rate", "false_refusal_rate")


@dataclass
class ItemResult:
    item: EvalItem
    answer: Answer
    latency_ms: float
    hits: list[Hit]  # top RETRIEVE_K of search(question)
    spans: list[Span]  # where the evidence occurs
    first_hit: int | None  # rank of the first retrieved chunk overlapping evidence
    correct: bool | None  # None for unanswerable items
    missing: list[str]  # must_contain strings absent from the answer
    citations_valid: list[bool]
    supported: bool | None  # a citation overlaps evidence (judged for correct answers only)
    grounded: bool | None  # None when refused
    ungrounded: list[str]  # numbers of the answer not found in the quotes they cite

    def failure_class(self) -> str | None:
        """The issue's failure classes, decided from the result alone (no reading of questions)."""
        if not self.failures():
            return None
        retrieved = self.first_hit is not None and self.first_hit <= 5
        if not self.item.answerable:
            return "unanswerable_answered"
        if self.answer.refused:
            return "false_refusal" if retrieved else "false_refusal_retrieval_miss"
        if self.missing:
            return "wrong_unit" if retrieved else "retrieval_miss"
        return "other"

    def deciding(self) -> str:
        """What decided the answer: the reason, confidence against threshold, the strongest features."""
        parts = []
        for d in self.answer.decisions:
            feats = "，".join(f"{n} {v:+.2f}" for n, v in d.top_features[:3])
            parts.append(f"{d.reason} p={d.confidence:.3f}/阈值 {d.threshold:.3f}" + (f"（{feats}）" if feats else ""))
        return "；".join(parts)

    def failures(self) -> list[str]:
        """Why this item counts as failed (Chinese, for the report); [] when it passed."""
        why = []
        if self.item.answerable:
            if self.answer.refused:
                why.append("误拒答")
            elif self.missing:
                why.append("答案缺少：" + "、".join(self.missing))
            elif self.supported is False:
                why.append("引用未覆盖证据")
        elif not self.answer.refused:
            why.append("应拒答却作答")
        if not all(self.citations_valid):
            why.append("引用原文不符")
        if self.grounded is False:
            why.append("数字无出处：" + "、".join(self.ungrounded))
        return why


@dataclass
class Report:
    metrics: dict[str, float | None]
    n: int
    by_category: dict[str, dict]
    latency_ms: dict[str, float | None]
    results: list[ItemResult] = field(default_factory=list)
    wall_s: float = 0.0

    def as_json(self) -> dict:
        """The --json document and metrics.json: exactly the metric names, n, by_category, latency_ms."""
        return {**{m: _round(self.metrics[m]) for m in METRICS}, "n": self.n,
                "by_category": {c: {**{m: _round(v[m]) for m in METRICS}, "n": v["n"]} for c, v in self.by_category.items()},
                "latency_ms": {k: None if v is None else round(v, 1) for k, v in self.latency_ms.items()}}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


# ---------------------------------------------------------------- scoring one item

def normalise(text: str) -> str:
    """An answer as scored: no markers or whitespace (bare_text), and in the handbook's simplified
    script (a 繁體 user's lead line is in 繁體)."""
    from ..answer.language import to_simplified

    return to_simplified(bare_text(text))


def ungrounded_numbers(answer: Answer) -> list[str]:
    """Numbers of each sentence missing from the quotes that sentence cites (the verifier's rule 3,
    re-checked here so a regression in the verifier, or an answerer bypassing it, shows up)."""
    quotes = {c.n: c.quote for c in answer.citations}
    bad = []
    for s in split_sentences(answer.answer):
        if s.strip().startswith(META_PREFIXES):
            continue  # "（理解为：…）" restates the question; it asserts no fact
        cited = "\n".join(quotes.get(int(n), "") for n in MARKER.findall(s))
        bad += ungrounded(s, cited)  # a number may be the result of a right derivation it states
    return bad


def score_item(item: EvalItem, answer: Answer, hits: list[Hit], sources: dict[str, str], latency_ms: float) -> ItemResult:
    spans = evidence_spans(item, sources)
    first = first_hit(hits, spans)
    valid = [quote_valid(c, sources) for c in answer.citations]
    correct = missing = supported = None
    if item.answerable:
        text = normalise(answer.answer)
        missing = [m for m in item.must_contain if bare_text(m) not in text]
        correct = not answer.refused and not missing
        if correct:
            supported = any(s.overlaps(c.doc, c.start, c.end) for c in answer.citations for s in spans)
    bad_numbers = [] if answer.refused else ungrounded_numbers(answer)
    return ItemResult(item, answer, latency_ms, hits, spans, first, correct, missing or [], valid, supported,
                      None if answer.refused else not bad_numbers, bad_numbers)


# ---------------------------------------------------------------- aggregation

def metrics(results: list[ItemResult]) -> dict[str, float | None]:
    answerable = [r for r in results if r.item.answerable]
    return {
        **rank_metrics([r.first_hit for r in answerable]),
        "answer_accuracy": share([r.correct for r in answerable]),
        "citation_validity": share([v for r in results for v in r.citations_valid]),
        "citation_support": share([r.supported for r in answerable if r.correct]),
        "number_grounding": share([r.grounded for r in results if not r.answer.refused]),
        "refusal_rate": share([r.answer.refused for r in results if not r.item.answerable]),
        "false_refusal_rate": share([r.answer.refused for r in answerable]),
    }


def aggregate(results: list[ItemResult], wall_s: float = 0.0) -> Report:
    cats = sorted({r.item.category for r in results}, key=_category_order)
    by_cat = {}
    for c in cats:
        sub = [r for r in results if r.item.category == c]
        by_cat[c] = {**metrics(sub), "n": len(sub)}
    return Report(metrics(results), len(results), by_cat, percentiles([r.latency_ms for r in results]), results, wall_s)


def _category_order(c: str) -> int:
    return CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES)


# ---------------------------------------------------------------- running

def run_eval(index: Index, items: list[EvalItem], progress: bool = False) -> Report:
    """Ask every question (through assistant.ask, the public entry point) and retrieve its top 10."""
    import assistant

    sources = index.sources()
    # One untimed call first: the first ask builds lazy per-index caches (IDF table, lowered
    # corpus), which would otherwise land in one question's latency.
    assistant.ask("广东有多少家专精特新“小巨人”企业？", index=index)
    bar = items
    if progress:
        from tqdm import tqdm

        bar = tqdm(items, desc="评测", unit="题", file=sys.stderr, disable=None)
    results = []
    t_start = time.perf_counter()
    for item in bar:
        t0 = time.perf_counter()
        with doc2query.excluding(doc2query.writer_of(item.id)):  # a train writer's own questions don't count
            answer = assistant.ask(item.question, index=index)
            latency = (time.perf_counter() - t0) * 1e3
            # retrieval is scored on what the answerer retrieves with: an English or 繁體 question as understood
            hits = search(index, assistant.understood(check_question(item.question), [], index)[1], k=RETRIEVE_K).hits
        results.append(score_item(item, answer, hits, sources, latency))
    return aggregate(results, time.perf_counter() - t_start)


# ---------------------------------------------------------------- gates

@dataclass(frozen=True)
class Gate:
    metric: str
    min: float | None = None
    max: float | None = None

    def describe(self) -> str:
        return " 且 ".join(x for x in (f">= {self.min}" if self.min is not None else "",
                                        f"<= {self.max}" if self.max is not None else "") if x)


def load_gates(path: str | Path) -> list[Gate]:
    """[gates] table of {min = x} / {max = y} per metric; raises EvalSetError on a bad file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise EvalSetError(f"门槛文件不存在：{p}")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise EvalSetError(f"门槛文件 {p} 无法解析：{str(e).splitlines()[0]}")
    table = data.get("gates")
    if not isinstance(table, dict) or not table:
        raise EvalSetError(f"门槛文件 {p} 缺少 [gates] 表")
    gates = []
    for metric, rule in table.items():
        if metric not in METRICS:
            raise EvalSetError(f"门槛文件 {p}：未知指标 {metric}，可用：{', '.join(METRICS)}")
        if (not isinstance(rule, dict) or not rule or set(rule) - {"min", "max"}
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rule.values())):
            raise EvalSetError(f"门槛文件 {p}：{metric} 应写成 {{min = 数值}} 或 {{max = 数值}}")
        gates.append(Gate(metric, rule.get("min"), rule.get("max")))
    return gates


def check_gates(values: dict[str, float | None], gates: list[Gate]) -> tuple[list[tuple[Gate, float]], list[Gate]]:
    """(failed gates with their value, gates not judged because the metric is undefined on this set)."""
    failed, skipped = [], []
    for g in gates:
        v = values.get(g.metric)
        if v is None:
            skipped.append(g)  # e.g. refusal_rate on a set with no unanswerable item
        elif (g.min is not None and v < g.min) or (g.max is not None and v > g.max):
            failed.append((g, v))
    return failed, skipped
