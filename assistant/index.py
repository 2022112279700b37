"""Build, persist and load the hybrid index: FAISS (via llama-index) + BM25 (bm25s) + unit vectors.

Layout of `index/`:
    manifest.json        fingerprint + the name of the live build folder; replaced atomically
    build-<id>/          llama-index storage (docstore, FaissVectorStore), bm25s files,
                         chunks.json, units.json, units.npy (answer-unit embeddings)
A build writes a new build folder, then swaps manifest.json with os.replace, then removes old
folders: a build killed half-way leaves the previous index usable.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np
from llama_index.core import Settings, StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.vector_stores.faiss import FaissVectorStore

from .chunking import Chunk, Unit, chunk_documents, init_jieba, search_tokens
from .config import CODE_VERSION, Config
from .ingest.corpus import corpus_fingerprint, load_corpus
from .types import Document, Span
from .embed_cache import EmbeddingCache, embed_passages
from .embedding import embedder_id, make_embedder

with contextlib.redirect_stdout(io.StringIO()):  # it prints "LLM is explicitly disabled" to stdout
    Settings.llm = None  # llama-index must never reach for a default (OpenAI) LLM
# We hand llama-index finished nodes: its default SentenceSplitter would only load tiktoken's vocabulary
# (0.4 s idle, several on a busy machine) every time an index is constructed or loaded.
Settings.transformations = []
logging.getLogger("bm25s").setLevel(logging.ERROR)

# Above this many chunks exact flat search stops being the cheap part; switch to HNSW.
HNSW_ABOVE = 50_000
STALE_BUILD_S = 600  # superseded build folders younger than this are left for a concurrent builder


class IndexUnavailable(Exception):
    """The persisted index is missing, stale or damaged: the message says which, in one line."""


@dataclass
class Index:
    cfg: Config
    docs: dict[str, Document]
    chunks: list[Chunk]
    units: list[Unit]
    unit_vecs: np.ndarray
    vector_index: VectorStoreIndex
    bm25: bm25s.BM25
    embed: BaseEmbedding
    manifest: dict
    notice: str | None = None  # a one-line fact that holds while this index is served (e.g. memory only)
    rebuild_reason: str | None = None  # why open_index had to build it, if it did
    cache: dict = field(default_factory=dict, repr=False)  # derived tables (idf, ...) computed once

    def source(self, doc: str) -> str:
        return self.docs[doc].text

    def sources(self) -> dict[str, str]:
        """doc id -> full text: what citations and evidence spans are checked against."""
        return {d: doc.text for d, doc in self.docs.items()}

    def extra(self, name: str, build):
        if name not in self.cache:
            self.cache[name] = build()
        return self.cache[name]


def fingerprint(cfg: Config) -> dict:
    return {
        "corpus_sha256": corpus_fingerprint(cfg.corpus_dir),
        "embedder": embedder_id(cfg.embedder),
        "chunking": {"chunk_tokens": cfg.chunk_tokens, "overlap_tokens": cfg.overlap_tokens},
        "code_version": CODE_VERSION,
    }


def _unit_embed_text(u: Unit) -> str:
    context = u.company or u.section.split(" > ")[-1]
    return f"{context}：{u.text}"


def passage_texts(chunks: list[Chunk], units: list[Unit]) -> list[str]:
    """What a build embeds, in order: every chunk, then every answer unit."""
    return [c.embed_text for c in chunks] + [_unit_embed_text(u) for u in units]


def corpus_passages(cfg: Config) -> list[str]:
    """The passages a build of this configuration embeds (for refreshing the shipped cache)."""
    docs = load_corpus(cfg.corpus_dir)
    if not docs:
        raise IndexUnavailable(f"语料目录 {cfg.corpus_dir} 中没有 .txt/.md 文档")
    return passage_texts(*chunk_documents(docs, cfg))


def build_index(cfg: Config, embed: BaseEmbedding | None = None, progress: bool = True,
                log=lambda m: print(m, file=sys.stderr)) -> Index:
    t0 = time.perf_counter()
    docs = load_corpus(cfg.corpus_dir)
    if not docs:
        raise IndexUnavailable(f"语料目录 {cfg.corpus_dir} 中没有 .txt/.md 文档")
    chunks, units = chunk_documents(docs, cfg)
    embed = embed or make_embedder(cfg.embedder)
    cache = EmbeddingCache.open(embed, cfg.cache_dir, log) if cfg.embed_cache else None
    vecs, cache_stats = embed_passages(embed, passage_texts(chunks, units), cache, progress, log)
    chunk_vecs, unit_vecs = vecs[: len(chunks)], vecs[len(chunks):]

    dim = chunk_vecs.shape[1]
    faiss_index = (faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT) if len(chunks) > HNSW_ABOVE
                   else faiss.IndexFlatIP(dim))
    storage = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss_index))
    nodes = [_node(c, v) for c, v in zip(chunks, chunk_vecs)]
    vector_index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed, show_progress=False)

    bm25 = bm25s.BM25()
    bm25.index([search_tokens(c.embed_text) for c in chunks], show_progress=False)

    manifest = {"fingerprint": fingerprint(cfg), "chunks": len(chunks), "units": len(units),
                "docs": {d.doc: {"sha256": d.sha256, "title": d.title, "chars": len(d.text)} for d in docs},
                "embedding_cache": dict(cache_stats, used=cache is not None),
                "build_s": round(time.perf_counter() - t0, 2), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    index = Index(cfg, {d.doc: d for d in docs}, chunks, units, unit_vecs, vector_index, bm25, embed, manifest)
    try:
        _persist(index, cfg.index_dir)
    except OSError as e:
        index.notice = f"索引目录 {cfg.index_dir} 不可写（{e.strerror or e}），本次索引仅在内存中使用。"
        log(index.notice)
    return index


def _node(c: Chunk, vec: np.ndarray) -> TextNode:
    meta = {"chunk": c.id, "doc": c.doc, "start": c.start, "end": c.end, "section": c.section,
            "kind": c.kind, "company": c.company or ""}
    return TextNode(id_=f"c{c.id}", text=c.text, metadata=meta, embedding=vec.tolist(),
                    excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=list(meta))


def _persist(index: Index, index_dir: Path) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"build-{uuid.uuid4().hex[:12]}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir()
    try:
        index.vector_index.storage_context.persist(persist_dir=str(tmp))
        index.bm25.save(str(tmp / "bm25"), show_progress=False)
        np.save(tmp / "units.npy", index.unit_vecs)
        (tmp / "chunks.json").write_text(json.dumps([asdict(c) for c in index.chunks], ensure_ascii=False), "utf-8")
        (tmp / "units.json").write_text(json.dumps([asdict(u) for u in index.units], ensure_ascii=False), "utf-8")
        os.replace(tmp, index_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = dict(index.manifest, build=name)
    mtmp = index_dir / f".manifest-{name}.json"
    mtmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    os.replace(mtmp, index_dir / "manifest.json")  # the atomic switch to the new build
    index.manifest = manifest
    # Remove superseded builds, but only old ones: another process may be about to switch the
    # manifest to a build folder it has just written (two builds at once must both stay loadable).
    now = time.time()
    for old in index_dir.iterdir():
        if old.name != name and old.name.startswith(("build-", ".tmp-build-", ".manifest-")):
            try:
                if now - old.stat().st_mtime > STALE_BUILD_S:
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
            except OSError:
                pass


def load_index(cfg: Config, embed: BaseEmbedding | None = None) -> Index:
    """Load the persisted index, or raise IndexUnavailable with a one-line reason."""
    mpath = cfg.index_dir / "manifest.json"
    if not mpath.exists():
        raise IndexUnavailable("索引尚未构建")
    try:
        manifest = json.loads(mpath.read_text("utf-8"))
        build = cfg.index_dir / manifest["build"]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise IndexUnavailable("索引清单（manifest.json）已损坏")
    if manifest.get("fingerprint") != fingerprint(cfg):
        raise IndexUnavailable("索引已过期（语料、嵌入模型、分块设置或代码版本有变化）")
    try:
        docs = {d.doc: d for d in load_corpus(cfg.corpus_dir)}
        chunks = [Chunk(**c) for c in json.loads((build / "chunks.json").read_text("utf-8"))]
        units = [_unit_from_json(u) for u in json.loads((build / "units.json").read_text("utf-8"))]
        unit_vecs = np.load(build / "units.npy", allow_pickle=False)
        embed = embed or make_embedder(cfg.embedder)
        store = FaissVectorStore.from_persist_dir(str(build))
        storage = StorageContext.from_defaults(persist_dir=str(build), vector_store=store)
        vector_index = load_index_from_storage(storage, embed_model=embed)
        bm25 = bm25s.BM25.load(str(build / "bm25"), show_progress=False)
    except Exception as e:  # any damage to the files: truncated, garbage, missing
        raise IndexUnavailable(f"索引文件损坏或不完整（{type(e).__name__}）")
    _check_consistent(manifest, chunks, units, unit_vecs, store, docs)
    init_jieba(tuple(a for d in docs.values() for p in d.profiles for a in p.aliases))
    return Index(cfg, docs, chunks, units, unit_vecs, vector_index, bm25, embed, manifest)


def _unit_from_json(u: dict) -> Unit:
    u["spans"] = tuple(Span(**s) for s in u["spans"])
    return Unit(**u)


def _check_consistent(manifest, chunks, units, unit_vecs, store, docs) -> None:
    n = store.client.ntotal
    if not (len(chunks) == manifest.get("chunks") == n and len(units) == manifest.get("units") == len(unit_vecs)):
        raise IndexUnavailable("索引文件之间不一致")
    for c in chunks[:: max(1, len(chunks) // 50)]:
        if c.doc not in docs or docs[c.doc].text[c.start:c.end] != c.text:
            raise IndexUnavailable("索引与语料不一致")


def open_index(cfg: Config, embed: BaseEmbedding | None = None, force: bool = False,
               log=lambda m: print(m, file=sys.stderr)) -> Index:
    """The index, rebuilt if it is missing, stale or damaged: then one line says why as the build
    starts and one says it is ready (with where its vectors came from) as it ends."""
    if not force:
        try:
            return load_index(cfg, embed)
        except IndexUnavailable as e:
            reason = str(e)
    else:
        reason = "按要求重新构建"
    log(f"{reason}：正在构建索引……")
    try:
        index = build_index(cfg, embed=embed, log=log)
    except PermissionError:
        index = build_index(cfg.with_(index_dir=Path(tempfile.mkdtemp(prefix="assistant-index-"))), embed=embed, log=log)
    index.rebuild_reason = reason
    log(ready_line(index.manifest))
    return index


def ready_line(m: dict) -> str:
    cache = m.get("embedding_cache") or {}
    source = (f"；向量 {cache['cached']} 段取自嵌入缓存，{cache['embedded']} 段新嵌入" if cache.get("used")
              else "；未使用嵌入缓存" if cache else "")
    return f"索引就绪：{m['chunks']} 个分块，{m['units']} 个句子单元，用时 {m['build_s']} 秒{source}。"
