"""Fault injection on the persisted index: every fault is detected, reported in one line, and the
index is rebuilt (or served from memory): never a traceback, never an answer from a stale index.

Every test works on a COPY of the live index (manifest + live build folder) in a temp dir; the real
index/ is only ever read. Full rebuilds with the real embedder cost ~70 s each, so there are two
(corpus edited; index folder not writable). Detection of the other faults is asserted through
`load_index` raising `IndexUnavailable`, and `open_index`'s reporting through a stand-in build that
returns the already-built index: the reporting path is the same, only the embedding is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import assistant
import assistant.index as index_mod
from assistant.index import IndexUnavailable, fingerprint, load_index, open_index

PROBE = "深圳有多少家上市小巨人？"
MESSAGES = {  # the one-line reasons load_index may give
    "missing": "索引尚未构建",
    "manifest": "索引清单（manifest.json）已损坏",
    "stale": "索引已过期（语料、嵌入模型、分块设置或代码版本有变化）",
    "files": "索引文件损坏或不完整（",
    "inconsistent": "索引文件之间不一致",
    "corpus": "索引与语料不一致",
}
BUILD_FILES = ["chunks.json", "units.json", "units.npy", "docstore.json", "default__vector_store.json",
               "index_store.json", "graph_store.json", "image__vector_store.json", "bm25/data.csc.index.npy",
               "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy", "bm25/params.index.json",
               "bm25/vocab.index.json"]
# Files without which no index can be served: any damage to them must be detected.
ESSENTIAL = {"chunks.json", "units.json", "units.npy", "docstore.json", "default__vector_store.json",
             "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy", "bm25/vocab.index.json"}
APPENDED = "截至2024年底，海南省共有88家国家级专精特新“小巨人”企业。"
APPENDED_Q = "海南省有多少家国家级专精特新“小巨人”企业？"


# ---------------------------------------------------------------- helpers

def copy_index(src_dir: Path, dst_dir: Path) -> str:
    """Copy manifest + its live build folder; retry if a concurrent build swaps them meanwhile."""
    for _ in range(5):
        manifest = json.loads((src_dir / "manifest.json").read_text("utf-8"))
        try:
            shutil.copytree(src_dir / manifest["build"], dst_dir / manifest["build"])
        except (FileNotFoundError, shutil.Error):
            shutil.rmtree(dst_dir, ignore_errors=True)
            time.sleep(1)
            continue
        (dst_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
        return manifest["build"]
    pytest.fail("could not copy a stable index (concurrent rebuilds of index/)")


def answer_key(a) -> tuple:
    return a.answer, a.refused, [(c.doc, c.start, c.end, c.quote) for c in a.citations]


def check_citations(a, docs) -> None:
    for c in a.citations:
        assert c.quote == docs[c.doc].text[c.start:c.end], c


@pytest.fixture(scope="module")
def reference(index):
    return answer_key(assistant.ask(PROBE, index=index))


@pytest.fixture
def copied(index, config, tmp_path):
    """(Config pointing at a private copy of the index, live build folder of the copy)."""
    d = tmp_path / "index"
    d.mkdir()
    build = copy_index(config.index_dir, d)
    return config.with_(index_dir=d), d / build


@pytest.fixture
def stand_in_build(index, monkeypatch):
    """open_index's rebuild, minus the 70 s of embedding: returns the already-built index."""
    calls = []

    def fake(cfg, embed=None, progress=True, log=None):
        calls.append(cfg)
        return dataclasses.replace(index, cfg=cfg, notice=None)

    monkeypatch.setattr(index_mod, "build_index", fake)
    return calls


def expect_detected_and_reported(cfg, index, calls, reference, expected: tuple[str, ...] | None = None) -> str:
    """open_index either serves the copy as is (then it must answer like the live index) or reports the
    fault in one line and rebuilds. Returns the reason, or "" when the copy was served."""
    lines: list[str] = []
    got = open_index(cfg, embed=index.embed, log=lines.append)
    assert all("\n" not in line for line in lines), lines
    if not calls:
        assert lines == []
        assert answer_key(assistant.ask(PROBE, index=got)) == reference
        return ""
    reason = lines[0].removesuffix("：正在构建索引……")
    assert lines[0].endswith("：正在构建索引……") and any(reason.startswith(m) for m in MESSAGES.values()), lines
    if expected:
        assert reason.startswith(expected), reason
    assert got.rebuild_reason == reason and got.notice is None  # a past rebuild is not news on the page
    return reason


def damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    elif how == "truncate_empty":
        path.write_bytes(b"")
    elif how == "truncate_half":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(max(64, path.stat().st_size)))
    else:
        raise ValueError(how)


# ---------------------------------------------------------------- detection (no rebuilds)

def test_copy_loads_and_answers_like_the_live_index(copied, index, reference):
    cfg, _ = copied
    assert answer_key(assistant.ask(PROBE, index=load_index(cfg, embed=index.embed))) == reference


@pytest.mark.parametrize("how", ["delete", "truncate_empty", "truncate_half", "garbage"])
@pytest.mark.parametrize("name", BUILD_FILES)
def test_damaged_build_file(copied, index, reference, stand_in_build, name, how):
    cfg, build = copied
    if not (build / name).exists():
        pytest.skip(f"{name} is not part of this index layout")
    damage(build / name, how)
    if name in ESSENTIAL:
        with pytest.raises(IndexUnavailable) as e:
            load_index(cfg, embed=index.embed)
        assert str(e.value).startswith((MESSAGES["files"], MESSAGES["inconsistent"])) and "\n" not in str(e.value)
    expect_detected_and_reported(cfg, index, stand_in_build, reference)


def test_build_folder_deleted(copied, index, reference, stand_in_build):
    cfg, build = copied
    shutil.rmtree(build)
    with pytest.raises(IndexUnavailable, match="^索引文件损坏或不完整"):
        load_index(cfg, embed=index.embed)
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference)


def test_manifest_deleted(copied, index, reference, stand_in_build):
    cfg, _ = copied
    (cfg.index_dir / "manifest.json").unlink()
    with pytest.raises(IndexUnavailable, match=f"^{MESSAGES['missing']}$"):
        load_index(cfg, embed=index.embed)
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference, (MESSAGES["missing"],))


MANIFEST_GARBAGE = {
    "random_bytes": os.urandom(300),
    "empty": b"",
    "truncated": None,  # first half of the real manifest
    "null": b"null",
    "list": b"[]",
    "string": b'"build-x"',
    "empty_object": b"{}",
    "build_not_a_string": b'{"build": 5}',
    "build_escapes": b'{"build": "../../.."}',
    "not_utf8": b"\xff\xfe{\x00",
}


@pytest.mark.parametrize("kind", MANIFEST_GARBAGE)
def test_manifest_garbage(copied, index, reference, stand_in_build, kind):
    cfg, _ = copied
    m = cfg.index_dir / "manifest.json"
    data = MANIFEST_GARBAGE[kind]
    m.write_bytes(m.read_bytes()[: m.stat().st_size // 2] if data is None else data)
    with pytest.raises(IndexUnavailable) as e:
        load_index(cfg, embed=index.embed)
    assert str(e.value) in (MESSAGES["manifest"], MESSAGES["stale"])
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference)


def test_manifest_unreadable(copied, index, reference, stand_in_build):
    """An unreadable manifest (a folder here; EACCES for a non-root user) escaped as OSError (fixed in 31f8b0a)."""
    cfg, _ = copied
    (cfg.index_dir / "manifest.json").unlink()
    (cfg.index_dir / "manifest.json").mkdir()
    with pytest.raises(IndexUnavailable, match=f"^{MESSAGES['manifest']}$"):
        load_index(cfg, embed=index.embed)
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference, (MESSAGES["manifest"],))


@pytest.mark.parametrize("field,value", [
    ("corpus_sha256", "0" * 64),  # a manifest from another corpus
    ("embedder", "st:some-other-model@sentence-transformers==0"),
    ("code_version", "0"),
    ("chunking", {"chunk_tokens": 1, "overlap_tokens": 0}),
])
def test_manifest_from_elsewhere(copied, index, reference, stand_in_build, field, value):
    cfg, _ = copied
    m = cfg.index_dir / "manifest.json"
    manifest = json.loads(m.read_text("utf-8"))
    manifest["fingerprint"][field] = value
    m.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexUnavailable, match=f"^{MESSAGES['stale']}$"):
        load_index(cfg, embed=index.embed)
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference, (MESSAGES["stale"],))


