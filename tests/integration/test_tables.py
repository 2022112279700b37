"""A table asked for its largest or smallest row is answered from its rows' values."""

from __future__ import annotations

import pytest

from assistant.answer.frame import frame
from assistant.answer.tables import columns, from_row, from_table, rows_of
from assistant.retrieval import Filters


def _rows(index, question: str) -> list[str] | None:
    units = from_table(question, frame(question, index), index, Filters())
    return None if units is None else [u.text for u in units]


def test_the_largest_row_of_the_named_table(index):
    assert _rows(index, "长三角制造业小巨人里哪个行业最多？") == ["长三角核心城市群制造业“小巨人”企业分布（单位：家）：通用设备制造业，211"]
    texts = _rows(index, "报告所列长三角部分城市中，哪座城市的“小巨人”数量最多？")
    assert len(texts) == 1 and "苏州 396 家" in texts[0]


def test_rows_are_a_name_and_the_first_number_after_it(index):
    rows = {r.name: r.value for r in rows_of("部分长三角城市“小巨人”数量及培育措施 （重点城市 | 小巨人数量 | 亮点措施）",
                                             index, Filters())}
    assert rows == {"苏州": 396, "宁波": 349, "杭州": 321, "南京": 210}


@pytest.mark.parametrize("question", [
    "深圳哪个区的小巨人最多？",  # no table named
    "珠三角制造业小巨人的数量有多少？",  # no end asked
    "珠三角制造业小巨人里哪个行业最多？和长三角比呢最少的是谁",  # both ends asked
    "长三角制造业小巨人里哪个行业最少？",  # a tie at the smallest end: no one row
])
def test_other_questions_are_left_to_scoring(index, question):
    assert _rows(index, question) is None


def _row(index, question: str) -> list[str] | None:
    units = from_row(question, frame(question, index), index, Filters())
    return None if units is None else [u.spans[0].text for u in units]


def test_a_row_is_looked_up_by_its_key_and_an_asked_column(index):
    # the key named by the company's short name, the column by a word of its header (机构)
    assert _row(index, "有哪些机构投了欣旺达动力？") == ["欣旺达动力科技股份有限公司\t深创投 粤财创投 IDG资本"]
    assert _row(index, "宁波有什么亮点措施？")[0].startswith("宁波")


@pytest.mark.parametrize("question", [
    "欣旺达动力是做什么的？",  # no other column asked
    "哪家小巨人的投资机构最多？",  # no row named
    "南京和杭州各有什么亮点措施？",  # two rows: left to scoring and the comparison split
])
def test_no_single_row_is_left_to_scoring(index, question):
    assert _row(index, question) is None


def test_columns_are_read_from_the_caption():
    assert columns("获最多机构投资的“小巨人”企业名单 （企业名称 | 部分投资机构）") == ["企业名称", "部分投资机构"]
    assert columns("珠三角城市群制造业“小巨人”企业分布（单位：家）") == []
