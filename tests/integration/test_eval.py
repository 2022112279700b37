"""The eval harness: per-item scoring, aggregation, gates, the `assistant eval` CLI, and the full gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Answer, Citation
from assistant.config import REFUSAL, ROOT
from assistant.devtools.evalset import EvalItem, EvalSetError, find_spans, load
from assistant.devtools.eval_cli import DEFAULT_GATES
from assistant.devtools.evaluation import (METRICS, Gate, aggregate, check_gates, load_gates, run_eval,
                                  score_item)
from assistant.retrieval import Hit, search

TOP_KEYS = set(METRICS) | {"n", "by_category", "latency_ms"}
EVIDENCE = "国家级专精特新“小巨人”达到1.2万家，专精特新中小企业10.3万家"
COUNTRY = EvalItem("c1", "全国的国家级专精特新小巨人企业有多少家？", True, "达到1.2万家。", ("1.2万家",),
                   (EVIDENCE,), "number", "easy")
# must_contain names a Foshan company: an answer to a national count has no reason to contain it
IMPOSSIBLE = EvalItem("c2", "现在全国一共有多少家国家级的专精特新“小巨人”？", True, "（不可能的答案）", ("康思达液压机械",),
                      (EVIDENCE,), "number", "easy")
OFF_TOPIC = EvalItem("c3", "火星上一共有多少家咖啡店？", False, "", (), (), "unanswerable", "easy")


@pytest.fixture(scope="module")
def sources(index):
    return index.sources()


def _citation(n: int, sources: dict, text: str) -> Citation:
    (span, *_) = find_spans(text, sources)
    return Citation(n, span.doc, span.start, span.end, "前言", text)


def _answer(text: str, citations: list[Citation], refused: bool = False) -> Answer:
    return Answer(COUNTRY.question, text, refused, citations)


# ---------------------------------------------------------------- scoring one item (hand-made answers)

def test_markers_and_line_breaks_do_not_hide_a_correct_answer(sources, index):
    cite = _citation(1, sources, EVIDENCE)
    hits = search(index, COUNTRY.question, k=10).hits
    for text in ("国家级专精特新“小巨人”达到1.2万家。[1]", "达到1.2[1]万家。", "达到1.2\n万家[1]。"):
        r = score_item(COUNTRY, _answer(text, [cite]), hits, sources, 10.0)
        assert r.correct and r.missing == [], text
    r = score_item(COUNTRY, _answer("达到1.3万家。[1]", [cite]), hits, sources, 10.0)
    assert r.correct is False and r.missing == ["1.2万家"]


def test_citation_validity_support_and_grounding(sources, index):
    good = _citation(1, sources, EVIDENCE)
    bad = Citation(2, good.doc, good.start, good.end, good.section, "国家级专精特新“小巨人”达到9.9万家")
    hits = search(index, COUNTRY.question, k=10).hits
    r = score_item(COUNTRY, _answer("达到1.2万家。[1][2]", [good, bad]), hits, sources, 10.0)
    assert r.citations_valid == [True, False]
    assert r.supported is True and r.grounded is True
    assert "引用原文不符" in r.failures()

    # right value, but cited from a passage that is not the evidence
    elsewhere = _citation(1, sources, "专精特新中小企业占A股上市企业数量的32.9%")
    r = score_item(COUNTRY, _answer("达到1.2万家。[1]", [elsewhere]), hits, sources, 10.0)
    assert r.correct and r.supported is False and r.grounded is False and r.ungrounded == ["1.2万"]

    # a number the cited quote does not hold
    r = score_item(COUNTRY, _answer("达到1.2万家，另有5000家。[1]", [good]), hits, sources, 10.0)
    assert r.grounded is False and r.ungrounded == ["5000"]

    refused = score_item(COUNTRY, _answer(REFUSAL, [], refused=True), hits, sources, 10.0)
    assert refused.correct is False and refused.grounded is None and refused.failures() == ["误拒答"]


def test_retrieval_ranks(sources, index):
    spans = find_spans(EVIDENCE, sources)
    on = [c for c in index.chunks if any(s.overlaps(c.doc, c.start, c.end) for s in spans)]
    off = [c for c in index.chunks if c not in on]
    answer = _answer("达到1.2万家。[1]", [_citation(1, sources, EVIDENCE)])
    ranked = [Hit(i + 1, 1.0, c) for i, c in enumerate(off[:2] + on[:1] + off[2:9])]
    at3 = score_item(COUNTRY, answer, ranked, sources, 10.0)
    assert at3.first_hit == 3
    missed = score_item(COUNTRY, answer, [Hit(i + 1, 1.0, c) for i, c in enumerate(off[:10])], sources, 10.0)
    assert missed.first_hit is None
    m = aggregate([at3, missed]).metrics
    assert m["hit@1"] == 0.0 and m["hit@5"] == 0.5 and m["mrr@10"] == pytest.approx((1 / 3) / 2)
    assert m["refusal_rate"] is None  # no unanswerable item in the set


def test_aggregate_latency_and_categories(sources, index):
    cite = _citation(1, sources, EVIDENCE)
    hits = search(index, COUNTRY.question, k=10).hits
    results = [score_item(COUNTRY, _answer("达到1.2万家。[1]", [cite]), hits, sources, ms) for ms in (10.0, 20.0, 30.0)]
    results.append(score_item(OFF_TOPIC, _answer("达到1.2万家。[1]", [cite]), hits, sources, 1000.0))
    rep = aggregate(results)
    assert rep.latency_ms["p50"] == pytest.approx(25.0)
    assert rep.metrics["refusal_rate"] == 0.0 and rep.metrics["answer_accuracy"] == 1.0
    assert rep.by_category["number"]["n"] == 3 and rep.by_category["unanswerable"]["n"] == 1
    assert rep.by_category["unanswerable"]["answer_accuracy"] is None
    assert results[-1].failures() == ["应拒答却作答"]
    doc = rep.as_json()
    assert set(doc) == TOP_KEYS and set(doc["latency_ms"]) == {"p50", "p95"}


# ---------------------------------------------------------------- the real answerer on crafted sets

def test_run_eval_on_crafted_items(index):
    rep = run_eval(index, [COUNTRY, IMPOSSIBLE, OFF_TOPIC])
    by_id = {r.item.id: r for r in rep.results}
    assert "康思达液压机械" not in by_id["c2"].answer.answer
    assert by_id["c2"].correct is False
    assert by_id["c3"].answer.refused  # off-topic: the answerer refuses, and it is counted
    assert rep.by_category["unanswerable"]["refusal_rate"] == 1.0
    assert rep.metrics["refusal_rate"] == 1.0
    assert rep.by_category["number"]["n"] == 2
    # c1 (a paraphrase of eval/qa.jsonl's q001) is answered from the preface: a wrong or refused c1 is a failure here
    assert by_id["c1"].correct is True, by_id["c1"].answer.answer
    assert by_id["c1"].missing == [] and by_id["c1"].supported is True
    assert rep.metrics["answer_accuracy"] == pytest.approx(0.5)
    assert rep.metrics["hit@5"] is not None and rep.metrics["citation_validity"] in (None, 1.0)
    assert all(r.latency_ms > 0 for r in rep.results)

    only_impossible = run_eval(index, [IMPOSSIBLE])
    assert only_impossible.metrics["answer_accuracy"] == 0.0
    assert only_impossible.metrics["refusal_rate"] is None and only_impossible.metrics["citation_support"] is None


# ---------------------------------------------------------------- gates

def test_gates_file_and_checks(tmp_path):
    gates = load_gates(DEFAULT_GATES)
    assert {g.metric for g in gates} == {"answer_accuracy", "citation_validity", "number_grounding", "refusal_rate",
                                         "false_refusal_rate"}
    values = {"answer_accuracy": 0.80, "citation_validity": 1.0, "number_grounding": 1.0, "refusal_rate": None,
              "false_refusal_rate": 0.10}
    failed, skipped = check_gates(values, gates)
    assert [g.metric for g, _ in failed] == ["answer_accuracy", "false_refusal_rate"]
    assert [g.metric for g in skipped] == ["refusal_rate"]
    assert check_gates({"hit@1": 0.5}, [Gate("hit@1", min=0.5)]) == ([], [])

    bad = tmp_path / "gates.toml"
    for text in ('[gates]\naccuracy = {min = 0.9}\n', '[gates]\nhit@1 = 0.9\n', "answer_accuracy = {min = 0.9}\n",
                 "[gates\n"):
        bad.write_text(text, "utf-8")
        with pytest.raises(EvalSetError):
            load_gates(bad)


# ---------------------------------------------------------------- the CLI

def _cli(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("assistant")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "assistant"]
    return subprocess.run(cmd + ["eval", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def _write(path: Path, items: list[EvalItem]) -> Path:
    rows = [{"id": i.id, "question": i.question, "answerable": i.answerable, "answer": i.answer,
             "must_contain": list(i.must_contain), "evidence": list(i.evidence), "category": i.category,
             "difficulty": i.difficulty} for i in items]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_cli_json_and_out(tmp_path, index):
    qa = _write(tmp_path / "small.jsonl", [COUNTRY, IMPOSSIBLE, OFF_TOPIC])
    out = tmp_path / "out"
    p = _cli("--qa", str(qa), "--json", "--no-gate", "--out", str(out))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)  # nothing but the one JSON document on stdout
    assert set(doc) == TOP_KEYS
    assert doc["n"] == 3 and set(doc["by_category"]) == {"number", "unanswerable"}
    assert set(doc["by_category"]["number"]) == set(METRICS) | {"n"}
    assert doc["answer_accuracy"] == 0.5 and doc["refusal_rate"] == 1.0  # c1 right, c2 impossible
    assert set(doc["latency_ms"]) == {"p50", "p95"}

    assert json.loads((out / "metrics.json").read_text("utf-8")) == doc
    md = (out / "report.md").read_text("utf-8")
    assert "| answer_accuracy |" in md and "### c2 · number" in md and "康思达液压机械" in md
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_invalid_file_and_failed_gate(tmp_path, index):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "问题"}, ensure_ascii=False) + "\n", "utf-8")
    p = _cli("--qa", str(bad), "--json")
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "缺少字段" in lines[0]

    qa = _write(tmp_path / "impossible.jsonl", [IMPOSSIBLE])
    gates = tmp_path / "gates.toml"
    gates.write_text("[gates]\nanswer_accuracy = {min = 0.85}\nrefusal_rate = {min = 0.85}\n", "utf-8")
    p = _cli("--qa", str(qa), "--gates", str(gates), "--json")
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["answer_accuracy"] == 0.0
    assert "门槛未通过：answer_accuracy = 0.0000，要求 >= 0.85" in p.stderr
    assert "门槛未判定：refusal_rate" in p.stderr


# ---------------------------------------------------------------- the release gate

CI_GATES = ROOT / "eval" / "gates_ci.toml"


@pytest.mark.parametrize("split", ["dev", "regression"])
def test_full_eval_passes_ci_gates(index, split):
    """CI's quality gate: the bank's dev split (written blind) and the older own set eval/qa.jsonl."""
    from assistant.devtools import bank

    sources = index.sources()
    items = bank.items("dev", sources) if split == "dev" else load(ROOT / "eval" / "qa.jsonl", sources)
    report = run_eval(index, items)
    failed, skipped = check_gates(report.metrics, load_gates(CI_GATES))
    assert not skipped, f"gates not judged on {split}: {[g.metric for g in skipped]}"
    assert not failed, "failed gates: " + "; ".join(f"{g.metric} = {v:.4f} (required {g.describe()})" for g, v in failed)
