"""Evidence features on the real index, each with the example it was made for (questions written here)."""

from __future__ import annotations

import re

import pytest

import assistant  # noqa: F401  (the package's lazy names)
from assistant.answer.answerer import gather
from assistant.answer.thread import Thread
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


# (feature, the unit's start, a question it holds for, the same question where it does not)
CONTRASTS = [
    # a sentence dated 2023 answers another year's question when 2021 is asked
    ("year_conflict", "又如粤科金融集团2023年直接投资的项目",
     "2021年粤科金融集团直接投资的项目中专精特新企业占比多少？", "2023年粤科金融集团直接投资的项目中专精特新企业占比多少？"),
    # "累计上市“小巨人”有241家" counts listed firms: a narrower measure than all little giants
    ("unasked_qualifier", "广东累计上市“小巨人”有241家", "广东累计有多少家小巨人？", "广东累计有多少家上市小巨人？"),
]


@pytest.mark.parametrize("feature,unit,holds,does_not", CONTRASTS, ids=[c[0] for c in CONTRASTS])
def test_a_feature_holds_for_one_wording_and_not_the_other(index, feature, unit, holds, does_not):
    assert _of(_features(index, holds), unit)[feature] == 1.0
    assert _of(_features(index, does_not), unit)[feature] == 0.0


def test_a_sentence_without_a_year_does_not_conflict(index):
    feats = _features(index, "2021年深圳有多少家小巨人？")
    assert all(f["year_conflict"] == 0.0 for t, f in feats.items() if not re.search(r"(19|20)\d\d", t))


def test_a_clause_inherits_the_date_its_sentence_stated_before_it(index):
    # "从区域看，截至2023年7月，南海区…37家；顺德紧随其后，拥有28家…": the 28 is as of July 2023
    feats = _features(index, "截至2023年7月，顺德有多少家小巨人？")
    clause = _of(feats, "顺德紧随其后，拥有28家")
    assert clause["gate_years"] == 1.0 and clause["gate_figures"] == 1.0 and clause["year_conflict"] == 0.0


def test_a_district_named_without_its_suffix_is_the_place_a_value_must_belong_to(index):
    # "松山湖" and "顺德" are said without 区; the asked district, not its city, must own the figure
    feats = _features(index, "东莞松山湖有多少家小巨人？")
    assert _of(feats, "松山湖“小巨人”合计数量达到27家")["gate_value_bound"] == 1.0
    assert _of(feats, "数据显示，东莞已累计培育专精特新“小巨人”172家")["gate_value_bound"] == 0.0


def test_a_swap_follow_up_sees_which_sentence_is_shaped_like_the_previous_answer(index):
    # "那东莞呢？" after 广州's financing: 东莞's financing sentence is built like the one quoted before
    quoted = ("从融资情况来看，广州共有31家“小巨人”企业获得融资",)
    _, cands, _ = gather("东莞的小巨人有几家拿到了融资？", index, Filters(), {}, Thread(quoted, parallel=True))
    feats = {c.unit.text: c.features for c in cands}
    parallel = _of(feats, "东莞仅有15家“小巨人”企业获")["parallel_previous"]
    assert parallel > 0.3
    assert all(f["parallel_previous"] < parallel for t, f in feats.items() if "东莞仅有15家" not in t)
    assert _of(feats, "东莞仅有15家“小巨人”企业获")["parallel_gap"] == 0.0
    # the sentence quoted before is no parallel of itself, and a question asked on its own has none
    assert all(f["parallel_previous"] == 0.0 for t, f in feats.items() if quoted[0] in t)
    assert all(f["parallel_previous"] == 0.0 for f in _features(index, "东莞的小巨人有几家拿到了融资？").values())


def test_a_clause_the_previous_answer_quoted_with_a_full_stop_is_still_the_one_quoted(index):
    # the source clause ends in "；", the answer quoted it ending in "。": it is still no parallel of itself,
    # and does not set the bar every other candidate of "那东莞呢？" after 佛山's districts is measured against
    quoted = ("从区域看，截至2023年7月，南海区“小巨人”企业总量为37家，位列全市第一。",)
    _, cands, _ = gather("东莞的小巨人最集中在哪个区？有多少家？", index, Filters(), {}, Thread(quoted, parallel=True))
    feats = {c.unit.text: c.features for c in cands}
    assert _of(feats, "南海区“小巨人”企业总量为37家")["parallel_previous"] == 0.0
    assert max(f["parallel_previous"] for f in feats.values()) < 0.5  # 0.94, itself, before
    assert _of(feats, "松山湖“小巨人”合计数量达到27家")["parallel_gap"] > -0.1


def test_a_follow_ups_candidates_know_the_section_the_previous_answer_quoted(index):
    # "它的专利呢？" after an answer about 普渡科技's products: its profile's sections are the thread
    quoted = ("深圳市普渡科技有限公司：服务型机器人“缔造者”",)
    _, cands, _ = gather("普渡科技申请了多少件专利？", index, Filters(), {}, Thread(quoted))
    sections = {c.unit.section for c in cands if c.features["thread_section"] == 1.0}
    assert sections and all("深圳市普渡科技有限公司" in s for s in sections)
    assert all(c.features["follow_up"] == 1.0 and c.features["parallel_previous"] == 0.0 for c in cands)
    # asked on its own, no candidate is placed in a thread
    _, alone, _ = gather("普渡科技申请了多少件专利？", index, Filters(), {})
    assert all(c.features["thread_section"] == 0.0 and c.features["follow_up"] == 0.0 for c in alone)
