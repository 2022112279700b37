"""A part of the handbook asked for its outline is answered with its sections, from the table of contents."""

from __future__ import annotations

import pytest

import assistant
from assistant.answer.outline import from_outline, named_part, parts
from assistant.citations import quote_valid
from assistant.retrieval import Filters


def _texts(index, question: str) -> list[str] | None:
    units = from_outline(question, index, Filters())
    return None if units is None else [u.text for u in units]


def test_parts_are_read_from_the_table_of_contents_once(index):
    ps = parts(index)
    assert [p.number for p in ps] == [1, 2, 3, 4, 5, 0]
    assert len(ps[3].children) == len({c.text for c in ps[3].children})  # repeated across a page break
    assert "路径" in ps[4].words and "成长" not in ps[4].words  # 成长 is also part 三's word


@pytest.mark.parametrize("question", ["手册给新型工业化时代广东小巨人提了哪几条成长路径？",
                                      "手册第五部分给广东小巨人提了几条成长路径？"])
def test_a_part_named_by_its_title_or_number_gets_its_numbered_sections(index, question):
    texts = _texts(index, question)
    assert texts[0] == "（一）产业链作用提升，依托链主企业发现和培育“小巨人”"  # no page number
    assert len(texts) == 4 and texts[-1].startswith("（四）加强数字治理")


def test_an_expert_column_is_no_section_of_a_numbered_part(index):
    texts = _texts(index, "手册给广东小巨人的成长需求分了哪几个方面？")
    assert len(texts) == 4 and not any("专家视点" in t for t in texts)


def test_the_whole_handbook_gets_its_parts(index):
    texts = _texts(index, "手册分哪几部分？")
    assert texts[0] == "一、“专精特新”企业培育历程" and texts[-1].startswith("特别呈献")


@pytest.mark.parametrize("question", [
    "深圳的成长路径有哪几条？",  # a place the part's title does not name
    "深圳有几家上市小巨人？",  # no outline asked
    "广东小巨人有哪几个方面？",  # no part named
])
def test_other_questions_are_left_to_scoring(index, question):
    assert _texts(index, question) is None


def test_two_parts_with_the_same_number_of_title_words_name_none(index):
    assert named_part("需求和路径有哪几条", index) is None


def test_an_outline_answer_is_cited_and_its_sections_are_the_next_turn_s_items(index):
    a = assistant.ask("报告最后给小巨人的成长路径有哪几条", index=index)
    sources = {d: doc.text for d, doc in index.docs.items()}
    assert not a.refused and len(a.citations) == 4 and all(quote_valid(c, sources) for c in a.citations)
    history = [{"role": "user", "content": a.question}, {"role": "assistant", "content": a.answer}]
    b = assistant.ask("第三条具体说说", history=history, index=index)
    assert "以投代招" in b.answered_question and "上市预备队" in b.answer


def test_one_title_word_names_a_part_only_in_a_question_about_the_handbook(index):
    # 经验 is part 四's word ("长三角“小巨人”培育经验启示"), but this asks about one company's experience
    assert _texts(index, "袁锋总结芯联集成能五年冲出来，靠的是哪几条经验？") is None
    assert _texts(index, "长三角的培育经验有哪几条？") is not None  # two of its words


def test_an_expert_column_named_by_its_author_gets_its_points(index):
    texts = _texts(index, "周伟然那篇专栏，说中国小巨人有哪几方面的先天优势？")
    assert [t[:2] for t in texts] == ["首先", "其次", "再者", "最后"]  # the point repeated across a page break once
    assert _texts(index, "政府基金有哪几条支持措施？") is None  # two title words, but no passage asked about
    texts = _texts(index, "“引进来和走出去”那一节，一共提了哪几条建议？")  # a section of part 五: its points
    assert [t[:3] for t in texts] == ["第一，", "第二，", "第三，", "第四，"]


def test_a_long_point_of_an_outline_answer_is_the_next_turn_s_item(index):
    q = "周伟然那篇专栏，说中国小巨人有哪几方面的先天优势？"
    a = assistant.ask(q, index=index)
    b = assistant.ask("第二点具体说说？", history=[{"role": "user", "content": q}, {"role": "assistant", "content": a.answer}],
                      index=index)
    assert not b.refused and "西方市场政府扶持初创企业的力度" in b.answer  # the point's body, after the point
