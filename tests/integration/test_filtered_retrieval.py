"""Filtered retrieval: BM25 filters run inside bm25s (weight mask), dense filters over a bounded
over-fetch; both must return exactly what filtering the full ranking would."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Filters
from assistant.chunking import search_tokens
from assistant.embedding import query_vector
from assistant.retrieval import DenseRetriever, KeywordRetriever, search

CASES = [
    ("研发能力 专利", Filters(section="深圳篇")),
    ("上市小巨人 数量", Filters(section="广州篇")),
    ("普渡科技 成立", Filters(kinds=("profile",))),
    ("小巨人企业 分布", Filters(kinds=("table", "chart"))),
    ("专精特新 政策", Filters(section="佛山篇", kinds=("paragraph",))),
    ("目录 成长路径", Filters(kinds=("toc",))),  # few allowed chunks: the dense fetch must widen to all of them
]


def _chunk_ids(nodes) -> list[int]:
    return [n.node.metadata["chunk"] for n in nodes]


def _allowed(index, filters: Filters) -> set[int]:
    return {c.id for c in index.chunks if filters.allows(c)}


@pytest.mark.parametrize("query,filters", CASES)
def test_bm25_filter_equals_filtering_the_full_ranking(index, query, filters):
    top_k = 10
    got = KeywordRetriever(index, top_k, filters).retrieve(query)
    full = index.bm25.get_scores(search_tokens(query))  # every chunk's score, no mask
    allowed = _allowed(index, filters)
    expected = sorted((float(full[c]) for c in allowed if full[c] > 0), reverse=True)[:top_k]
    assert [round(n.score, 5) for n in got] == [round(s, 5) for s in expected]
    assert set(_chunk_ids(got)) <= allowed
    for n in got:
        assert n.score == pytest.approx(float(full[n.node.metadata["chunk"]]), rel=1e-5)


@pytest.mark.parametrize("query,filters", CASES)
def test_dense_filter_equals_filtering_the_full_ranking(index, query, filters):
    top_k = 10
    vec = query_vector(index.embed, query).tolist()
    got = DenseRetriever(index, top_k, filters).retrieve(_bundle(query, vec))
    every = index.vector_index.as_retriever(similarity_top_k=len(index.chunks)).retrieve(_bundle(query, vec))
    allowed = _allowed(index, filters)
    expected = [c for c in _chunk_ids(every) if c in allowed][:top_k]
    assert _chunk_ids(got) == expected
    assert len(got) == min(top_k, len(allowed))


def test_filters_exclude_the_unfiltered_best_hit(index):
    query = "深圳有多少家上市小巨人？"
    best = search(index, query, k=1).hits[0].chunk
    # a section the best hit is not in: the city section, or the portrait when the best hit is the city's own
    section = "深圳篇" if "深圳篇" not in best.section else "企业画像"
    filtered = search(index, query, k=5, filters=Filters(section=section)).hits
    assert len(filtered) == 5 and all(section in h.chunk.section for h in filtered)
    assert best.id not in {h.chunk.id for h in filtered}


def test_mask_marks_exactly_the_allowed_chunks(index):
    f = Filters(section="东莞篇", kinds=("paragraph",))
    mask = f.mask(index.chunks)
    assert mask.dtype == np.float32 and len(mask) == len(index.chunks)
    assert {i for i, m in enumerate(mask) if m} == _allowed(index, f) != set()
    assert not Filters().active and Filters(section="深圳篇").active and not Filters(section="  ").active


def _bundle(query: str, vec: list[float]):
    from llama_index.core.schema import QueryBundle

    return QueryBundle(query, embedding=vec)
