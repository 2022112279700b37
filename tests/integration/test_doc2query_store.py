"""The shipped doc2query store on the real index: a train writer's question finds its unit through the
question itself, and is scored without it when that writer's own questions are excluded (as the train
split is in `assistant eval` and `assistant train`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answer import doc2query
from assistant.config import ROOT
from assistant.devtools.bank import files
from assistant.embedding import query_vector


@pytest.fixture(scope="module")
def train_question(index):
    """The first answerable question of the first train writer, with its writer."""
    path = files("train")[0]
    rec = next(r for r in map(json.loads, path.read_text("utf-8").splitlines()) if r["answerable"])
    return rec, doc2query.writer_of(rec["id"])


def test_store_holds_train_writers_only(index):
    store = doc2query.load(index.cfg.doc2query)
    assert len(store) > 0 and store.embedder == index.manifest["fingerprint"]["embedder"]
    train = {p.parent.name for p in files("train")}
    assert set(store.writers) == train
    assert not set(store.writers) & ({p.parent.name for p in files("dev")} | {p.parent.name for p in files("sealed")})
    assert store.provenance["command"] == "assistant doc2query"


def test_own_question_is_found_and_hidden_from_its_writer(index, train_question):
    rec, writer = train_question
    qvec = query_vector(index.embed, rec["question"])
    seen = doc2query.prior(index, qvec)
    hidden_from_writer = None
    with doc2query.excluding(writer):
        hidden_from_writer = doc2query.prior(index, qvec)
    units = [u.id for u in index.units if any(m in u.text for m in rec["must_contain"])]
    assert units
    assert max(seen.asked_before(u) for u in units) > 0.99  # the question itself is stored
    assert max(hidden_from_writer.asked_before(u) for u in units) < 0.99
    assert rec["question"].lower() not in " ".join(hidden_from_writer.wordings(u) for u in units)
    assert np.sum(hidden_from_writer.sims == -1.0) == sum(w == writer for w in doc2query.load(index.cfg.doc2query).writers)


def test_no_store_means_no_doc2query_evidence(index):
    from dataclasses import replace

    bare = replace(index, cfg=replace(index.cfg, doc2query=ROOT / "no-such-file.npz"))
    p = doc2query.prior(bare, query_vector(index.embed, "广东有多少家小巨人？"))
    assert p.asked_before(0) == 0.0 and p.closest(True) == 0.0 and p.wordings(0) == ""


def test_asked_ranking_finds_the_chunk_an_earlier_writer_asked_about(index, train_question):
    from assistant.retrieval import AskedRetriever, Filters

    rec, writer = train_question
    qvec = query_vector(index.embed, rec["question"])
    holds = lambda h: any(m in index.chunks[h.node.metadata["chunk"]].text for m in rec["must_contain"])  # noqa: E731
    ranked = AskedRetriever(index, 3, Filters()).rank(qvec)
    assert 0 < len(ranked) <= 3 and holds(ranked[0])  # its own stored question points at its chunk
    with doc2query.excluding(writer):
        hidden = AskedRetriever(index, 3, Filters()).rank(qvec)
    assert [h.score for h in hidden] != [h.score for h in ranked] and all(h.score < 0.99 for h in hidden)
    only_tables = AskedRetriever(index, 3, Filters(kinds=("table",))).rank(qvec)
    assert all(index.chunks[h.node.metadata["chunk"]].kind == "table" for h in only_tables)


def test_asked_ranking_joins_fusion_only_when_weighted(index, train_question):
    from dataclasses import replace

    from assistant.retrieval import search

    rec, _ = train_question
    on = search(index, rec["question"], k=5)
    off = search(replace(index, cfg=replace(index.cfg, asked_weight=0.0)), rec["question"], k=5)
    assert index.cfg.asked_weight > 0 and "asked" in on.timings_ms
    assert [h.score for h in on.hits] != [h.score for h in off.hits]  # a third ranking adds to the fused scores


def test_words_an_earlier_writer_used_for_the_unit_are_not_novel(index):
    """novel_idf is missing_idf less the words of earlier questions about the unit: the stored question
    itself lacks nothing new for its own unit, and hidden from its writer it is back to missing_idf."""
    from assistant.answer.answerer import gather
    from assistant.retrieval import Filters

    store = doc2query.load(index.cfg.doc2query)
    by_unit = doc2query.prior(index, store.vecs[0]).by_unit
    for uid, qs in enumerate(by_unit):
        if len(qs) != 1:
            continue
        q = int(qs[0])
        _, cands, _ = gather(store.questions[q], index, Filters(), {})
        mine = next((c for c in cands if c.unit.id == uid), None)
        if mine is None or mine.features["missing_idf"] == 0.0:
            continue
        assert mine.features["novel_idf"] == 0.0
        with doc2query.excluding(store.writers[q]):
            _, again, _ = gather(store.questions[q], index, Filters(), {})
        hidden = next(c for c in again if c.unit.id == uid)
        assert hidden.features["novel_idf"] == pytest.approx(hidden.features["missing_idf"])
        assert hidden.features["asked_before"] == 0.0
        return
    pytest.fail("no unit with one stored question that lacks one of its words")


def test_a_stored_question_about_other_places_is_not_asked_before(index):
    """A stored question that names places, none of them the asked ones, does not count for its unit."""
    from assistant.answer.evidence import focus_places
    from assistant.answer.frame import frame

    store = doc2query.load(index.cfg.doc2query)
    k = next(i for i, q in enumerate(store.questions)
             if store.answerable[i] and focus_places(q, frame(q, index).places) == ["深圳"])
    qvec = store.vecs[k] / np.linalg.norm(store.vecs[k])  # a question worded like it, about another city
    places_of = lambda q: frozenset(focus_places(q, frame(q, index).places))  # noqa: E731
    units = [u.id for u in index.units if any(m in u.text for m in store.must_contain[k])]
    here = doc2query.prior(index, qvec, frozenset({"深圳"}), places_of)
    there = doc2query.prior(index, qvec, frozenset({"东莞"}), places_of)
    assert max(here.asked_before(u) for u in units) > 0.99
    assert max(there.asked_before(u) for u in units) < max(here.asked_before(u) for u in units)
    assert there.elsewhere[k] and not here.elsewhere[k]


def test_a_stored_question_naming_no_place_counts_only_for_a_unit_of_the_asked_place(index):
    """A stored question that names no place counts for its unit when the new question names none either, and
    not when the new one asks about a place the unit does not name (江门): evidence.asked_before."""
    from assistant.answer.answerer import gather
    from assistant.answer.evidence import focus_places
    from assistant.answer.frame import frame
    from assistant.retrieval import Filters

    store = doc2query.load(index.cfg.doc2query)
    for k, q in enumerate(store.questions):
        if not store.answerable[k] or not store.must_contain[k] or focus_places(q, frame(q, index).places):
            continue
        units = [u.id for u in index.units if all(m in u.text for m in store.must_contain[k])]
        if len(units) != 1 or "江门" in index.units[units[0]].text:
            continue
        placeless = [c for c in gather(q, index, Filters(), {})[1] if c.unit.id == units[0]]
        in_jiangmen = [c for c in gather("江门" + q, index, Filters(), {})[1] if c.unit.id == units[0]]
        if placeless and in_jiangmen:
            assert placeless[0].features["asked_before"] > 0.99
            assert in_jiangmen[0].features["asked_before"] == 0.0
            return
    pytest.fail("no stored question naming no place whose unit is a candidate with and without 江门")
