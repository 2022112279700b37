"""`assistant doc2query`: store the train split's questions with their evidence (answer/doc2query.py).

Only the bank's train-split writers (the issue: doc2query written by train-split writers only): their
single-turn questions and the first turn of each of their conversations (a question asked with no history,
as the answerer sees it: 繁體 normalised). A conversation's opener is often broader than a bank question
("手册说缺的人才分成哪两类"): without them, dev's openers were falsely refused 0.052 and its single questions
0.014 at the same threshold (0.21); with them, 0.891 of dev's openers were answered right at 0.39 (0.876 at 0.21).
Each question is embedded with the index's embedder, as a query.
Run it when the train split changes, then `assistant train` (the model's features depend on it).
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..answer.doc2query import AskedQuestions, writer_of
from ..embed_cache import keep_query_vectors
from ..embedding import query_vector
from .bank import files
from .conversations import turn_items
from .evalset import evidence_spans, load, read_jsonl


def build(index) -> AskedQuestions:
    import assistant

    sources = index.sources()
    paths = files("train")
    items = [it for p in paths for it in load(p, sources)]
    openers = [turn_items(rec)[0] for p in files("train", "conversations") for rec in read_jsonl(p)]
    items += [replace(it, question=assistant.understood(it.question, [], index)[1]) for it in openers]
    paths += files("train", "conversations")
    vecs = np.array([query_vector(index.embed, it.question) for it in items], dtype=np.float32)
    evidence = tuple(tuple((s.doc, s.start, s.end) for s in evidence_spans(it, sources)) for it in items)
    provenance = {"command": "assistant doc2query", "questions": len(items),
                  "files": [{"file": f"{p.parent.name}/{p.name}", "sha256": hashlib.sha256(p.read_bytes()).hexdigest()[:16]}
                            for p in paths], "date": time.strftime("%Y-%m-%d")}
    return AskedQuestions(vecs, tuple(writer_of(it.id) for it in items), np.array([it.answerable for it in items]),
                          evidence, tuple(tuple(it.must_contain) for it in items), tuple(it.question for it in items),
                          index.manifest["fingerprint"]["embedder"], provenance)


def main(args) -> int:
    import assistant

    from ..answer import doc2query

    t0 = time.perf_counter()
    index = assistant.get_index()
    keep_query_vectors(index)  # the bank's questions are embedded once per machine (embed_cache.QueryStore)
    out = Path(args.out) if args.out else index.cfg.doc2query
    store = build(index)
    store.save(out)
    doc2query.load.cache_clear()
    print(f"已写入 {len(store)} 道 train 题（{len(set(store.writers))} 位编写者）到 {out}"
          f"（{time.perf_counter() - t0:.1f} 秒）", file=sys.stderr)
    return 0
