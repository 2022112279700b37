"""Abuse and overload (issue 14) against the real ui.py server on loopback, with crafted raw requests.

Each finding of the issue has a test here (or in tests/unit/test_web_limits.py and
tests/integration/test_bounded_cost.py): bounded feedback, bounded cost, identity, markdown (the
browser test), uncaught errors and log floods, code from the working directory, uploads.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _gradio_raw as raw
from _ui_server import ROOT, free_port, running_server

FOREIGN = "会话已失效"


@pytest.fixture(scope="module")
def server(index, tmp_path_factory):
    work = tmp_path_factory.mktemp("ui-abuse")
    with running_server(work, GRADIO_TEMP_DIR=str(work / "gradio-tmp")) as s:
        s.gradio_tmp = work / "gradio-tmp"
        yield s


@pytest.fixture(scope="module")
def ids(server) -> dict[str, int]:
    """Event name -> fn_index, for every event of the page (public and internal)."""
    with raw.client() as http:
        return {d["api_name"]: d["id"] for d in raw.events(http, server.url)}


def ask(http, server, ids, question, session, section="全部", raw_only=False) -> raw.Reply:
    return raw.call(http, server.url, ids["ask"], [question, section, raw_only, None], session)


def text_of(message: dict) -> str:
    content = message["content"]
    return "".join(c.get("text", "") for c in content) if isinstance(content, list) else str(content)


def last_answer(reply: raw.Reply) -> str:
    return text_of(reply.output["data"][0][-1])


def feedback(http, server, ids, turn, vote, session) -> str:
    reply = raw.call(http, server.url, ids["feedback"], [turn, vote, None], session)
    assert reply.status == 200 and reply.success, reply.messages
    return reply.output["data"][0]


def log_lines(server) -> list[str]:
    return server.output().splitlines()


# ---------------------------------------------------------------- 1. feedback cannot be flooded

def test_rejected_question_is_not_kept_and_cannot_be_rated(server, ids):
    with raw.client() as http:
        reply = ask(http, server, ids, "a" * 20_000, "longq")
        assert "问题过长" in last_answer(reply)
        assert len(text_of(reply.output["data"][0][0])) < 2_000  # shown shortened, not echoed whole
        assert "没有可以评价的回答" in feedback(http, server, ids, "", "up", "longq")
    assert all(v["question"] is None or len(v["question"]) <= 500 for v in server.votes())


def test_twenty_votes_on_one_answer_leave_one_vote(server, ids):
    with raw.client() as http:
        assert "109" in last_answer(ask(http, server, ids, "深圳有多少家上市小巨人？", "twenty"))
        before = len(server.votes())
        statuses = [feedback(http, server, ids, "", "up" if i % 2 else "down", "twenty") for i in range(20)]
    assert sum("已记录" in s for s in statuses) >= 10 and any("太频繁" in s for s in statuses)
    votes = server.votes()
    assert len(votes) == before + 1 and votes[-1]["changes"] < 10


@pytest.mark.parametrize("size", [100 * 1024, 10 * 1024 * 1024])
def test_request_body_size_is_capped(server, ids, size):
    body = b'{"data": ["' + b"a" * size + b'", "up", null], "fn_index": %d, "session_hash": "big"}' % ids["feedback"]
    with raw.client() as http:
        r = http.post(server.url + "gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "请求过大" in r.json()["error"]["message"]
        assert "109" in last_answer(ask(http, server, ids, "深圳有多少家上市小巨人？", "after-big"))


# ---------------------------------------------------------------- 3. identity

def test_session_is_bound_to_its_address_and_votes_to_its_turns(server, ids):
    with raw.client() as owner, raw.client("127.0.0.2") as other:
        assert "109" in last_answer(ask(owner, server, ids, "深圳有多少家上市小巨人？", "victim"))
        before = len(server.votes())
        # the same session hash from another address is not the same session
        assert FOREIGN in feedback(other, server, ids, "", "down", "victim")
        assert FOREIGN in last_answer(ask(other, server, ids, "深圳有多少家上市小巨人？", "victim"))
        assert len(server.votes()) == before
        assert "已记录" in feedback(owner, server, ids, "", "up", "victim")
        vote = server.votes()[-1]
        assert vote["session"] != "victim" and len(vote["session"]) == 32  # a server-made id, not the hash
        # another session naming that answer's id cannot rate it
        assert "没有可以评价的回答" in feedback(owner, server, ids, vote["turn"], "down", "intruder")
        assert server.votes()[-1]["vote"] == "up"


# ---------------------------------------------------------------- 5. crafted input, no uncaught errors

@pytest.mark.parametrize("question, section, raw_only, message", [
    ("深圳有多少家上市小巨人？", ["深圳篇"], False, "检索范围无效"),
    ("深圳有多少家上市小巨人？", ["深圳篇"], True, "检索范围无效"),
    ("深圳有多少家上市小巨人？", "不存在篇", False, "检索范围无效"),
    ("深圳有多少家上市小巨人？", "全部", "yes", "只看原文"),
    ("\ud800\udfff\ud800", "全部", False, "问题为空"),
])
def test_crafted_inputs_get_a_chinese_line(server, ids, question, section, raw_only, message):
    with raw.client() as http:
        reply = ask(http, server, ids, question, "crafted", section, raw_only)
        assert reply.success, reply.messages
        assert message in last_answer(reply)
        assert feedback(http, server, ids, "", "up", "crafted")  # a vote after it is answered in Chinese


@pytest.mark.parametrize("queued", [False, True])
def test_a_lone_surrogate_sent_to_the_lock_step_is_no_server_error(server, ids, queued):
    """The step that locks the page echoes the question back as the asked one (found by the fuzz test below)."""
    with raw.client() as http:
        reply = raw.call(http, server.url, ids["lock"], ["\ud800"], "surrogate", queued)
    assert reply.status == 200 and all(m.get("success", True) for m in reply.messages), reply.messages
    assert "Traceback" not in server.output(), server.output()[-3000:]


def test_lone_surrogates_in_every_input_of_every_event(server, ids):
    """What the fuzz test only samples, for every event and every number of inputs: no 500, no traceback."""
    with raw.client() as http:
        for name, fn in sorted(ids.items()):
            for n in range(1, 6):
                reply = raw.call(http, server.url, fn, ["\ud800"] * n, "surrogates", False)
                assert reply.status != 500, (name, n, reply.messages)
    assert "Traceback" not in server.output(), server.output()[-3000:]


@pytest.mark.parametrize("turn", ["abc", math.nan, math.inf, -math.inf, 10**30, [0], {"a": 1}, "\ud800"])
def test_crafted_turn_ids(server, ids, turn):
    with raw.client() as http:
        assert "没有可以评价的回答" in feedback(http, server, ids, turn, "up", "turns")


def test_unknown_event_and_unknown_queue_session(server):
    with raw.client() as http:
        lines = len(log_lines(server))
        assert raw.call(http, server.url, 999, ["x"]).status == 422
        r = http.get(server.url + "gradio_api/queue/data", params={"session_hash": "no-such-session"})
        assert r.status_code == 404
        time.sleep(0.3)
    new = log_lines(server)[lines:]
    assert len(new) == 2 and all(line.startswith("rejected: ") for line in new), new


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e999"])
def test_non_finite_numbers_are_no_json(server, number):
    """Python's parser takes NaN; the framework then failed to echo it in its own error reply (a 500)."""
    for n in range(1, 6):  # whatever the route's number of inputs
        body = ('{"data": [' + ", ".join([number] * n) + "]}").encode()
        with raw.client() as http:
            r = http.post(f"{server.url}gradio_api/call/ask", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (n, r.status_code)
    assert "Traceback" not in server.output(), server.output()[-3000:]


def test_rejected_request_logs_one_short_line(server, ids):
    with raw.client() as http:
        lines = len(log_lines(server))
        reply = ask(http, server, ids, "深圳有多少家上市小巨人？", "huge-section", section="深" * 8_000)
        assert "检索范围无效" in last_answer(reply)
        time.sleep(0.3)
    new = log_lines(server)[lines:]
    assert len(new) == 1 and len(new[0]) <= 300, new


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50) | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3)
    | st.sampled_from(["深圳有多少家上市小巨人？", "全部", "深圳篇", "up", "down", "", "-1", "a" * 3000]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_every_event(server, ids, data):
    """Every event of the page, public or internal, with any payload: never an HTTP 500, never a
    traceback in the log."""
    fn = data.draw(st.sampled_from(sorted(ids.values()) + [len(ids) + 5, -1]))
    payload = data.draw(st.lists(VALUES, max_size=6))
    event_data = data.draw(st.none() | st.dictionaries(st.sampled_from(["index", "value", "liked", "x"]), VALUES))
    queued = data.draw(st.booleans())
    with raw.client() as http:
        reply = raw.call(http, server.url, fn, payload, data.draw(st.sampled_from(["fz1", "fz2"])), queued, event_data)
    assert reply.status != 500 and (reply.output is None or reply.output.get("error") != "Internal Server Error")
    assert "Traceback" not in server.output(), server.output()[-3000:]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_every_named_route(server, ids, data):
    """The REST routes (POST /gradio_api/call/<name>): internal events are not callable by name,
    public ones validate their inputs."""
    name = data.draw(st.sampled_from(sorted(ids) + ["nope", "predict", "../ask"]))
    body = data.draw(st.dictionaries(st.sampled_from(["data", "session_hash", "x"]), VALUES, max_size=3)
                     | st.builds(lambda d: {"data": d}, st.lists(VALUES, max_size=5)))
    with raw.client() as http:
        r = http.post(f"{server.url}gradio_api/call/{name}", content=raw.json.dumps(body).encode(),
                      headers={"content-type": "application/json"})
        assert r.status_code != 500
        if r.status_code == 200:
            assert name in ("ask", "feedback", "clear")
            events = http.get(f"{server.url}gradio_api/call/{name}/{r.json()['event_id']}").text
            assert "event: complete" in events or "event: error" in events
    assert "Traceback" not in server.output(), server.output()[-3000:]


def test_no_traceback_after_all_the_above(server):
    out = server.output()
    assert "Traceback" not in out, out[-3000:]
    assert max(len(line) for line in out.splitlines()) <= 300
    assert server.blocked() == []


# ---------------------------------------------------------------- 7. uploads

def test_uploads_are_refused(server):
    with raw.client() as http:
        r = http.post(server.url + "gradio_api/upload", files={"files": ("x.bin", b"\0" * (2 * 1024 * 1024))})
        assert r.status_code in (403, 413)
    stored = [p for p in server.gradio_tmp.rglob("*") if p.is_file()] if server.gradio_tmp.exists() else []
    assert stored == []


# ---------------------------------------------------------------- 6. code from the working directory

def test_serve_never_runs_code_from_the_working_directory(index, tmp_path):
    marker = tmp_path / "ran.txt"
    (tmp_path / "ui.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit(3)\n", "utf-8")
    script = Path(sys.executable).with_name("assistant")
    if not script.exists():
        pytest.skip("the console script is not installed")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), ASSISTANT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([str(script), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.2)
        assert not marker.exists()
    finally:
        proc.terminate()
        proc.wait(15)
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
