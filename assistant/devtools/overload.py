"""Worst-case cost per request and fairness under load (issue 14), measured through the web chat's
own request path (validation, rate limits, bounded answer queue, bounded history), in process.

worst_case_cost: each adversarial request kind several times -> max milliseconds.
mixed_load: 8 clients send worst-case questions nonstop while normal users ask ordinary questions
-> p50/p95 of the normal questions, and how many requests were turned away ("busy"/"too fast").
"""

from __future__ import annotations

import random
import statistics
import threading
import time

from ..config import MAX_QUESTION_CHARS
from ..web.chat import Chat, Request
from ..web.limits import Limits
from ..web.session import Session, Turn

NORMAL = ["深圳有多少家上市小巨人？", "广东一共有多少家专精特新小巨人企业？", "民营小巨人参与政府采购，手册建议怎么保障？",
          "小巨人缺数字化人才，政府可以怎么帮？", "广州有多少家上市小巨人？"]
ATTACKERS = 8


def worst_questions(index) -> dict[str, str]:
    rng = random.Random(7)
    text = index.docs[sorted(index.docs)[0]].text
    return {
        "random_han_2000": "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(MAX_QUESTION_CHARS)),
        "handbook_2000": text[5000:5000 + MAX_QUESTION_CHARS],
        "parts_2000": "？".join(f"{c}有多少家上市小巨人{i}" for i, c in enumerate(["深圳", "广州", "东莞", "佛山"] * 60))[:MAX_QUESTION_CHARS],
    }


def _first_answer_ms(chat: Chat, session: Session, question: str) -> tuple[float, str]:
    """Milliseconds until the answer is computed (streaming pauses excluded) and the turn's mode."""
    t0 = time.perf_counter()
    elapsed = None
    for s in chat.ask(session, Request(question, "全部", False)):
        if elapsed is None and s.turns[-1].mode != "pending":
            elapsed = (time.perf_counter() - t0) * 1e3
    return elapsed or 0.0, session.turns[-1].mode


def worst_case_cost(index, runs: int = 3) -> dict:
    # the cost of a request that is served: rate limits out of the way (they are measured below)
    limits = Limits.from_config(index.cfg.with_(session_burst=10**6, address_burst=10**6))
    chat = Chat(index, ["全部"], limits)
    _first_answer_ms(chat, Session.new("warm-up"), NORMAL[0])  # derived tables (idf, ...) are built once
    out = {}
    cases = dict(worst_questions(index))
    long_history = [Turn("广州有多少家上市小巨人？" + "啊" * 1_000_000, "answer", answer="x")] * 50
    for name, q in list(cases.items()) + [("follow_up_1mb_history", "那东莞呢？")]:
        times = []
        for r in range(runs):
            session = Session.new("bench")
            if name.startswith("follow_up"):
                session.turns = list(long_history)
            # a different last character each run: the query-vector cache never answers for it
            times.append(_first_answer_ms(chat, session, q[:-1] + "深广莞佛"[r % 4] if len(q) > 10 else q)[0])
        out[name] = round(max(times), 1)
    out["max_ms"] = max(out.values())
    return out


def mixed_load(index, seconds: float = 30.0, rotate_sessions: bool = False) -> dict:
    """rotate_sessions: each attack request in a new session (only the per-address limit and the
    bounded queue hold them back), else one session per attacker (the per-session limit applies)."""
    chat = Chat(index, ["全部"])
    stop = threading.Event()
    counts = {"attack_served": 0, "attack_turned_away": 0}
    lock = threading.Lock()
    worst = list(worst_questions(index).values())

    def attacker(k: int):
        session = Session.new(f"10.0.0.{k}")
        i = 0
        while not stop.is_set():
            _, mode = _first_answer_ms(chat, session, worst[i % len(worst)][:-4] + f"{i:04d}")
            session = Session.new(f"10.0.0.{k}") if rotate_sessions else session
            session.turns.clear()
            with lock:
                counts["attack_served" if mode != "error" else "attack_turned_away"] += 1
            i += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=attacker, args=(k,), daemon=True) for k in range(ATTACKERS)]
    for t in threads:
        t.start()
    latencies, refused, n = [], 0, 0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        session = Session.new(f"192.168.0.{n % 50}")  # many ordinary users, one question each
        ms, mode = _first_answer_ms(chat, session, NORMAL[n % len(NORMAL)])
        n += 1
        if mode == "error":
            refused += 1
        else:
            latencies.append(ms)
    stop.set()
    for t in threads:
        t.join(60)
    latencies.sort()
    return {"attackers": ATTACKERS, "rotating_sessions": rotate_sessions, "seconds": seconds, "normal_questions": n, "normal_turned_away": refused,
            "normal_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "normal_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
            **counts}