def test_build_files_inconsistent(copied, index, stand_in_build, reference):
    """Files of the build agree with the manifest's counts but not with each other: chunks.json cut short."""
    cfg, build = copied
    chunks = json.loads((build / "chunks.json").read_text("utf-8"))
    (build / "chunks.json").write_text(json.dumps(chunks[:-1], ensure_ascii=False), "utf-8")
    with pytest.raises(IndexUnavailable, match=f"^{MESSAGES['inconsistent']}$"):
        load_index(cfg, embed=index.embed)
    assert expect_detected_and_reported(cfg, index, stand_in_build, reference, (MESSAGES["inconsistent"],))


def test_read_only_folder_still_serves(copied, index, reference):
    """A valid index in a folder the server cannot write: loading needs no write access."""
    cfg, build = copied
    for p in [cfg.index_dir, build, *build.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        assert answer_key(assistant.ask(PROBE, index=load_index(cfg, embed=index.embed))) == reference
    finally:
        for p in [cfg.index_dir, build, *build.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


# ---------------------------------------------------------------- killed builds (no full rebuild)

def test_build_killed_during_embedding(copied, index, reference):
    """`assistant build --force --no-cache` into the copy, SIGKILLed while it embeds: the old index still serves.
    (--no-cache: with the embedding cache the build would be over before the kill.)"""
    cfg, build = copied
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(cfg.index_dir), ASSISTANT_CORPUS_DIR=str(cfg.corpus_dir))
    exe = Path(sys.executable).parent / "assistant"
    p = subprocess.Popen([str(exe), "build", "--force", "--no-cache"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in p.stderr:  # "按要求重新构建：正在构建索引……" once the build has begun
            seen.append(line)
            if "正在构建索引" in line:
                break
        assert seen and "正在构建索引" in seen[-1], seen
        time.sleep(3)
        assert p.poll() is None, "the build finished before it could be killed"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert json.loads((cfg.index_dir / "manifest.json").read_text("utf-8"))["build"] == build.name
    assert answer_key(assistant.ask(PROBE, index=load_index(cfg, embed=index.embed))) == reference


# The child builds with llama-index's MockEmbedding (constant vectors: the persistence protocol is under
# test here, not retrieval) and SIGKILLs itself at a chosen point of _persist.
KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import assistant.index as ix
    from assistant.config import Config
    from llama_index.core.embeddings import MockEmbedding

    point, index_dir = sys.argv[1], Path(sys.argv[2])
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if point == "mid_build_folder":  # first np.save (bm25s arrays / units.npy): the build folder half-written
        ix.np.save = lambda *a, **k: die()
    elif point == "before_manifest_switch":  # new build folder complete, manifest not yet replaced
        real = ix.os.replace
        ix.os.replace = lambda src, dst: die() if Path(dst).name == "manifest.json" else real(src, dst)
    elif point == "pause_before_manifest_switch":  # wait for a go-file, then carry on
        import time
        real, go = ix.os.replace, Path(sys.argv[3])

        def slow(src, dst):
            if Path(dst).name == "manifest.json":
                (index_dir.parent / "paused").touch()
                while not go.exists():
                    time.sleep(0.05)
            return real(src, dst)
        ix.os.replace = slow
    ix.build_index(Config(index_dir=index_dir), embed=MockEmbedding(embed_dim=384), progress=False)
    print("survived")
""")


@pytest.mark.parametrize("point", ["mid_build_folder", "before_manifest_switch"])
def test_build_killed_while_persisting(copied, index, reference, point):
    cfg, build = copied
    p = subprocess.run([sys.executable, "-c", KILL_CHILD, point, str(cfg.index_dir)], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stdout, p.stderr[-2000:])
    leftovers = {q.name for q in cfg.index_dir.iterdir()} - {"manifest.json", build.name}
    assert leftovers, "the kill point was not reached: nothing half-written to test against"
    assert json.loads((cfg.index_dir / "manifest.json").read_text("utf-8"))["build"] == build.name
    assert answer_key(assistant.ask(PROBE, index=load_index(cfg, embed=index.embed))) == reference


def test_concurrent_builds_leave_a_loadable_index(copied, index):
    """Two processes rebuild the same index/ (the UI server and `assistant build`, say): A finishes its build
    folder and is about to switch the manifest when B runs a whole build. The index must still load.
    (Before 31f8b0a each build deleted the other's folder: manifest.json named a deleted build.)"""
    cfg, _ = copied
    go = cfg.index_dir.parent / "go"
    a = subprocess.Popen([sys.executable, "-c", KILL_CHILD, "pause_before_manifest_switch", str(cfg.index_dir), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (cfg.index_dir.parent / "paused").exists():
            assert a.poll() is None and time.monotonic() < deadline, a.stderr.read()[-2000:] if a.poll() is not None else "timeout"
            time.sleep(0.1)
        b = subprocess.run([sys.executable, "-c", KILL_CHILD, "none", str(cfg.index_dir)], capture_output=True, text=True,
                           timeout=600)
        assert b.returncode == 0 and "survived" in b.stdout, b.stderr[-2000:]
    finally:
        go.touch()
        out, err = a.communicate(timeout=600)
    assert a.returncode == 0 and "survived" in out, err[-2000:]
    load_index(cfg, embed=index.embed)


# ---------------------------------------------------------------- full rebuilds (2 × ~70 s)

def test_corpus_edited_after_build(copied, index, config, tmp_path):
    """One sentence appended to a copy of the corpus: detected as stale, rebuilt, and the answer comes
    from the NEW text (the appended sentence is only findable in a rebuilt index)."""
    cfg, _ = copied
    corpus = tmp_path / "corpus"
    shutil.copytree(config.corpus_dir, corpus)
    hb = corpus / "handbook.txt"
    old = hb.read_text("utf-8")
    hb.write_text(old.rstrip("\n") + "\n\n" + APPENDED + "\n", "utf-8")
    cfg = cfg.with_(corpus_dir=corpus)
    with pytest.raises(IndexUnavailable, match=f"^{MESSAGES['stale']}$"):
        load_index(cfg, embed=index.embed)

    lines: list[str] = []
    rebuilt = open_index(cfg, embed=index.embed, log=lines.append)
    assert lines[0] == f"{MESSAGES['stale']}：正在构建索引……" and all("\n" not in x for x in lines), lines
    assert rebuilt.rebuild_reason == MESSAGES["stale"] and rebuilt.notice is None
    assert rebuilt.manifest["fingerprint"] == fingerprint(cfg)
    new_text = rebuilt.docs["handbook"].text
    start = new_text.index(APPENDED)
    assert start >= len(old.rstrip("\n"))

    hits = assistant.search(APPENDED_Q, k=5, index=rebuilt)
    assert any(h.chunk.doc == "handbook" and h.chunk.start <= start < h.chunk.end for h in hits), [h.chunk.text[:40] for h in hits]
    a = assistant.ask(APPENDED_Q, index=rebuilt)
    check_citations(a, rebuilt.docs)
    assert not a.refused and "88家" in a.answer, a.answer
    assert any(c.start >= start for c in a.citations)
    # The rebuilt index was persisted: a restart loads it without another build, and agrees.
    again = load_index(cfg, embed=index.embed)
    assert answer_key(assistant.ask(APPENDED_Q, index=again)) == answer_key(a)


def _unwritable_index_dir(tmp_path: Path) -> Path:
    """A folder the process cannot create or write. As root, permissions do not stop writes, so use a
    path under a regular file (mkdir fails with NotADirectoryError); otherwise a chmod 555 folder."""
    if os.geteuid() == 0:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a regular file where a folder would have to be")
        return blocker / "index"
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d / "index"


def test_index_folder_not_writable(index, config, tmp_path, reference):
    cfg = config.with_(index_dir=_unwritable_index_dir(tmp_path))
    lines: list[str] = []
    served = open_index(cfg, embed=index.embed, log=lines.append)
    assert lines[0] == f"{MESSAGES['missing']}：正在构建索引……", lines
    assert any(x.startswith(f"索引目录 {cfg.index_dir} 不可写") and x.endswith("本次索引仅在内存中使用。") for x in lines), lines
    assert all("\n" not in x for x in lines)
    assert served.notice and "仅在内存中使用" in served.notice
    assert answer_key(assistant.ask(PROBE, index=served)) == reference  # served from memory, same answer
    assert not cfg.index_dir.exists()
