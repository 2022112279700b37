"""Parser: parts, sections, profiles with timelines, tables, footnotes; every offset round-trips."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from assistant.config import ROOT
from assistant.ingest.corpus import load_corpus, parse_document

HANDBOOK = ROOT / "corpus" / "handbook.txt"
SHARED = ROOT.parent / "shared" / "corpus" / "handbook.txt"


@pytest.fixture(scope="module")
def doc():
    return parse_document(HANDBOOK)


def test_handbook_is_the_shared_file_byte_for_byte():
    data = HANDBOOK.read_bytes()
    assert hashlib.sha256(data).hexdigest() == "c91156e1592ff5602c44320d7af8d84d83366b907eac53f77bcb66537d8f9331"
    if SHARED.exists():
        assert data == SHARED.read_bytes()


def test_every_node_round_trips(doc):
    for b in doc.blocks:
        assert doc.text[b.start:b.end] == b.text
    for s in doc.sections:
        assert 0 <= s.start < s.end <= len(doc.text)
    for p in doc.profiles:
        spans = [p.name_span, p.title, p.intro] + [x for t in p.timeline for x in (t.date, t.event)]
        spans += [h for hs in p.highlights.values() for h in hs]
        for sp in spans:
            assert sp is not None and doc.text[sp.start:sp.end] == sp.text


def test_parts_and_city_sections(doc):
    parts = {s.path[0] for s in doc.sections}
    for expected in ("前言", "一 “专精特新”企业培育历程", "二 广东“小巨人”企业画像", "三 广东“小巨人”成长需求",
                     "四 长三角“小巨人”培育经验启示", "五 新型工业化时代的广东“小巨人”成长路径", "六 广东“小巨人”城市篇"):
        assert expected in parts
    cities = {s.path[1] for s in doc.sections if s.path[0].startswith("六") and len(s.path) > 1}
    assert cities == {"广州篇", "深圳篇", "佛山篇", "东莞篇"}


def test_section_paths_carry_the_numbered_headings(doc):
    paths = {" > ".join(s.path) for s in doc.sections}
    assert "六 广东“小巨人”城市篇 > 深圳篇 > 深圳“小巨人”画像 > （三）研发能力：深圳“小巨人”研发实力领跑全省" in paths
    # body headings lack the TOC's （一）; the parser restores it from the table of contents
    assert "二 广东“小巨人”企业画像 > （一）区域分布：深广莞佛“小巨人”占比超八成" in paths
    assert any(p.startswith("二 广东“小巨人”企业画像 > 专家视点：") and p.endswith("（周伟然）") for p in paths)


def test_key_sentence_sits_under_its_own_heading(doc):
    block = next(b for b in doc.blocks if "广东省累计专精特新小巨人企业1525家" in b.text)
    assert block.path[-1].startswith("（一）区域分布")


def test_page_break_split_sentence_is_one_paragraph(doc):
    block = next(b for b in doc.blocks if "广东“小巨人”上市" in b.text and "的比例仅16%左右" in b.text)
    assert block.kind == "paragraph"


def test_layout_noise_is_dropped(doc):
    for b in doc.blocks:
        if b.kind == "profile":
            continue
        assert b.text.strip() not in ("<hr/>", "企业亮点 |||", "特别呈献：")
        assert not b.text.startswith("企业亮点")


EXPECTED_PROFILES = {
    # name: (city, first timeline entry, number of timeline entries, highlight categories)
    "云从科技集团股份有限公司": ("广州", ("2015-03", "注册成立；"), 4, {"特色化", "创新性"}),
    "广州鲁邦通物联网科技股份有限公司": ("广州", ("2010-05", "注册成立；"), 4, {"特色化", "精细化", "创新性"}),
    "宏景科技股份有限公司": ("广州", ("1997-03", "注册成立；"), 4, {"专业化", "特色化", "创新性"}),
    "影石创新科技股份有限公司": ("深圳", ("2015-07", "注册成立；"), 4, {"专业化", "创新性"}),
    "欣旺达动力科技股份有限公司": ("深圳", ("2014-10", "注册成立；"), 3, {"专业化", "精细化", "创新性"}),
    "深圳市普渡科技有限公司": ("深圳", ("2016-01", "注册成立；"), 3, {"专业化", "创新性"}),
    "广东广宇科技发展有限公司": ("佛山", ("2009-11", "注册成立；"), 3, {"专业化", "创新性"}),
    "广东创兴精密制造股份有限公司": ("佛山", ("2002-04", "注册成立；"), 4, {"专业化", "精细化"}),
    "佛山市国星半导体技术有限公司": ("佛山", ("2011-03", "注册成立；"), 3, {"专业化", "创新性"}),
    "广东思谷智能技术有限公司": ("东莞", ("2010-05", "注册成立；"), 3, {"专业化", "创新性"}),
    "广东优力普物联科技有限公司": ("东莞", ("2014-01", "注册成立；"), 3, {"特色化", "创新性"}),
    "广东中贝能源科技有限公司": ("东莞", ("2008-02", "注册成立；"), 3, {"精细化", "特色化", "创新性"}),
}


def test_all_twelve_profiles(doc):
    got = {p.name: p for p in doc.profiles}
    assert set(got) == set(EXPECTED_PROFILES)
    for name, (city, (date, event), n, cats) in EXPECTED_PROFILES.items():
        p = got[name]
        assert p.city == city, name
        assert p.title is not None and p.intro is not None and len(p.intro.text) > 10, name
        assert len(p.timeline) == n, name
        assert (p.timeline[0].date.text, p.timeline[0].event.text) == (date, event), name
        assert set(p.highlights) == cats and all(p.highlights.values()), name
        assert p.path[-1] == name and p.path[1] == f"{city}篇"


def test_timeline_pairs_dates_with_events_in_block_layout(doc):
    # 影石: four dates first, then four events
    p = next(p for p in doc.profiles if p.name.startswith("影石"))
    pairs = [(t.date.text, t.event.text) for t in p.timeline]
    assert pairs[1] == ("2021-11", "被评为国家级制造业单项冠军产品企业；")
    assert pairs[3] == ("2023-12", "被评为国家级高新技术企业。")


def test_timeline_joins_events_broken_over_lines(doc):
    p = next(p for p in doc.profiles if p.name.startswith("广东思谷"))
    assert p.timeline[2].date.text == "2023-07"
    assert p.timeline[2].event.text.startswith("被评为国家级专精特新") and p.timeline[2].event.text.endswith("“小巨人”企业。")


def test_company_aliases(doc):
    aliases = {p.name: p.aliases for p in doc.profiles}
    assert "普渡科技" in aliases["深圳市普渡科技有限公司"] and "普渡" in aliases["深圳市普渡科技有限公司"]
    assert "云从科技" in aliases["云从科技集团股份有限公司"]
    assert "国星半导体" in aliases["佛山市国星半导体技术有限公司"]


def test_tables(doc):
    rows = [b for b in doc.blocks if b.kind == "table_row"]
    investor = [b for b in rows if b.table and "获最多机构投资" in b.table]
    assert len(investor) == 10 and investor[0].text.startswith("深圳基本半导体有限公司\t")
    yangtze = [b for b in rows if b.table and "部分长三角城市" in b.table]
    assert [b.text.split("\t")[0] for b in yangtze] == ["苏州", "南京", "杭州", "宁波"]
    assert all("<ul" in b.text for b in yangtze)
    manufacturing = [b for b in rows if b.table and "珠三角城市群制造业" in b.table]
    assert len(manufacturing) == 23 and manufacturing[0].text.endswith("314")


def test_footnotes_are_linked(doc):
    b = next(b for b in doc.blocks if "广东省累计专精特新小巨人企业1525家^[1]" in b.text)
    (n, s, e), = b.footnotes
    assert n == 1 and doc.text[s:e].startswith("^[1] 报告全文所用的")
    b5 = next(b for b in doc.blocks if "它投资的“小巨人”达298家^[5]" in b.text)
    assert doc.text[b5.footnotes[0][1]:b5.footnotes[0][2]] == "^[5] 数据来源：深圳特区报"


def test_charts_that_lost_their_numbers_are_kept_as_captions(doc):
    charts = [b for b in doc.blocks if b.kind == "chart"]
    assert any(b.text.startswith("广东各市“小巨人”上市企业数量分布") for b in charts)


def test_another_document_in_the_corpus_folder_just_works(tmp_path: Path):
    shutil.copy(HANDBOOK, tmp_path / "handbook.txt")
    (tmp_path / "policy.txt").write_text("示例政策\n\n第一条 为支持专精特新企业发展，设立专项资金100万元。\n", "utf-8")
    docs = {d.doc: d for d in load_corpus(tmp_path)}
    assert set(docs) == {"handbook", "policy"}
    assert any("100万元" in b.text for b in docs["policy"].blocks)
    assert len(docs["handbook"].profiles) == 12


@pytest.mark.parametrize("question,asks", [
    ("普渡科技是做什么的？", True),
    ("最后那家做啥产品的", True),
    ("影石创新主营什么", True),
    ("普渡科技什么时候成立的？", False),
    ("普渡科技的产品卖到多少个国家", False),
])
def test_a_question_asks_what_a_company_does(question, asks):
    from assistant.ingest.profiles import asks_business
    assert asks_business(question) is asks
