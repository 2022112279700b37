"""Question analysis pieces that need no index: the date parts of a question, the place a section is about."""

from __future__ import annotations

import pytest

from assistant.answer.frame import DATE_PARTS, named_places, path_place


@pytest.mark.parametrize("question,left", [
    ("截至2023年7月，广东有多少家？", "截至2023年，，广东有多少家？"),  # the month belongs to the date
    ("2023年3月15日发布了什么？", "2023年，发布了什么？"),
    ("7月底新增多少家？", "，底新增多少家？"),
    ("成立不到5年的有多少家？", "成立不到5年的有多少家？"),  # a figure the sentence must state stays
    ("近3个月融资多少？", "近3个月融资多少？"),  # a duration is not a month
    ("占比7.5%", "占比7.5%"),
])
def test_date_parts_are_not_figures(question, left):
    assert DATE_PARTS.sub("，", question) == left


@pytest.mark.parametrize("section,place", [
    ("六 广东“小巨人”城市篇 > 广州篇 > 广州“小巨人”画像", {"广州"}),  # the city, not the province above it
    ("二 广东“小巨人”企业画像 > （一）区域分布：深广莞佛“小巨人”占比超八成", {"广东"}),
    ("一 专精特新的由来", set()),
])
def test_a_section_is_about_its_most_specific_place(section, place):
    assert path_place(section) == place


@pytest.mark.parametrize("question,places,focus", [
    ("东莞的小巨人里面，有几成拿过政府引导基金投资？", ["东莞"], ["东莞"]),  # a scoping clause
    ("我们是东莞做模具的小厂，想冲专精特新，手册建议怎么做？", ["东莞"], []),  # the asker's own context
    ("广州对新认定的省级专精特新企业奖20万，佛山这边奖多少？", ["广州", "佛山"], ["佛山"]),  # the asking clause's
])
def test_the_places_a_question_is_about(question, places, focus):
    from assistant.answer.evidence import focus_places

    assert focus_places(question, places) == focus


@pytest.mark.parametrize("text,places", [
    ("手册里说佛山东莞的小巨人招研发人才为啥那么难", ["佛山", "东莞"]),  # not 山东 across the two
    ("广州市和山东的小巨人", ["广州", "山东"]),  # 广州 inside 广州市 is still named
])
def test_a_name_straddling_two_places_is_not_a_place(text, places):
    assert sorted(named_places(text)) == sorted(places)
