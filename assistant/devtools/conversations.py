"""`assistant eval --qa conversations.jsonl`: multi-turn conversations, asked in order.

One JSON object per line: {"id", "turns": [{"question", "answerable", "must_contain", "evidence"?}, ...]}.
Each turn is asked through assistant.ask with the conversation so far as history (the assistant's own
earlier answers included, as a user of the API or the UI would send them), and scored like a single
question (evaluation.score_item). Metrics:
  turn_accuracy          all turns: an answerable turn answered with every must_contain, an unanswerable one refused
  follow_up_accuracy     the same over turns after the first
  refusal_rate           unanswerable turns refused
  false_refusal_rate     answerable turns refused
  citation_validity      share of all citations whose quote equals source[start:end]
  number_grounding       share of non-refused answers whose every number is in the quotes it cites
and the same per category: "first" for a first turn, else the rule that resolved the follow-up
(swap, pronoun, measure, aspect, time, ordinal, inherit, standalone).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..answer import doc2query
from .evalset import EvalItem, EvalSetError, read_jsonl
from .evaluation import ItemResult, _round, score_item
from .measures import percentiles, share as _share

METRICS = ("turn_accuracy", "follow_up_accuracy", "refusal_rate", "false_refusal_rate", "citation_validity", "number_grounding")
TURN_FIELDS = {"question", "answerable", "must_contain", "evidence"}


@dataclass
class TurnResult:
    conversation: str
    position: int  # 0 for the first turn
    category: str
    result: ItemResult

    @property
    def passed(self) -> bool:
        return bool(self.result.correct) if self.result.item.answerable else self.result.answer.refused


def is_conversation_file(path: str | Path) -> bool:
    """The first record has "turns": a conversation file (the eval CLI dispatches on this)."""
    try:
        return "turns" in read_jsonl(path)[0]
    except EvalSetError:
        return False


def validate(records: list[dict], sources: dict[str, str] | None) -> list[str]:
    problems = []
    for rec in records:
        where = f"第 {rec.get('_line')} 行（{rec.get('id')}）"
        turns = rec.get("turns")
        if not isinstance(rec.get("id"), str) or not isinstance(turns, list) or not turns:
            problems.append(f"{where}：应有字符串 id 和非空的 turns 列表")
            continue
        for k, t in enumerate(turns, 1):
            if not isinstance(t, dict) or not {"question", "answerable", "must_contain"} <= set(t) or set(t) - TURN_FIELDS:
                problems.append(f"{where} 第 {k} 轮：字段应为 question、answerable、must_contain（evidence 可选）")
                continue
            if not isinstance(t["question"], str) or not t["question"].strip() or not isinstance(t["answerable"], bool):
                problems.append(f"{where} 第 {k} 轮：question 或 answerable 无效")
            elif sources is not None:
                for s in list(t["must_contain"]) + list(t.get("evidence") or []):
                    if not any(s in src for src in sources.values()):
                        problems.append(f"{where} 第 {k} 轮：“{s[:30]}” 在文档中找不到")
    return problems


def turn_items(rec: dict) -> list[EvalItem]:
    return [EvalItem(f"{rec['id']}#{k}", t["question"], t["answerable"], "", tuple(t["must_contain"]),
                     tuple(t.get("evidence") or ()), "conversation" if t["answerable"] else "unanswerable", "medium",
                     rec.get("_line", 0)) for k, t in enumerate(rec["turns"], 1)]


def run_conversation(rec: dict, index, sources: dict[str, str]) -> list[TurnResult]:
    import assistant

    history: list[dict] = []
    out = []
    for k, item in enumerate(turn_items(rec)):
        category = category_of(item.question, history, index, k)
        t0 = time.perf_counter()
        with doc2query.excluding(doc2query.writer_of(rec["id"])):  # a train writer's own questions don't count
            answer = assistant.ask(item.question, history, index=index)
        latency = (time.perf_counter() - t0) * 1e3
        out.append(TurnResult(rec["id"], k, category, score_item(item, answer, [], sources, latency)))
        history += [{"role": "user", "content": item.question}, {"role": "assistant", "content": answer.answer}]
    return out


def category_of(question: str, history: list[dict], index, position: int) -> str:
    if position == 0:
        return "first"
    from .. import company_aliases
    from ..answer.dialogue import handbook_outline, understand

    # the outline as assistant.ask gives it, so an item reference is labelled as it was resolved
    return understand(question, history, company_aliases(index), outline=partial(handbook_outline, index)).rule


def metrics(results: list[TurnResult]) -> dict[str, float | None]:
    follow = [r for r in results if r.position > 0]
    return {
        "turn_accuracy": _share([r.passed for r in results]),
        "follow_up_accuracy": _share([r.passed for r in follow]),
        "refusal_rate": _share([r.result.answer.refused for r in results if not r.result.item.answerable]),
        "false_refusal_rate": _share([r.result.answer.refused for r in results if r.result.item.answerable]),
        "citation_validity": _share([v for r in results for v in r.result.citations_valid]),
        "number_grounding": _share([r.result.grounded for r in results if not r.result.answer.refused]),
    }


def report(results: list[TurnResult]) -> dict:
    cats = sorted({r.category for r in results})
    return {**{m: _round(v) for m, v in metrics(results).items()}, "n_turns": len(results),
            "n_conversations": len({r.conversation for r in results}),
            "by_category": {c: {**{m: _round(v) for m, v in metrics([r for r in results if r.category == c]).items()},
                                "n": sum(r.category == c for r in results)} for c in cats},
            "latency_ms": {k: None if v is None else round(v, 1)
                           for k, v in percentiles([r.result.latency_ms for r in results]).items()}}


def failures_md(results: list[TurnResult]) -> str:
    lines = ["# 对话评测：失败的轮次", ""]
    for r in results:
        if r.passed:
            continue
        a = r.result.answer
        lines += [f"## {r.result.item.id}（{r.category}）", f"- 问题：{r.result.item.question}",
                  f"- 理解为：{a.answered_question or '（原样）'}", f"- 原因：{'、'.join(r.result.failures()) or '—'}",
                  "- 回答：" + a.answer.replace("\n", " / ")[:300], ""]
    return "\n".join(lines)


def main(args, qa_path: Path) -> int:
    """Run a conversation file; print metrics (with --json one JSON document); --out writes
    metrics.json and failures.md. Gates do not apply (gates.toml holds single-question metrics)."""
    import assistant

    try:
        records = read_jsonl(qa_path)
        problems = validate(records, None)
        if not problems:
            index = assistant.get_index()
            sources = {d: doc.text for d, doc in index.docs.items()}
            problems = validate(records, sources)
    except EvalSetError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    if problems:
        print(f"错误：对话评测集 {qa_path} 无效（{len(problems)} 处问题）：{'；'.join(problems[:3])}", file=sys.stderr)
        return 2
    results = [t for rec in records for t in run_conversation(rec, index, sources)]
    doc = report(results)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
        (out / "failures.md").write_text(failures_md(results), "utf-8")
        print(f"报告已写入 {out}/（metrics.json、failures.md）", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    else:
        for m in METRICS:
            print(f"{m:20s} {doc[m]}")
        for c, v in doc["by_category"].items():
            print(f"  {c:12s} n={v['n']:3d}  turn_accuracy={v['turn_accuracy']}")
    return 0
