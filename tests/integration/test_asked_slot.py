"""The asked slot first, and references quoted with their antecedent, on the real index.

The questions are written here for this test (not taken from eval/): each asks for a company or a
person that the best quote names only indirectly ("该企业……") or not at all (an expert column).
"""

from __future__ import annotations

import re

import pytest

import assistant
from assistant.answer.anaphora import antecedent
from assistant.answer.lead import LEAD_PREFIX, heading_span
from assistant.citations import verify


def ask(index, question):
    a = assistant.ask(question, index=index)
    assert not a.refused, question
    return a


def lead_of(a) -> tuple[str, str]:
    """(the named entity, the quote its marker cites) of the answer's first line."""
    first = a.answer.split("\n")[0]
    m = re.fullmatch(re.escape(LEAD_PREFIX) + r"(.+?)\[(\d+)\]", first)
    assert m, f"no asked-slot line: {a.answer[:80]}"
    quote = next(c.quote for c in a.citations if c.n == int(m.group(2)))
    return m.group(1), quote


@pytest.mark.parametrize("question,entity", [
    ("手册里说有家小巨人在做自研芯片的碳化硅功率器件，2017年就开始布局车用器件，是哪家企业？", "深圳基本半导体有限公司"),
    ("改造无人机夜视摄像头、做山地森林救援无人机的是哪家企业？", "广州成至智能机器科技有限公司"),
    ("那篇认为中国“小巨人”凭借天时地利人和将成为全球独角兽的专家视点，是谁写的？", "周伟然"),
    # the quote found is the sentence before the one that names the company
    ("专家视点里那位担任过广汽资本CEO的作者，后来加入了绍兴的哪家公司？", "芯联集成电路制造股份有限公司"),
    ("东莞专精特新股权投资基金学的是哪个城市的模式？", "合肥"),
])
def test_entity_question_states_the_entity_first_with_a_citation_holding_it(index, question, entity):
    a = ask(index, question)
    name, quote = lead_of(a)
    assert name == entity and entity in re.sub(r"\s", "", quote)


def test_the_lead_line_passes_the_verifier_unchanged(index):
    a = ask(index, "手册里说有家小巨人在做自研芯片的碳化硅功率器件，2017年就开始布局车用器件，是哪家企业？")
    v = verify(a.answer, a.citations, {d: doc.text for d, doc in index.docs.items()})
    assert v.ok and v.answer == a.answer


def test_a_referring_sentence_is_quoted_with_the_one_naming_its_referent(index):
    a = ask(index, "哪家企业从自研芯片做碳化硅功率器件，是国内首批碳化硅模块量产上车的？")
    text = re.sub(r"\[\d+\]|\s", "", a.answer)
    assert "该企业从事自研芯片的碳化硅功率器件生产" in text
    assert text.index("深圳基本半导体有限公司获得的机构投资者数量最高") < text.index("该企业从事自研芯片")


def test_antecedent_walks_back_at_most_two_units(index):
    def unit(prefix):
        return next(u for u in index.units if u.text.startswith(prefix))

    assert "佛山市国星半导体技术有限公司" in antecedent(unit("因此，该企业特别希望"), index).text  # two back
    assert "广州成至智能机器科技有限公司" in antecedent(unit("该企业组建研发团队"), index).text  # one back
    assert antecedent(unit("此外，广东金晟新能源"), index) is None  # names its own subject
    assert antecedent(unit("深圳基本半导体有限公司获得"), index) is None  # not a reference


def test_non_entity_question_has_no_lead_line(index):
    a = ask(index, "深圳有多少家上市小巨人？")
    assert not a.answer.startswith(LEAD_PREFIX)


def test_a_section_heading_is_a_citable_span(index):
    """Headings are cited as the exact source line they were parsed from."""
    unit = next(u for u in index.units if u.section.endswith("南海区成为小巨人成长的“沃土”") and u.kind == "paragraph")
    span = heading_span(unit, index)
    assert index.docs[span.doc].text[span.start:span.end] == span.text
    assert "南海区" in span.text and "\n" not in span.text


@pytest.mark.parametrize("question,author,title", [
    ("周伟然现在是什么职位？", "周伟然", "电信行业主管合伙人"),
    ("袁锋有哪些头衔", "袁锋", "芯联动力董事长"),
])
def test_an_authors_current_titles_are_answered_from_the_byline(index, question, author, title):
    """The byline is one record: the name with every title line, each line cited as it stands."""
    a = ask(index, question)
    assert a.decisions[0].reason == "byline"
    quotes = [c.quote for c in a.citations]
    assert quotes[0] == author and title in quotes
    assert verify(a.answer, a.citations, {d: doc.text for d, doc in index.docs.items()}).ok


def test_a_past_post_is_not_answered_by_the_byline(index):
    a = ask(index, "袁锋在加入芯联集成之前在广汽资本担任什么职务？")
    assert a.decisions[0].reason != "byline" and "CEO" in a.answer
