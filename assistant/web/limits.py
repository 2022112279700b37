"""Bounded work per request and fairness between clients: history caps, rate limits, a bounded
answer queue, and one short log line per rejected request."""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from assistant import Config

BUSY = "服务器繁忙：正在回答的问题太多，请稍后重试。"
TOO_FAST = "提问太频繁：请稍等几秒再问。"
LOG_CHARS = 300  # one rejected request never writes more than this to the log
TRACKED_KEYS = 10_000  # rate-limit buckets kept (oldest forgotten): memory stays bounded


def log_rejected(reason: str, detail: object = "") -> None:
    """One line per rejected request, bounded in size, with no user text beyond a short repr."""
    line = f"rejected: {reason} {detail!r}"[:LOG_CHARS].replace("\n", " ")
    print(line, file=sys.stderr, flush=True)


@dataclass
class Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets per key (session, address): `burst` requests at once, then `per_minute`."""

    def __init__(self, per_minute: float, burst: int):
        self.rate, self.burst = per_minute / 60.0, burst
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, cost: float = 1.0) -> bool:
        now = time.monotonic()
        with self._lock:
            b = self._buckets.pop(key, None) or Bucket(float(self.burst), now)
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
            b.at = now
            self._buckets[key] = b
            while len(self._buckets) > TRACKED_KEYS:
                self._buckets.popitem(last=False)
            if b.tokens < cost:
                return False
            b.tokens -= cost
            return True


class AnswerSlots:
    """At most `workers` answers computed at once and at most `waiting` more in line; anyone beyond
    that is told at once to retry, instead of everyone's latency growing without limit. Heavy
    (long) questions get at most workers - 1 of the workers: ordinary questions always find one."""

    def __init__(self, workers: int, waiting: int, wait_s: float):
        self._sem = threading.Semaphore(workers)
        self._heavy = threading.Semaphore(max(1, workers - 1))
        self.capacity = workers + waiting
        self._wait_s = wait_s
        self._inside = 0
        self._lock = threading.Lock()

    def take(self, heavy: bool = False) -> "Slot":
        with self._lock:
            if self._inside >= self.capacity:
                raise Busy(BUSY)
            self._inside += 1
        deadline = time.monotonic() + self._wait_s
        got_heavy = heavy and self._heavy.acquire(timeout=self._wait_s)
        if (heavy and not got_heavy) or not self._sem.acquire(timeout=max(0.0, deadline - time.monotonic())):
            if got_heavy:
                self._heavy.release()
            self._leave()
            raise Busy(BUSY)
        return Slot(self, got_heavy)

    def __enter__(self):
        self._held = self.take()
        return self

    def __exit__(self, *exc):
        self._held.release()

    def _leave(self):
        with self._lock:
            self._inside -= 1


@dataclass
class Slot:
    slots: AnswerSlots
    heavy: bool

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def release(self):
        self.slots._sem.release()
        if self.heavy:
            self.slots._heavy.release()
        self.slots._leave()


class Busy(Exception):
    """The request was not served (rate limit or full queue); str(e) is the Chinese message."""


@dataclass
class Limits:
    """The web chat's limits, from the configuration."""
    sessions: RateLimiter
    addresses: RateLimiter
    slots: AnswerSlots
    history_turns: int
    history_chars: int

    @classmethod
    def from_config(cls, cfg: Config) -> "Limits":
        return cls(RateLimiter(cfg.session_questions_per_minute, cfg.session_burst),
                   RateLimiter(cfg.address_questions_per_minute, cfg.address_burst),
                   AnswerSlots(cfg.answer_workers, cfg.answer_queue, cfg.answer_wait_s),
                   cfg.history_turns, cfg.history_chars)

    @property
    def capacity(self) -> int:
        """Answer requests let in at once: the workers, their queue, and room to say "busy"."""
        return self.slots.capacity + 2

    def admit(self, session: str, address: str, question: str = "") -> None:
        """Raise Busy when this session or this address asks faster than its share; a long question
        costs more of the share (its work grows with its length)."""
        cost = request_cost(question)
        if not self.sessions.allow(f"s:{session}", cost):
            log_rejected("session rate", session[:16])
            raise Busy(TOO_FAST)
        if not self.addresses.allow(f"a:{address}", cost):
            log_rejected("address rate", address)
            raise Busy(TOO_FAST)


HEAVY_CHARS = 200  # a question longer than this is "heavy": it costs more and uses the heavy lane


def request_cost(question: str) -> float:
    """Rate-limit tokens for a question: 1, plus 1 per 250 characters beyond the first 200."""
    return 1.0 + max(0, len(question) - HEAVY_CHARS) / 250


def bounded_history(history: list[dict], turns: int, chars: int) -> tuple[list[dict], int]:
    """The newest messages within `turns` question/answer pairs and `chars` characters in all;
    -> (history, how many earlier turns were dropped). A message longer than the budget is dropped
    whole, never cut: a cut question would be rewritten into a wrong follow-up."""
    kept: list[dict] = []
    used = 0
    pairs = [history[i:i + 2] for i in range(0, len(history), 2)]
    for pair in reversed(pairs[-turns:] if turns > 0 else []):
        size = sum(len(str(m.get("content", ""))) for m in pair)
        if used + size > chars:
            break
        kept[:0] = pair
        used += size
    return kept, len(pairs) - len(kept) // 2
