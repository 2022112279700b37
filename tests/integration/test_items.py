"""A quoted point or section title asked about in detail is answered with what the handbook writes under it."""

from __future__ import annotations

import assistant
from assistant.answer.items import from_item
from assistant.citations import quote_valid
from assistant.retrieval import Filters


def _texts(index, question: str) -> list[str] | None:
    units = from_item(question, index, Filters())
    return None if units is None else [u.text for u in units]


def test_a_point_is_answered_with_its_body_up_to_the_next_point(index):
    texts = _texts(index, "“投后赋能助企业“走出去””具体怎么做？")
    assert texts[0] == "第三，投后赋能助企业“走出去”。"
    assert any("上市预备队" in t for t in texts)  # past the page break that repeats the point
    assert not any(t.startswith(("第一，", "第二，", "第四，")) for t in texts)
    assert len(texts) == len(set(texts))  # the repeated passage is quoted once


def test_a_section_title_is_answered_with_its_opening_and_its_points(index):
    texts = _texts(index, "“优化全生产要素，激活数据、技术等要素价值乘数效应”具体怎么做？")
    points = [t for t in texts if t.startswith(("第一，", "第二，", "第三，"))]
    assert len(points) == 3 and any("数据资产" in t for t in texts)


def test_a_section_without_numbered_points_gives_its_first_sentences(index):
    texts = _texts(index, "“发展规模：长期主义与中等规模两大特征”具体说说")
    assert texts and texts[0].startswith("“小巨人”企业都是长期主义的践行者")
    assert not any(t.startswith("其次") for t in texts)  # "其次" among figures is no list of points


def test_a_quote_that_is_no_point_or_title_is_left_to_scoring(index):
    assert _texts(index, "“小巨人”具体指什么？") is None
    assert _texts(index, "“专精特新贷”具体怎么做？") is None
    assert _texts(index, "投后赋能具体怎么做？") is None  # nothing quoted


def test_an_ordinal_follow_up_gets_the_body_of_the_point_it_names(index):
    history = [{"role": "user", "content": "手册建议资本怎么帮小巨人引进来和走出去？"},
               {"role": "assistant", "content": "第一，支持设立专精特新母基金。[1]第二，政府和资本联手“引进来”。[2]"
                                                "第三，投后赋能助企业“走出去”。[3]"}]
    a = assistant.ask("第三条具体说说", history=history, index=index)
    assert not a.refused and "上市预备队" in a.answer and "母基金" not in a.answer
    sources = {d: doc.text for d, doc in index.docs.items()}
    assert a.citations and all(quote_valid(c, sources) for c in a.citations)


def test_each_point_of_a_section_comes_with_the_sentences_that_explain_it(index):
    # "上市预备队" is the third sentence of the section's third point
    texts = _texts(index, "“引进来和走出去，资本以投代招和做大市场”具体怎么做？")
    assert any("上市预备队" in t for t in texts)
    assert sum(t.startswith(("第一，", "第二，", "第三，", "第四，")) for t in texts) == 4
