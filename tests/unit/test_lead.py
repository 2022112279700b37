"""The asked-slot line: which kind of entity a question asks for, and the names found in real
handbook sentences (each sentence is checked to be in the handbook, so the cases stay real)."""

from __future__ import annotations

import pytest

from assistant.answer.lead import LEAD_PREFIX
from assistant.answer.slots import names_in, slot_kind
from assistant.text import bare_text, split_sentences

SENTENCES = {
    "investors": "深圳基本半导体有限公司获得的机构投资者数量最高，达32家，投资机构也集齐了深投控、粤科金融、广汽资本、"
                 "中车时代高新投资等国资机构和产业投资人。",
    "oldest": "成立于1993年12月的佛山市康思达液压机械有限公司，是佛山专精特新“小巨人”企业中发展资历最深的企业",
    "example": "例如佛山市国星半导体技术有限公司在调研中反映，LED芯片属于泛半导体行业",
    "two": "此外，广东金晟新能源股份有限公司、欣旺达动力科技股份有限公司等多家与新能源汽车产业相关的“小巨人”，都获得了20多个机构的投资。",
    "column": "去年我加入总部位于绍兴的芯联集成电路制造股份有限公司（简称“芯联集成”）",
    "anaphor": "该企业从事自研芯片的碳化硅功率器件生产，自2017年开始布局车用碳化硅器件研发和生产，是国内首批碳化硅模块量产上车的代表企业。",
}


@pytest.mark.parametrize("key", SENTENCES)
def test_cases_are_handbook_text(key, handbook_text):
    assert SENTENCES[key] in bare_text(handbook_text)


@pytest.mark.parametrize("question,kind", [
    ("从事碳化硅功率器件生产的是哪家企业？", "company"),
    ("哪家小巨人拿到的机构投资者数量最多？", "company"),
    ("那篇讲超级独角兽的专家视点是谁写的？", "person"),
    ("广州哪个区的小巨人最多？", "district"),
    ("作者现在任职的公司总部在哪座城市？", "city"),
    ("思谷智能是哪家研究院孵化的？", "institution"),
    ("深圳有多少家上市小巨人？", None),  # a count, not an entity
    ("投资小巨人最多的是哪些机构？", None),  # a list: several names, no single slot line
])
def test_slot_kind(question, kind):
    assert slot_kind(question) == kind


@pytest.mark.parametrize("key,kind,names", [
    ("investors", "company", ["深圳基本半导体有限公司"]),
    ("oldest", "company", ["佛山市康思达液压机械有限公司"]),
    ("example", "company", ["佛山市国星半导体技术有限公司"]),
    ("two", "company", ["广东金晟新能源股份有限公司", "欣旺达动力科技股份有限公司"]),
    ("column", "company", ["芯联集成电路制造股份有限公司"]),
    ("column", "city", ["绍兴"]),
    ("anaphor", "company", []),  # "该企业" names no company: its antecedent must
])
def test_names_in_real_sentences(key, kind, names):
    assert names_in(SENTENCES[key], kind) == names


def test_lead_line_is_one_cited_sentence():
    """The verifier splits answers into sentences: the lead line must be one, with its marker."""
    line = f"{LEAD_PREFIX}深圳基本半导体有限公司[1]\n"
    assert split_sentences(line + "下一句。[2]")[0] == line
