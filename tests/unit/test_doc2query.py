"""The stored train-split questions: which units they attach to and what a new question sees of them
(no index: small stores built here; tests/integration/test_doc2query.py uses the shipped one)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer import doc2query
from assistant.answer.doc2query import AskedQuestions, Prior, unit_questions, writer_of
from assistant.chunking import Unit
from assistant.types import Span


def _unit(uid: int, start: int, text: str) -> Unit:
    return Unit(uid, 0, (Span("handbook", start, start + len(text)),), text, "sentence", "二 画像")


UNITS = [_unit(0, 0, "广东省累计专精特新小巨人企业1525家。"), _unit(1, 100, "深圳上市小巨人企业共86家。"),
         _unit(2, 200, "东莞上市“小巨人”22家。")]


def _store() -> AskedQuestions:
    vecs = np.eye(4, dtype=np.float32)
    return AskedQuestions(
        vecs, ("w1", "w3", "w3", "w1"), np.array([True, True, False, True]),
        evidence=((("handbook", 5, 20),), (), (), (("handbook", 210, 215),)),
        must_contain=(("1525家",), ("86家",), (), ("22家",)),
        questions=("广东一共几家小巨人？", "深圳有多少家IPO了？", "珠海有几家？", "东莞上市的有几家？"), embedder="e")


def test_writer_of_reads_the_bank_prefix_only():
    assert writer_of("w12-s001") == "w12"
    assert writer_of("w3-c02") == "w3"
    assert writer_of("q017") == "" and writer_of("wx-s1") == "" and writer_of("") == ""


def test_questions_attach_to_units_by_evidence_or_required_strings():
    by_unit = unit_questions(UNITS, _store())
    assert by_unit[0].tolist() == [0]  # its evidence span overlaps, and it holds 1525家
    assert by_unit[1].tolist() == [1]  # no evidence, but it holds every required string
    assert by_unit[2].tolist() == [3]
    assert all(2 not in b for b in by_unit)  # an unanswerable question attaches to no unit


def test_prior_sees_closest_questions_and_their_wordings():
    store = _store()
    p = Prior(store.vecs @ np.array([0.0, 0.8, 0.6, 0.0]), unit_questions(UNITS, store), store.answerable, store.questions)
    assert p.asked_before(1) == pytest.approx(0.8) and p.asked_before(0) == 0.0
    assert p.closest(True) == pytest.approx(0.8) and p.closest(False) == pytest.approx(0.6)
    assert "ipo" in p.wordings(1) and p.wordings(0) == "广东一共几家小巨人？"


def test_store_round_trips_and_other_embedders_see_nothing(tmp_path):
    store = _store()
    path = tmp_path / "d2q.npz"
    store.save(path)
    doc2query.load.cache_clear()
    back = doc2query.load(path)
    assert back.writers == store.writers and back.questions == store.questions and back.evidence == store.evidence
    np.testing.assert_allclose(back.vecs, store.vecs, atol=1e-3)
    assert len(doc2query.load(tmp_path / "absent.npz")) == 0
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert len(doc2query.load(tmp_path / "bad.npz")) == 0


def test_a_question_asked_about_other_places_is_not_asked_before():
    # unit 1 (深圳) was asked about by stored question 1 ("深圳有多少家IPO了？"): when 东莞 is asked, that
    # earlier question says nothing for the 深圳 sentence; a question naming no place still counts
    by_unit = unit_questions(UNITS, _store())
    sims = np.array([0.2, 0.9, 0.1, 0.3])
    elsewhere = np.array([False, True, True, False])  # what prior() derives for a question about 东莞
    assert Prior(sims, by_unit, _store().answerable).asked_before(1) == pytest.approx(0.9)
    assert Prior(sims, by_unit, _store().answerable, elsewhere=elsewhere).asked_before(1) == 0.0
    assert Prior(sims, by_unit, _store().answerable, elsewhere=elsewhere).asked_before(2) == pytest.approx(0.3)


def test_a_question_naming_no_place_counts_only_for_a_unit_of_the_asked_place():
    # here stored question 0 is taken to name no place, question 3 to name one; for a question about 江门, one
    # naming no place counts for a unit that names 江门 but not for a unit about somewhere else (of_its_place
    # False: "小巨人集中在哪些赛道" asked of the province's sentence says nothing for "江门…集中在哪些赛道")
    by_unit = unit_questions(UNITS, _store())
    sims = np.array([0.7, 0.1, 0.1, 0.2])
    unplaced = np.array([True, False, False, False])
    p = Prior(sims, by_unit, _store().answerable, unplaced=unplaced)
    assert p.asked_before(0) == pytest.approx(0.7)
    assert p.asked_before(0, of_its_place=False) == 0.0
    assert p.asked_before(2, of_its_place=False) == pytest.approx(0.2)  # it named its place: still counts


def test_the_finest_place_named_decides_what_was_asked_about_the_same_place():
    from assistant.answer.evidence import finest

    assert finest(["广州", "白云区"]) == {"白云区"}  # an earlier question about 广州 is not about 白云区
    assert finest(["深圳", "广东"]) == {"深圳"}
    assert finest(["深圳", "广州"]) == {"深圳", "广州"} and finest([]) == frozenset()
