"""The OpenAI-compatible API of a real `assistant serve` on loopback, through the official `openai`
client (non-streaming, streaming, multi-turn, errors) and a plain HTTP client (the SSE wire format,
feedback, probes). Every answered turn and vote must be in the server's SQLite store afterwards."""

from __future__ import annotations

import contextlib
import json
import time

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _api_server import api_server
from assistant.config import REFUSAL, ROOT, Config
from assistant.store import Store

KEY = "test-key-7f3a"
QUESTION = "深圳有多少家上市小巨人？"
HANDBOOK = (ROOT / "corpus" / "handbook.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def server(index, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("api")
    with api_server(workdir, "--host", "127.0.0.1", ASSISTANT_API_KEY=KEY) as s:
        s.data_dir = workdir / "data"
        yield s


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=60)


@pytest.fixture
def store(server):
    s = Store.open(Config(data_dir=server.data_dir))
    yield s
    s.close()


def assert_verified(citations: list[dict]) -> None:
    assert citations
    for c in citations:
        assert set(c) == {"n", "doc", "start", "end", "section", "quote"}
        assert HANDBOOK[c["start"]:c["end"]] == c["quote"] and c["doc"] == "handbook"


def test_non_streaming_answer_is_cited_and_stored(client, store):
    r = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": QUESTION}])
    content = r.choices[0].message.content
    assert "109" in content and "[1]" in content and "**来源**" in content and r.choices[0].finish_reason == "stop"
    assert_verified(r.model_extra["citations"])
    ext = r.model_extra["xiaojuren"]
    row = store.turn(ext["turn_id"])
    assert row["question"] == QUESTION and row["session"] == ext["session"] and row["refused"] is False
    assert row["citations"] == r.model_extra["citations"] and row["latency_ms"] > 0 and row["channel"] == "api"


def test_streaming_matches_non_streaming(client):
    whole = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model="xiaojuren", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    assert len(chunks) > 3 and chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert len({c.id for c in chunks}) == 1


def test_multi_turn_follow_up_uses_the_history(client, store):
    first = "广州有多少家上市小巨人？"
    r1 = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": first}])
    messages = [{"role": "system", "content": "你是助手"}, {"role": "user", "content": first},
                {"role": "assistant", "content": r1.choices[0].message.content}, {"role": "user", "content": "那深圳呢？"}]
    r2 = client.chat.completions.create(model="xiaojuren", messages=messages, user="multi-turn-user")
    ext = r2.model_extra["xiaojuren"]
    assert ext["rewritten_question"] == QUESTION and ext["session"] == "multi-turn-user"
    assert "109" in r2.choices[0].message.content
    assert store.turn(ext["turn_id"])["rewritten"] == QUESTION


def test_refusal_is_a_normal_reply(client, store):
    r = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": "手册作者最喜欢的颜色是什么？"}])
    assert r.choices[0].message.content.startswith(REFUSAL) and r.model_extra["citations"] == []
    assert r.model_extra["xiaojuren"]["refused"] is True
    assert store.turn(r.model_extra["xiaojuren"]["turn_id"])["refused"] is True


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(messages=[]), openai.BadRequestError, "messages"),
    (dict(messages=[{"role": "user", "content": "   "}]), openai.BadRequestError, "问题为空"),
    (dict(messages=[{"role": "user", "content": "问" * 3000}]), openai.BadRequestError, "问题过长"),
    (dict(messages=[{"role": "user", "content": "a\x00b"}]), openai.BadRequestError, "控制字符"),
    (dict(messages=[{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "x"}]),
     openai.BadRequestError, "最后一条消息"),
    (dict(messages=[{"role": "wizard", "content": QUESTION}]), openai.BadRequestError, "messages.0.role"),
    (dict(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]),
     openai.BadRequestError, "只支持文字"),
    (dict(messages=[{"role": "user", "content": QUESTION}], n=2), openai.BadRequestError, "n=1"),
    (dict(messages=[{"role": "user", "content": QUESTION}], user="bad session id!"), openai.BadRequestError, "会话标识"),
    (dict(messages=[{"role": "user", "content": QUESTION}], model="gpt-4o"), openai.NotFoundError, "没有模型"),
])
def test_bad_requests_get_4xx_error_objects(client, kwargs, error, message):
    kwargs = {"model": "xiaojuren", **kwargs}
    with pytest.raises(error) as e:
        client.chat.completions.create(**kwargs)
    assert 400 <= e.value.status_code < 500
    assert message in e.value.body["message"] and e.value.body["type"] == "invalid_request_error"
    assert "Traceback" not in e.value.response.text


def test_wrong_or_missing_key_is_refused(server):
    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.models.list()
    assert "API 密钥" in e.value.body["message"]
    assert httpx.get(f"{server.url}/v1/models").status_code == 401
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}  # probes need no key


