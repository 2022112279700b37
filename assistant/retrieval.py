"""Hybrid retrieval: dense (FAISS via llama-index) + BM25 over jieba tokens, fused by weighted RRF.

All three are llama-index `BaseRetriever`s returning `NodeWithScore`. llama-index's own
QueryFusionRetriever fixes RRF's k at 60 and ignores retriever weights in that mode, and we
measure both (see README), so the fusion step here is a few lines of our own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from .chunking import Chunk, search_tokens
from .embedding import query_vector
from .index import Index

DENSE_OVERFETCH = 4  # with filters active, the first dense fetch is this many times top_k


@dataclass
class Filters:
    section: str | None = None  # a part or city section, matched against the section path
    kinds: tuple[str, ...] | None = None  # paragraph / table / profile / footnote / chart / toc

    def allows(self, c: Chunk) -> bool:
        if self.section and self.section.strip() and self.section.strip() not in c.section:
            return False
        return not self.kinds or c.kind in self.kinds

    @property
    def active(self) -> bool:
        return bool((self.section and self.section.strip()) or self.kinds)

    def mask(self, chunks: list[Chunk]) -> np.ndarray:
        """1.0 for allowed chunks, 0.0 for the rest: bm25s multiplies scores by it."""
        return np.fromiter((self.allows(c) for c in chunks), dtype=np.float32, count=len(chunks))


@dataclass
class Hit:
    rank: int
    score: float
    chunk: Chunk

    def as_json(self) -> dict:
        c = self.chunk
        return {"rank": self.rank, "score": round(float(self.score), 6), "doc": c.doc, "start": c.start, "end": c.end,
                "section": c.section, "kind": c.kind, "text": c.text}


@dataclass
class Retrieved:
    hits: list[Hit]
    query_vec: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    dense: list[NodeWithScore] = field(default_factory=list)
    keyword: list[NodeWithScore] = field(default_factory=list)


class _FilteredRetriever(BaseRetriever):
    """A retriever over the index's chunks that returns at most top_k hits allowed by filters."""

    def __init__(self, index: Index, top_k: int, filters: Filters):
        super().__init__()
        self._index, self._filters, self._top_k = index, filters, top_k


class DenseRetriever(_FilteredRetriever):
    """FAISS via llama-index. The FAISS store has no metadata filters, so with filters active it
    over-fetches DENSE_OVERFETCH x top_k and filters afterwards, widening the fetch (doubling)
    only while fewer than top_k allowed chunks came back and the store has more."""

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if query_bundle.embedding is None:
            query_bundle.embedding = query_vector(self._index.embed, query_bundle.query_str).tolist()
        n = len(self._index.chunks)
        fetch = min(n, self._top_k * DENSE_OVERFETCH if self._filters.active else self._top_k)
        while True:
            hits = self._index.vector_index.as_retriever(similarity_top_k=fetch).retrieve(query_bundle)
            allowed = [h for h in hits if self._filters.allows(self._index.chunks[h.node.metadata["chunk"]])]
            if len(allowed) >= self._top_k or fetch >= n:
                return allowed[: self._top_k]
            fetch = min(n, fetch * 2)


def keyword_tokens(query: str) -> list[str]:
    """The query's BM25 tokens, then those of the handbook's forms of its terms (answer/lexicon.py) that
    it lacks: "IPO" also searches 上市. Imported here, not at the top: the answer package imports this module."""
    from .answer.lexicon import expansion

    toks = search_tokens(query)
    extra = expansion(query)
    return toks + [t for t in dict.fromkeys(search_tokens(" ".join(extra))) if t not in toks] if extra else toks


class KeywordRetriever(_FilteredRetriever):
    """BM25 (bm25s) over jieba search-mode tokens and the lexicon's expansion; zero-score hits are dropped."""

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        toks = keyword_tokens(query_bundle.query_str)
        if not toks:
            return []
        chunks = self._index.chunks
        # filters go into bm25s as a weight mask: filtered-out chunks score 0 and are dropped below
        mask = self._filters.mask(chunks) if self._filters.active else None
        docs, scores = self._index.bm25.retrieve([toks], k=min(self._top_k, len(chunks)), show_progress=False,
                                                 n_threads=1, weight_mask=mask)
        docstore = self._index.vector_index.docstore
        return [NodeWithScore(node=docstore.get_node(f"c{int(cid)}"), score=float(s))
                for cid, s in zip(docs[0], scores[0]) if s > 0]


