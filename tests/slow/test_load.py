"""Load: 20 concurrent chat sessions x 5 questions against one real ui.py server on loopback.

Every concurrent answer must equal the single-user answer to the same question (same text,
same sources), with no errors; the 20 feedback votes sent at the end all land in the store. A
"busy, retry" answer (the bounded answer queue) is retried after a pause, as a client should; the
retries and the p95 latency are printed, not asserted: they depend on the machine.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

os.environ["HF_HUB_OFFLINE"] = "1"  # gradio_client would otherwise call out to a hub when constructed

import pytest
from gradio_client import Client

from _ui_server import running_server

SESSIONS = 20
QUESTIONS = [
    "深圳有多少家上市小巨人？",
    "广东一共有多少家专精特新小巨人企业？",
    "民营小巨人参与政府采购，手册建议怎么保障？",
    "小巨人缺数字化人才，政府可以怎么帮？",
    "广州有多少家上市小巨人？",
]
CALL_TIMEOUT_S = 120  # per request: the test is bounded even if the server hangs
BUSY = "服务器繁忙"
RETRIES: list[str] = []


@pytest.fixture(scope="module")
def server(index, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("ui-load")) as s:
        yield s


def ask(client: Client, question: str) -> tuple[tuple[str, str], float]:
    """-> ((the answer as shown in the chat, the sources panel), seconds for the question), in a fresh conversation."""
    client.predict(api_name="/clear")
    t0 = time.perf_counter()
    for _ in range(20):
        chat, sources = client.submit(question, "全部", False, api_name="/ask").result(timeout=CALL_TIMEOUT_S)
        if BUSY not in str(chat[-1]["content"]):
            break
        RETRIES.append(question)
        client.predict(api_name="/clear")
        time.sleep(1.0)
    seconds = time.perf_counter() - t0
    assert len(chat) == 2, chat
    return (str(chat[-1]["content"]), sources), seconds


def session(url: str, offset: int) -> list[tuple[str, tuple[str, str] | None, float, str | None]]:
    """One user: own client, the five questions in a rotated order -> (question, result, seconds, error)."""
    out = []
    client = Client(url, verbose=False)
    for i in range(len(QUESTIONS)):
        q = QUESTIONS[(offset + i) % len(QUESTIONS)]
        try:
            out.append((q, *ask(client, q), None))
        except Exception as e:  # reported below with the others, not raised from a worker thread
            out.append((q, None, 0.0, f"{type(e).__name__}: {e}"))
    try:  # and everyone rates their last answer at about the same time
        status = client.submit("", "up", api_name="/feedback").result(timeout=CALL_TIMEOUT_S)
        out.append(("feedback", None, 0.0, None if "已记录" in status else status))
    except Exception as e:
        out.append(("feedback", None, 0.0, f"{type(e).__name__}: {e}"))
    return out


def test_concurrent_sessions_get_the_single_user_answers(server, capsys):
    single_client = Client(server.url, verbose=False)
    single = {}
    single_s = []
    for q in QUESTIONS:
        single[q], seconds = ask(single_client, q)
        single_s.append(seconds)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = [r for rs in pool.map(lambda k: session(server.url, k), range(SESSIONS)) for r in rs]
    wall = time.perf_counter() - t0

    errors = [(q, err) for q, _, _, err in results if err]
    assert errors == [], errors[:5]
    feedback = [r for r in results if r[0] == "feedback"]
    results = [r for r in results if r[0] != "feedback"]
    assert len(results) == SESSIONS * len(QUESTIONS) and len(feedback) == SESSIONS
    votes = server.votes()
    assert len(votes) == SESSIONS and {v["question"] for v in votes} <= set(QUESTIONS)
    differing = [q for q, got, _, _ in results if got != single[q]]
    assert differing == [], f"{len(differing)} answers differ from the single-user answer, e.g. {differing[:3]}"
    assert server.blocked() == []

    latencies = sorted(s for _, _, s, _ in results)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    with capsys.disabled():
        print(f"\n[load] {SESSIONS} sessions x {len(QUESTIONS)} questions = {len(results)} requests in {wall:.1f} s "
              f"({len(results) / wall:.1f}/s); latency per question p50 {statistics.median(latencies):.2f} s, "
              f"p95 {p95:.2f} s, max {latencies[-1]:.2f} s; single user mean {statistics.mean(single_s):.2f} s; "
              f"{len(RETRIES)} busy answers retried")