def test_models_and_probes(client, server):
    assert [m.id for m in client.models.list()] == ["xiaojuren"]
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["database"] == "ok"
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and "gradio" in page.text.lower()  # the chat page on the same server


def http(server, method: str, path: str, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", **kw.pop("headers", {})}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=60, **kw)


def test_sse_wire_format(server):
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "xiaojuren", "stream": True, "messages": [{"role": "user", "content": QUESTION}]},
                      timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = raw.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: {") and "\n" not in e for e in events[:-2])
    assert all(p["object"] == "chat.completion.chunk" and p["model"] == "xiaojuren" for p in payloads)
    assert_verified(payloads[-1]["citations"])


def test_raw_http_errors_are_4xx_objects(server):
    cases = [("POST", "/v1/chat/completions", dict(content=b"{not json"), 400),
             ("POST", "/v1/chat/completions", dict(content=b"\xff\xfe\x00"), 400),
             ("POST", "/v1/chat/completions", dict(json={"messages": [{"role": "user", "content": "q"}]}), 400),
             ("POST", "/v1/chat/completions", dict(json=[1, 2]), 400),
             ("POST", "/v1/chat/completions", dict(content=b"{" + b" " * 1_100_000 + b"}"), 413),
             ("GET", "/v1/chat/completions", {}, 405),
             ("POST", "/v1/embeddings", dict(json={}), 404)]
    for method, path, kw, status in cases:
        r = http(server, method, path, **kw)
        assert r.status_code == status, (path, kw.keys(), r.text)
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_feedback_is_stored_changeable_and_session_bound(client, server, store):
    r = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": QUESTION}],
                                       extra_headers={"X-Session-Id": "fb-session"})
    turn_id = r.model_extra["xiaojuren"]["turn_id"]
    send = lambda session, vote: http(server, "POST", "/v1/feedback", json={"turn_id": turn_id, "vote": vote},
                                      headers={"X-Session-Id": session})
    assert send("fb-session", "up").json()["vote"] == "up"
    changed = send("fb-session", "down").json()
    assert changed["vote"] == "down" and changed["changes"] == 1
    other = send("someone-else", "up")
    assert other.status_code == 403 and "其他会话" in other.json()["error"]["message"]
    assert send("fb-session", "meh").status_code == 400
    assert http(server, "POST", "/v1/feedback", json={"turn_id": "f" * 32, "vote": "up"},
                headers={"X-Session-Id": "fb-session"}).status_code == 404
    assert [(v.vote, v.session) for v in store.votes(session="fb-session")] == [("down", "fb-session")]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12)
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool", "x"]),
                                 "content": st.one_of(st.text(max_size=60), JSON)})
REQUEST = st.fixed_dictionaries({"model": st.sampled_from(["xiaojuren", "", "gpt-4o"]) | st.integers(),
                                 "messages": st.lists(MESSAGE, max_size=4) | JSON},
                                optional={"stream": st.booleans() | JSON, "n": st.integers(-2, 3), "user": JSON})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=REQUEST | JSON)
def test_fuzzed_requests_never_get_a_server_error(server, body):
    """Any JSON body: a reply or an OpenAI-style 4xx error object, never a 5xx or a traceback."""
    r = http(server, "POST", "/v1/chat/completions", json=body)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()["error"]) == {"message", "type", "param", "code"} and "Traceback" not in r.text


def test_database_down_at_start_answers_still_served_then_stored(index, tmp_path):
    """The database cannot be opened when the server starts: questions are answered, votes refused
    with 503 and /readyz says why; once the database can be opened, turns are stored again."""
    blocker = tmp_path / "db-folder"
    blocker.write_text("not a folder")
    with api_server(tmp_path / "srv", wait=False, ASSISTANT_DATABASE_URL=f"sqlite:///{blocker / 'db.sqlite3'}") as s:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{s.url}/healthz", timeout=2).status_code == 200:
                    break
            assert s.proc.poll() is None, s.output()
            time.sleep(0.3)
        ready = httpx.get(f"{s.url}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("无法创建数据目录")
        client = openai.OpenAI(base_url=f"{s.url}/v1", api_key="none", max_retries=0, timeout=60)
        r = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": QUESTION}])
        assert "109" in r.choices[0].message.content and r.model_extra["xiaojuren"]["turn_id"] is None
        vote = httpx.post(f"{s.url}/v1/feedback", json={"turn_id": "0" * 32, "vote": "up"}, headers={"X-Session-Id": "x"})
        assert vote.status_code == 503 and vote.json()["error"]["type"] == "server_error"
        blocker.unlink()  # the database comes back
        s.wait_ready(30)
        r = client.chat.completions.create(model="xiaojuren", messages=[{"role": "user", "content": QUESTION}])
        assert r.model_extra["xiaojuren"]["turn_id"] is not None
    assert "对话未能保存" in s.output()
