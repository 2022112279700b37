"""The citation verifier catches forged quotes, shifted spans, unsupported numbers and uncited sentences."""

from __future__ import annotations

import pytest

from assistant.citations import Citation, numbers, verify
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
