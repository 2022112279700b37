"""Chunker: exact spans, structure-first breaks, jieba-aware sizes, overlap, no split words or numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.chunking import chunk_documents, count_tokens, tokens
from assistant.text import NUMBER_WITH_UNIT
from assistant.config import ROOT, Config
from assistant.ingest.corpus import load_corpus


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ROOT / "corpus")


@pytest.fixture(scope="module")
def chunked(corpus):
    return chunk_documents(corpus, Config())


def test_chunk_and_unit_spans_are_exact(corpus, chunked):
    src = {d.doc: d.text for d in corpus}
    chunks, units = chunked
    assert len(chunks) > 150 and len(units) > 500
    for c in chunks:
        assert src[c.doc][c.start:c.end] == c.text
        assert c.section and c.kind in {"paragraph", "table", "profile", "footnote", "chart", "toc"}
    for u in units:
        for sp in u.spans:
            assert src[sp.doc][sp.start:sp.end] == sp.text


def test_chunks_stay_inside_one_section(corpus, chunked):
    chunks, _ = chunked
    doc = corpus[0]
    for c in chunks:
        if c.kind in ("paragraph", "footnote"):
            inner = [s for s in doc.sections if s.start < c.start < s.end or s.start < c.end - 1 < s.end]
            deepest = max(inner, key=lambda s: len(s.path), default=None)
            if deepest is not None:
                assert c.section.startswith(" > ".join(deepest.path[:1]))
                # no heading of another section lies strictly inside the chunk
                assert not any(c.start < s.start < c.end - 1 and len(s.path) >= len(deepest.path) for s in doc.sections
                               if " > ".join(s.path) not in c.section), c.text[:40]


def test_sizes_respect_the_token_budget(chunked):
    cfg = Config()
    chunks, _ = chunked
    for c in chunks:
        if c.kind == "paragraph":
            # a single sentence longer than the budget is split at clauses, so chunks stay near it
            assert count_tokens(c.text) <= cfg.chunk_tokens * 1.25, c.text[:40]


def test_consecutive_prose_chunks_overlap_by_whole_sentences(chunked):
    chunks, units = chunked
    overlaps = 0
    for a, b in zip(chunks, chunks[1:]):
        if a.kind == b.kind == "paragraph" and a.section == b.section and b.start < a.end:
            overlaps += 1
            shared = a.text[b.start - a.start:]
            assert b.text.startswith(shared)
            assert count_tokens(shared) <= Config().overlap_tokens
    assert overlaps > 5


def test_no_cut_inside_a_word_or_a_number(corpus, chunked):
    src = {d.doc: d.text for d in corpus}
    chunks, units = chunked
    boundaries = {(c.doc, c.start) for c in chunks} | {(c.doc, c.end) for c in chunks}
    boundaries |= {(sp.doc, sp.start) for u in units for sp in u.spans} | {(sp.doc, sp.end) for u in units for sp in u.spans}
    for doc, pos in boundaries:
        text = src[doc]
        for m in NUMBER_WITH_UNIT.finditer(text, max(0, pos - 12), min(len(text), pos + 12)):
            assert not (m.start() < pos < m.end()), text[m.start():m.end()]
        # a jieba word of the surrounding sentence never straddles the boundary
        window_start = max(0, pos - 20)
        pieces, off = tokens(text[window_start:pos + 20]), window_start
        for t in pieces:
            i = text.find(t, off)
            if i < 0:
                continue
            assert not (i < pos < i + len(t)) or not re.search(r"\w", t), (t, text[pos - 10:pos + 10])
            off = i + len(t)


def test_numbers_with_units_stay_whole(chunked):
    _, units = chunked
    texts = "\n".join(u.text for u in units)
    for needle in ("1.5万余件", "32.9%", "2023年7月", "1525家", "80万"):
        assert needle in texts


def test_structure_first_breaks_and_paths(chunked):
    chunks, units = chunked
    key = next(c for c in chunks if "广东省累计专精特新小巨人企业1525家" in c.text)
    assert "（一）区域分布" in key.section and key.embed_text.startswith("二 广东“小巨人”企业画像 > （一）区域分布")
    # every chunk of a profile names its company, and its embedded text says so
    for c in chunks:
        if c.kind == "profile":
            assert c.company and c.company in c.embed_text.split("\n", 1)[0]
    # a table row is never split: every row is one unit whose span is the whole row
    rows = [u for u in units if u.kind == "table"]
    assert rows and all("\n" not in u.spans[0].text for u in rows)


def test_profile_timeline_units_pair_date_and_event(chunked):
    _, units = chunked
    u = next(u for u in units if u.company == "深圳市普渡科技有限公司" and "注册成立" in u.text)
    assert [sp.text for sp in u.spans] == ["2016-01", "注册成立；"]
    assert "2016年1月" in u.text


def test_a_byline_is_one_unit_naming_the_author_with_every_title(chunked):
    """"周伟然是什么职位": the title lines alone do not say whose titles they are."""
    _, units = chunked
    bylines = [u for u in units if u.kind == "byline"]
    by_name = {u.spans[0].text: u for u in bylines}
    assert by_name["周伟然"].text == "周伟然：普华永道全球科技媒体 电信行业主管合伙人"
    assert [sp.text for sp in by_name["袁锋"].spans] == ["袁锋", "芯联集成联合创始人", "芯联动力董事长", "芯联资本执行事务合伙人"]
    assert by_name["广东省粤科金融集团有限公司"].text == "广东省粤科金融集团有限公司"
    assert len(bylines) == 3


def test_chunk_size_setting_changes_packing(corpus):
    small, _ = chunk_documents(corpus, Config(chunk_tokens=60, overlap_tokens=0))
    large, _ = chunk_documents(corpus, Config(chunk_tokens=320, overlap_tokens=0))
    assert len(small) > len(large)


def test_a_new_document_is_chunked_too(tmp_path: Path):
    (tmp_path / "policy.txt").write_text("示例政策\n\n第一条 为支持专精特新企业发展，设立专项资金100万元。第二条 本办法自发布之日起施行。\n", "utf-8")
    chunks, units = chunk_documents(load_corpus(tmp_path), Config())
    assert chunks and all(c.doc == "policy" for c in chunks)
    assert any("100万元" in u.text for u in units)
