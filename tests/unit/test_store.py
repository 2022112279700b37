"""The conversation store on SQLite (a file in a temporary data folder).

The same tests run against a real PostgreSQL server in tests/slow/test_store_postgres.py, which
imports them and supplies its own `store` fixture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.config import ROOT, Config
from assistant.store import ANSWER_CHARS, QUESTION_CHARS, Store, StoreError, TurnRecord

CITE = {"n": 1, "doc": "handbook", "start": 10, "end": 20, "section": "深圳篇", "quote": "深圳上市小巨人"}


@pytest.fixture
def store(tmp_path):
    s = Store(Config(data_dir=tmp_path / "data").store_url)
    yield s
    s.close()


def turn(session="s1", question="深圳有多少家上市小巨人？", refused=False, **kw) -> TurnRecord:
    return TurnRecord(session=session, question=question, answer="深圳有 10 家。[1]", refused=refused,
                      citations=[CITE], rewritten=kw.pop("rewritten", None), latency_ms=12.5, **kw)


def test_turn_round_trip(store):
    tid = store.record_turn(turn(rewritten="深圳上市小巨人数量"))
    row = store.turn(tid)
    assert row["session"] == "s1" and row["question"] == "深圳有多少家上市小巨人？"
    assert row["rewritten"] == "深圳上市小巨人数量" and row["refused"] is False
    assert row["citations"] == [CITE] and row["latency_ms"] == 12.5
    assert store.turn("0" * 32) is None


def test_sizes_are_bounded(store):
    tid = store.record_turn(TurnRecord(session="s1", question="问" * 5000, answer="答" * 50000, refused=False,
                                       citations=[dict(CITE, quote="引" * 9000)] * 80))
    row = store.turn(tid)
    assert len(row["question"]) == QUESTION_CHARS and row["question"].endswith("…")
    assert len(row["answer"]) == ANSWER_CHARS
    assert len(row["citations"]) == 50 and len(row["citations"][0]["quote"]) <= 1000


def test_vote_is_one_row_and_changeable(store):
    tid = store.record_turn(turn())
    assert store.vote(tid, "s1", "up").vote == "up"
    v = store.vote(tid, "s1", "down")
    assert (v.vote, v.changes) == ("down", 1)
    assert store.vote(tid, "s1", "down").changes == 1  # the same vote again is no change
    assert [(x.turn_id, x.vote) for x in store.votes()] == [(tid, "down")]


def test_vote_from_another_session_is_refused(store):
    tid = store.record_turn(turn(session="alice"))
    with pytest.raises(StoreError, match="其他会话"):
        store.vote(tid, "mallory", "down")
    assert store.votes() == []


@pytest.mark.parametrize("turn_id, session, vote, message", [
    ("0" * 32, "s1", "up", "没有这条回答"),
    ("'; drop table turns; --", "s1", "up", "编号无效"),
    (None, "s1", "up", "编号无效"),
    ("0" * 32, "s1", "meh", "反馈无效"),
    ("0" * 32, "", "up", "会话标识无效"),
    ("0" * 32, "x" * 65, "up", "会话标识无效"),
    ("0" * 32, "a b", "up", "会话标识无效"),
])
def test_bad_votes_get_one_chinese_line(store, turn_id, session, vote, message):
    with pytest.raises(StoreError, match=message) as e:
        store.vote(turn_id, session, vote)
    assert "\n" not in str(e.value)


def test_turns_newest_first_and_by_session(store):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [store.record_turn(turn(session=f"s{i % 2}", created_at=t0 + timedelta(days=i))) for i in range(4)]
    assert [t["id"] for t in store.turns()] == ids[::-1]
    assert [t["id"] for t in store.turns(session="s0")] == [ids[2], ids[0]]


def test_concurrent_writers_lose_nothing(store):
    """16 threads record and vote at once: every acknowledged write is there, one vote per turn."""
    acked, errors = [], []

    def user(i):
        try:
            tid = store.record_turn(turn(session=f"u{i}"))
            for v in ("up", "down", "up", "down"):
                store.vote(tid, f"u{i}", v)
            acked.append(tid)
        except Exception as e:  # collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    votes = {v.turn_id: v for v in store.votes()}
    assert sorted(votes) == sorted(acked) and all(v.vote == "down" and v.changes == 3 for v in votes.values())


WRITER = """
import sys
from assistant.store import Store, TurnRecord
s = Store(sys.argv[1])
for i in range(10):
    tid = s.record_turn(TurnRecord(session="proc", question="q", answer="a", refused=False))
    s.vote(tid, "proc", "down" if i % 2 else "up")
"""


def several_processes_share(store):
    """Three worker processes write to one store at once (the --workers setup); run from tests/slow
    for SQLite and PostgreSQL, as starting the processes takes tens of seconds on a loaded machine."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, store.url], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    assert len(store.turns(session="proc")) == 30 and len(store.votes(session="proc")) == 30


def test_unusable_database_is_one_chinese_line(tmp_path):
    with pytest.raises(StoreError, match="数据库地址无效"):
        Store("not a url")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as e:
        Store(f"sqlite:///{blocker}/sub/db.sqlite3")
    assert "\n" not in str(e.value)


def test_default_store_is_outside_the_source_tree(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSISTANT_DATA_DIR", raising=False)
    monkeypatch.delenv("ASSISTANT_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    cfg = Config.from_env()
    assert cfg.store_url == f"sqlite:///{tmp_path / 'xiaojuren' / 'assistant.sqlite3'}"
    assert ROOT not in Path(Config().data_dir).parents
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "postgresql+psycopg://u:p@db/x")
    assert Config.from_env().store_url == "postgresql+psycopg://u:p@db/x"
    assert json.dumps(str(cfg.data_dir))
