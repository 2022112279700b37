"""`assistant eval` on the command line: read the set and gates, run, report, judge the gates.

The glue lives here so that evaluation.py (running and scoring) and report.py (rendering) depend
on each other one way only: report imports evaluation, and this module imports both.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..answer import BadInput
from ..config import ROOT
from . import bank
from .evalset import EvalSetError, load, raise_problems, read_jsonl, validate
from .evaluation import Gate, Report, check_gates, load_gates, run_eval
from .report import metrics_table, write_outputs

DEFAULT_QA = ROOT / "eval" / "qa.jsonl"
DEFAULT_GATES = ROOT / "eval" / "gates.toml"


def main(args) -> int:
    split = getattr(args, "split", None)
    qa_paths = bank.files(split) if split else [Path(args.qa) if args.qa else DEFAULT_QA]
    qa_path = Path(f"eval/bank ({split})") if split else qa_paths[0]
    from .conversations import is_conversation_file

    if not split and is_conversation_file(qa_path):  # {"id", "turns": [...]} per line: asked turn by turn
        from .conversations import main as conversations_main

        return conversations_main(args, qa_path)
    try:
        gates = None if args.no_gate else load_gates(Path(args.gates) if args.gates else DEFAULT_GATES)
        # format first, without the index: a malformed file fails in a second, not after a build
        for p in qa_paths:
            raise_problems(p, validate(read_jsonl(p), None))
    except EvalSetError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    report = _run(qa_paths)
    if report is None:
        return 2
    failed, skipped = check_gates(report.metrics, gates) if gates is not None else ([], [])
    if args.out:
        # the sealed split is scored, never read question by question
        out = write_outputs(report, Path(args.out), qa_path, gates, failed, skipped, show_failures=split != "sealed")
        print(f"报告已写入 {out}/（metrics.json、report.md、report.png）", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(metrics_table(report))
        print(f"\n延迟 p50 {report.latency_ms['p50']:.1f} ms，p95 {report.latency_ms['p95']:.1f} ms")
    return 0 if gates is None else _judge(gates, failed, skipped)


def _run(qa_paths: list[Path]) -> Report | None:
    """Open the index and evaluate every item; None (after a one-line error) on a bad set."""
    import assistant

    t0 = time.perf_counter()
    index = assistant.get_index()
    print(f"索引就绪（{time.perf_counter() - t0:.1f} 秒）", file=sys.stderr)
    try:
        items = [it for p in qa_paths for it in load(p, index.sources())]
        report = run_eval(index, items, progress=True)
    except EvalSetError as e:
        print(f"错误：{e}", file=sys.stderr)
        return None
    except BadInput as e:  # a question the answerer rejects as input (e.g. too long)
        print(f"错误：评测集中有无效问题：{e}", file=sys.stderr)
        return None
    print(f"评测完成：{report.n} 题，用时 {report.wall_s:.1f} 秒", file=sys.stderr)
    return report


def _judge(gates: list[Gate], failed: list[tuple[Gate, float]], skipped: list[Gate]) -> int:
    for g in skipped:
        print(f"门槛未判定：{g.metric}（本评测集上无定义）", file=sys.stderr)
    for g, v in failed:
        print(f"门槛未通过：{g.metric} = {v:.4f}，要求 {g.describe()}", file=sys.stderr)
    if failed:
        return 1
    print(f"全部 {len(gates) - len(skipped)} 项门槛通过", file=sys.stderr)
    return 0
