"""The citation verifier catches forged quotes, shifted spans, unsupported numbers and uncited sentences."""

from __future__ import annotations

import pytest

from assistant.citations import MARKER, Citation, numbers, verify
from assistant.config import REFUSAL

SENTENCE = "深圳有109家上市小巨人企业, 占全省45%, 资本化板块主要系: 新三板、创业板和科创板。"


@pytest.fixture(scope="module")
def sources(handbook_text):
    return {"handbook": handbook_text}


@pytest.fixture(scope="module")
def good(handbook_text):
    start = handbook_text.index(SENTENCE)
    return Citation(1, "handbook", start, start + len(SENTENCE), "深圳篇", SENTENCE)


def test_a_true_answer_passes(good, sources):
    v = verify("深圳有109家上市小巨人企业，占全省45%。[1]", [good], sources)
    assert v.ok and v.answer.endswith("[1]") and v.citations == [good]


def test_forged_quote_is_caught(good, sources):
    forged = Citation(1, good.doc, good.start, good.end, good.section, good.quote.replace("109", "190"))
    v = verify("深圳有190家上市小巨人企业。[1]", [forged], sources)
    assert not v.ok and v.answer == REFUSAL and v.citations == []


def test_shifted_span_is_caught(good, sources, handbook_text):
    shifted = Citation(1, good.doc, good.start + 3, good.end + 3, good.section, good.quote)
    assert handbook_text[shifted.start:shifted.end] != shifted.quote
    v = verify("深圳有109家上市小巨人企业。[1]", [shifted], sources)
    assert v.answer == REFUSAL


def test_number_absent_from_the_quote_drops_the_sentence(good, sources):
    v = verify("深圳有109家上市小巨人企业。[1]其中新三板有35家。[1]", [good], sources)
    assert not v.ok
    assert "35家" not in v.answer and "109家" in v.answer
    assert v.dropped and "35" in v.dropped[0][1]


def test_number_with_a_different_unit_is_not_supported(good, sources):
    v = verify("深圳有109万上市小巨人企业。[1]", [good], sources)
    assert v.answer == REFUSAL


def test_every_sentence_needs_a_citation(good, sources):
    v = verify("深圳有109家上市小巨人企业。[1]这说明深圳最强。", [good], sources)
    assert not v.ok and v.answer == "深圳有109家上市小巨人企业。[1]"


def test_unknown_marker_is_caught(good, sources):
    v = verify("深圳有109家上市小巨人企业。[2]", [good], sources)
    assert v.answer == REFUSAL


def test_markers_are_renumbered_after_a_drop(good, sources, handbook_text):
    s2 = "广东省累计专精特新小巨人企业1525家"
    i = handbook_text.index(s2)
    c2 = Citation(2, "handbook", i, i + len(s2), "区域分布", s2)
    v = verify("有一个没有依据的说法。[3]广东累计有1525家小巨人。[2]", [good, c2], sources)
    assert v.answer == "广东累计有1525家小巨人。[1]"
    assert [c.n for c in v.citations] == [1] and v.citations[0].start == i


def test_numbers_keep_their_units():
    assert ("32.9", "%") in numbers("占A股上市企业数量的32.9%")
    assert ("1.5", "万") in numbers("专利申请总量达1.5万余件")
    assert numbers("见[12]") == []


# ---------------------------------------------------------------- derived numbers (rule 3)

# the quotes the sentences below cite, by marker number
QUOTED = {1: "深圳贡献了广东超过一半的专精特新“小巨人”，达到752家。", 2: "第二梯队是广州和东莞，分别为249家和172家",
          3: "长三角“小巨人”制造业含量更高，占比高达70%，珠三角制造业占比为61%。",
          4: "江苏省、浙江省及广东省“小巨人”获得认定的企业技术中心数量分别为1082家、614家及247家。"}


@pytest.fixture(scope="module")
def quoted(handbook_text):
    return [Citation(n, "handbook", (i := handbook_text.index(q)), i + len(q), "画像", q) for n, q in QUOTED.items()]


@pytest.mark.parametrize("sentence", [
    "深圳 752家，广州 249家：深圳更多，多 503家（752 − 249 = 503）[1][2]",
    "广州 249家，东莞 172家：合计 421家（249 + 172 = 421）[2]",
    "长三角 70%，珠三角 61%：长三角更高，高 9个百分点（70% − 61% = 9个百分点）[3]",
    "江苏 1082家，广东 247家：江苏约为广东的 4.4 倍（1082 ÷ 247 ≈ 4.4）[4]",
    "江苏约为广东的 4.38 倍（1082 ÷ 247 ≈ 4.38）[4]",
])
def test_a_right_derivation_from_cited_numbers_passes(sentence, quoted, sources):
    v = verify(sentence, quoted, sources)
    assert v.ok and MARKER.sub("", v.answer) == MARKER.sub("", sentence)  # markers are renumbered


@pytest.mark.parametrize("sentence,why", [
    ("深圳 752家，广州 249家：深圳更多，多 500家（752 − 249 = 500）[1][2]", "wrong difference"),
    ("深圳 752家，广州 249家：深圳更多，多 503家[1][2]", "a computed number without its derivation"),
    ("江苏约为广东的 4.5 倍（1082 ÷ 247 ≈ 4.5）[4]", "wrong rounding"),
    ("江苏是广东的 4.4 倍（1082 ÷ 247 = 4.4）[4]", "a rounded ratio stated as exact"),
    ("长三角高 9万（70% − 61% = 9万）[3]", "a unit the operands do not have"),
    ("多 504家（752 − 249 + 1 = 504）[1][2]", "mixed operators"),
    ("多 503家（752 − 249 = 503）[1]", "an operand only in a quote the sentence does not cite"),
    ("合计 1001家（752 + 249 = 1001）[1][3]", "an operand in no cited quote"),
    ("多 503家（752 − 249 = 249）[1][2]", "a wrong result that happens to be quoted"),
])
def test_a_wrong_or_partly_cited_derivation_is_dropped(sentence, why, quoted, sources):
    v = verify(sentence + "\n广州有249家。[2]", quoted, sources)
    assert not v.ok, why
    assert v.answer == "广州有249家。[1]" and v.dropped[0][0] == sentence


def test_a_hyphen_is_no_derivation(quoted, sources):
    # "2015-07" or "50-100家" are dates and ranges, never a subtraction that grounds a number
    v = verify("深圳有752 - 249 = 503家。[1][2]", quoted, sources)
    assert not v.ok and v.answer == REFUSAL
