"""Bounded work per question (issue 14, finding 2): the mechanisms that made a 2,000-character
question cost ~4.5 s (and a follow-up with a 1 MB history minutes) are bounded. Costs themselves are
measured by `assistant bench` (worst case), not asserted here."""

from __future__ import annotations

import importlib
import json
import random

import jieba.posseg as pseg
import numpy as np

import assistant
from assistant.answer import answerer
from assistant.config import MAX_QUESTION_CHARS, ROOT
from assistant.embedding import QUERY_EMBED_CHARS, query_vector
from assistant.web.chat import Chat, Request
from assistant.web.session import Session, Turn

frame_module = importlib.import_module("assistant.answer.frame")  # the package exports a function named frame


def random_han(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def test_query_embedding_reads_a_bounded_prefix(index):
    long = "深圳有多少家上市小巨人？" + random_han(2000)
    assert np.array_equal(query_vector(index.embed, long), query_vector(index.embed, long[:QUERY_EMBED_CHARS]))


def test_part_of_speech_hmm_only_within_its_budget():
    garbage = random_han(2000)
    assert [tuple(w) for w in frame_module.tagged_words(garbage)] == [tuple(w) for w in pseg.cut(garbage, HMM=False)]
    # ordinary questions are tagged exactly as before (with the HMM)
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                q = json.loads(line)["question"]
                assert [tuple(w) for w in frame_module.tagged_words(q)] == [tuple(w) for w in pseg.cut(q)], q


def test_sub_questions_are_capped(index, monkeypatch):
    calls = []
    real = answerer.answer_one
    monkeypatch.setattr(answerer, "answer_one", lambda q, *a: calls.append(q) or real(q, *a))
    # the first part answered (a two-part question whose first part is not is refused after it)
    question = "深圳有多少家上市小巨人？" + "？".join(f"深圳第{i}个问题有多少家" for i in range(60))[:MAX_QUESTION_CHARS - 12]
    assistant.ask(question, index=index)
    assert len(calls) == answerer.MAX_PARTS


def test_follow_up_rewrite_respects_the_length_cap(index):
    history = [{"role": "user", "content": "广州有多少家上市小巨人？" + "啊" * 1_000_000}, {"role": "assistant", "content": "x"}]
    a = assistant.ask("那东莞呢？", history, index=index)
    assert a.answered_question is None or len(a.answered_question) <= MAX_QUESTION_CHARS


def test_web_chat_bounds_the_history_it_passes_on(index):
    chat = Chat(index, ["全部"])
    session = Session.new("127.0.0.1")
    session.turns = [Turn("广州有多少家上市小巨人？" + "。" * 5000, "answer", answer="x") for _ in range(30)]
    turns = list(chat.ask(session, Request("那东莞呢？", "全部", False)))[-1].turns
    last = turns[-1]
    assert last.mode in ("answer", "refused") and last.rewritten is None  # every earlier turn is over the budget
    session.turns = [Turn(f"第{i}问", "answer", answer="x") for i in range(30)] + [Turn("广州有多少家上市小巨人？", "answer", answer="x")]
    last = list(chat.ask(session, Request("那东莞呢？", "全部", False)))[-1].turns[-1]
    assert last.rewritten and "东莞" in last.rewritten
    assert "只参考了最近 10 轮对话" in last.shown  # the oldest turns were dropped, and the answer says so
