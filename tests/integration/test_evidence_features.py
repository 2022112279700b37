"""Evidence features on the real index, each with the example it was made for (questions written here)."""

from __future__ import annotations

import assistant  # noqa: F401  (the package's lazy names)
from assistant.answer.answerer import gather
from assistant.retrieval import Filters


def _features(index, question: str) -> dict[str, dict[str, float]]:
    _, cands, _ = gather(question, index, Filters(), {})
    return {c.unit.text: c.features for c in cands}


def _of(feats: dict, start: str) -> dict[str, float]:
    return next(f for text, f in feats.items() if start in text)


def test_a_districts_figure_is_a_part_of_the_city_asked_about(index):
    feats = _features(index, "东莞的小巨人总共有多少家？")
    assert _of(feats, "松山湖“小巨人”合计数量达到27家")["value_of_district"] == 1.0
    assert _of(feats, "第二梯队是广州和东莞")["value_of_district"] == 0.0  # 172家 follows 东莞 itself


def test_a_question_about_a_district_wants_the_districts_figure(index):
    feats = _features(index, "松山湖有多少家小巨人？")
    assert all(f["value_of_district"] == 0.0 for f in feats.values())


def test_a_question_at_district_level_wants_the_districts_figure(index):
    feats = _features(index, "东莞哪个区的小巨人最多？")
    assert _of(feats, "松山湖“小巨人”合计数量达到27家")["value_of_district"] == 0.0