class AskedRetriever(_FilteredRetriever):
    """Chunks ranked by how close this question is to a stored question that one of their units answers
    (answer/doc2query.py): an indirect or colloquial wording finds what an earlier writer's wording of the
    same question found. Empty when nothing is stored (or only this question's own writer is)."""

    def rank(self, vec: np.ndarray) -> list[NodeWithScore]:
        from .answer import doc2query

        prior = doc2query.prior(self._index, vec)
        if not len(prior.sims):
            return []
        chunk_of = [u.chunk for u in self._index.units]
        best: dict[int, float] = {}
        for uid, qs in enumerate(prior.by_unit):
            if len(qs):
                s = float(prior.sims[qs].max())
                if s > -1.0 and s > best.get(chunk_of[uid], -1.0):
                    best[chunk_of[uid]] = s
        order = sorted(best, key=lambda c: (-best[c], c))
        allowed = [c for c in order if self._filters.allows(self._index.chunks[c])][: self._top_k]
        docstore = self._index.vector_index.docstore
        return [NodeWithScore(node=docstore.get_node(f"c{c}"), score=best[c]) for c in allowed]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.rank(np.asarray(query_bundle.embedding or query_vector(self._index.embed, query_bundle.query_str)))


def weighted_rrf(ranked: list[list[NodeWithScore]], weights: list[float], k: int) -> list[NodeWithScore]:
    scores: dict[str, float] = {}
    nodes: dict[str, NodeWithScore] = {}
    for hits, w in zip(ranked, weights):
        for rank, h in enumerate(hits):
            scores[h.node.node_id] = scores.get(h.node.node_id, 0.0) + w / (k + rank + 1)
            nodes.setdefault(h.node.node_id, h)
    order = sorted(scores, key=lambda nid: (-scores[nid], nodes[nid].node.metadata["chunk"]))
    return [NodeWithScore(node=nodes[nid].node, score=scores[nid]) for nid in order]


class HybridRetriever(BaseRetriever):
    def __init__(self, index: Index, top_k: int | None = None, filters: Filters | None = None):
        super().__init__()
        cfg = index.cfg
        self._index, self._filters = index, filters or Filters()
        self._top_k = top_k or cfg.top_k
        self._dense = DenseRetriever(index, cfg.candidates, self._filters)
        self._keyword = KeywordRetriever(index, cfg.candidates, self._filters)
        self._asked = AskedRetriever(index, cfg.asked_candidates, self._filters)

    def retrieve_timed(self, query: str) -> Retrieved:
        t = {}
        t0 = time.perf_counter()
        vec = query_vector(self._index.embed, query)
        t1 = time.perf_counter()
        dense = self._dense.retrieve(QueryBundle(query, embedding=vec.tolist()))
        t2 = time.perf_counter()
        keyword = self._keyword.retrieve(QueryBundle(query))
        t3 = time.perf_counter()
        cfg = self._index.cfg
        asked = self._asked.rank(vec) if cfg.asked_weight else []
        t4 = time.perf_counter()
        fused = weighted_rrf([dense, keyword, asked], [cfg.dense_weight, cfg.bm25_weight, cfg.asked_weight],
                             cfg.rrf_k)[: self._top_k]
        t5 = time.perf_counter()
        t.update(embed=(t1 - t0) * 1e3, dense=(t2 - t1) * 1e3, bm25=(t3 - t2) * 1e3, asked=(t4 - t3) * 1e3,
                 fusion=(t5 - t4) * 1e3)
        hits = [Hit(i + 1, h.score, self._index.chunks[h.node.metadata["chunk"]]) for i, h in enumerate(fused)]
        return Retrieved(hits, vec, t, dense, keyword)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        r = self.retrieve_timed(query_bundle.query_str)
        return [NodeWithScore(node=self._index.vector_index.docstore.get_node(f"c{h.chunk.id}"), score=h.score) for h in r.hits]


def search(index: Index, query: str, k: int | None = None, filters: Filters | None = None) -> Retrieved:
    return HybridRetriever(index, top_k=k, filters=filters).retrieve_timed(query)
