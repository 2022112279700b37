"""Computed answers through the real assistant: a comparison, a difference, a sum and a ratio lead the
answer with their arithmetic, every operand cited, and the verifier holds on the whole answer."""

from __future__ import annotations

import pytest

import assistant
from assistant.citations import verify
from assistant.devtools.evaluation import ungrounded_numbers
from assistant.text import number_in

CASES = [
    ("长三角7大核心城市的小巨人比珠三角9大城市多多少家？",
     "长三角 2386家，珠三角 1422家：长三角更多，多 964家（2386 − 1422 = 964）[1][2]", "964"),
    # the compared names stand apart: each part asks its own figure ("…比东莞多几家" is no part's question)
    ("广州的上市小巨人比东莞多几家？",
     "广州 47家，东莞 22家：广州更多，多 25家（47 − 22 = 25）[1][2]", "25"),
    # a district's figure (黄埔区 123家, 松山湖 27家) must not stand for its city's (value_of_district)
    ("广州、东莞两市的小巨人总共有多少家？",
     "广州 249家，东莞 172家：合计 421家（249 + 172 = 421）[1]", "421"),
    ("江苏省和广东省的小巨人，获认定的企业技术中心江苏是广东的多少倍？",
     "江苏 1082家，广东 247家：江苏约为广东的 4.4 倍（1082 ÷ 247 ≈ 4.4）[1]", "4.4"),
    ("长三角和珠三角的小巨人，哪边制造业占比更高？",
     "长三角 70%，珠三角 61%：长三角更高，高 9个百分点（70% − 61% = 9个百分点）[1]", "9"),
]


@pytest.fixture(scope="module")
def sources(index):
    return {d: doc.text for d, doc in index.docs.items()}


@pytest.mark.parametrize("question,lead,result", CASES, ids=[(c.values if hasattr(c, "values") else c)[0][:12] for c in CASES])
def test_the_computed_line_leads_and_verifies(index, sources, question, lead, result):
    a = assistant.ask(question, index=index)
    assert not a.refused
    assert a.answer.split("\n")[0] == lead
    # the operands stand in the quotes the line cites; the computed figure in none of them
    cited = [c for c in a.citations if f"[{c.n}]" in lead]
    assert cited and not number_in(result, "", "\n".join(c.quote for c in cited))
    assert verify(a.answer, a.citations, sources).ok
    assert ungrounded_numbers(a) == []


def test_a_tampered_result_is_dropped_by_the_verifier(index, sources):
    question, lead, _ = CASES[0]
    a = assistant.ask(question, index=index)
    forged = a.answer.replace("964", "960")
    v = verify(forged, a.citations, sources)
    assert not v.ok and "960" not in v.answer and "2386家" in v.answer  # the quotes still stand
    assert v.dropped[0][0] == lead.replace("964", "960")


def test_an_unclear_operand_gives_no_line(index):
    # the handbook gives 深圳 a total and several district counts; with only district sentences at
    # hand no figure is 深圳's, and no line is better than a wrong one
    a = assistant.ask("深圳和广州谁的小巨人多？", index=index)
    first = a.answer.split("\n")[0]
    assert "−" not in first or first.startswith("深圳 752家，广州 249家：深圳更多")
