"""Question analysis pieces that need no index: the date parts of a question, the place a section is about."""

from __future__ import annotations

import pytest

from assistant.answer.frame import DATE_PARTS, path_place


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
