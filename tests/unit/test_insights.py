"""`assistant insights` over a SQLite store filled with known turns and votes (the same tests run
against PostgreSQL from tests/slow/test_store_postgres.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from assistant.config import Config
from assistant.insights import collect, markdown, page_markdown, write_report
from assistant.store import Store, TurnRecord

DAY0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2, hours=1)


@pytest.fixture
def store(tmp_path):
    s = Store(Config(data_dir=tmp_path / "data").store_url)
    yield s
    s.close()


def fill(store: Store) -> dict:
    """Day 0: 4 turns, 1 refused; day 1: 2 turns, 2 refused; day 2: 1 turn. Two 👎, one 👍."""
    rows = [(0, "深圳有多少家上市小巨人？", False), (0, "深圳有多少家上市小巨人?", False), (0, " 深圳 有多少家上市小巨人？", False),
            (0, "火星上有小巨人吗？", True), (1, "火星上有小巨人吗", True), (1, "手册作者是谁？", True),
            (2, "广州有多少家上市小巨人？", False)]
    ids = [store.record_turn(TurnRecord(session=f"s{i}", question=q, answer="拒答" if r else f"答案{i}[1]", refused=r,
                                        created_at=DAY0 + timedelta(days=d, seconds=i)))
           for i, (d, q, r) in enumerate(rows)]
    store.vote(ids[0], "s0", "down")
    store.vote(ids[6], "s6", "down")
    store.vote(ids[1], "s1", "up")
    return {"ids": ids}


def test_insights_counts(store):
    fill(store)
    ins = collect(store)
    assert (ins.turns, ins.refused, ins.votes_up, ins.votes_down) == (7, 3, 1, 2)
    top = ins.top_questions[0]
    assert (top["question"], top["asked"], top["refused"]) == ("深圳有多少家上市小巨人？", 3, 0)
    assert [(d["turns"], d["refused"]) for d in ins.refusal_by_day] == [(4, 1), (2, 2), (1, 0)]
    assert ins.refusal_by_day[1]["rate"] == 1.0
    # wordings that differ only in punctuation are one question, named by its most asked (then shortest) wording
    assert [(g["question"], g["refused"]) for g in ins.top_refused] == [("火星上有小巨人吗", 2), ("手册作者是谁？", 1)]
    assert [d["question"] for d in ins.downvoted] == ["广州有多少家上市小巨人？", "深圳有多少家上市小巨人？"]


def test_insights_since_days(store):
    fill(store)
    assert collect(store, days=1).turns == 1  # only the last turn (an hour ago) is within 24 h


def test_report_files_and_markdown(store, tmp_path):
    fill(store)
    ins = collect(store)
    written = write_report(ins, tmp_path / "out")
    names = {p.name for p in written}
    assert names == {"insights.md", "insights.json", "refusal_rate.png", "top_questions.png", "top_refused.png"}
    for p in written:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    data = json.loads((tmp_path / "out" / "insights.json").read_text("utf-8"))
    assert data["turns"] == 7 and data["refusal_rate"] == round(3 / 7, 4)
    md = markdown(ins)
    assert "拒答率 42.9%" in md and "## 👎 的回答" in md and "广州有多少家上市小巨人？" in md


def test_empty_store_and_page(store, tmp_path):
    assert "还没有任何提问记录" in markdown(collect(store))
    assert page_markdown(Config(data_dir=tmp_path / "data")).startswith("# 用户提问洞察")
    assert page_markdown(Config(database_url="postgresql+psycopg://x:y@127.0.0.1:1/z?connect_timeout=1")).startswith("⚠️")


def test_cli_insights(store, tmp_path, monkeypatch, capsys):
    from assistant.cli import main

    fill(store)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSISTANT_DATABASE_URL", raising=False)
    assert main(["insights", "--out", str(tmp_path / "cli"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["turns"] == 7 and len(out["files"]) == 5
    assert main(["insights", "--days", "0"]) == 2
    assert capsys.readouterr().err.strip() == "错误：--days 至少为 1。"


def test_insights_panel_builds_and_refreshes(store, tmp_path):
    import gradio as gr

    from assistant.web.insights_tab import insights_panel

    fill(store)
    with gr.Blocks() as demo:
        with gr.Tab("洞察"):
            report = insights_panel(Config(data_dir=tmp_path / "data"))
    refresh = next(fn for fn in demo.fns.values() if fn.api_name == "insights").fn
    assert "回答 7 次，拒答 3 次" in refresh("全部") and "回答 7 次" in refresh("最近 7 天")
    assert report.elem_id == "insights"
