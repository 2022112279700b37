"""The lexicon of the handbook's abbreviations and synonyms: every entry against the handbook and its example."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.lexicon import alternatives, expansion, load, matches, normal
from assistant.chunking import search_tokens
from assistant.retrieval import keyword_tokens

HANDBOOK = Path(__file__).resolve().parents[2] / "corpus" / "handbook.txt"
LINES = HANDBOOK.read_text("utf-8").split("\n")
TEXT = "\n".join(LINES)
ENTRIES = load()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.key)
def test_entry_stands_in_the_handbook_where_it_says(entry):
    assert entry.quote in LINES[entry.line - 1], f"line {entry.line} does not hold {entry.quote!r}"
    assert entry.key in entry.quote
    for form in entry.handbook_forms:
        assert form in TEXT, f"{form!r} is not in the handbook"
    if entry.members:
        line = LINES[entry.members_line - 1]
        assert all(m in line for m in entry.members), f"line {entry.members_line} does not list {entry.members}"
    assert entry.basis in ("handbook", "common usage")
    assert entry.basis == "handbook" or not entry.handbook


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.key)
def test_example_query_gets_the_handbook_form(entry):
    assert any(m.entry is entry for m in matches(entry.example))
    assert entry.key in expansion(entry.example)
    # and a sentence holding the handbook form covers the example's own term
    alts = alternatives(entry.example, search_tokens(entry.example))
    assert any(entry.key.lower() in a or any(f.lower() in a for f in entry.handbook_forms) for v in alts.values() for a in v), alts


def test_every_form_belongs_to_one_entry():
    seen: dict[str, str] = {}
    for e in ENTRIES:
        for f in e.forms:
            assert len(normal(f)) >= 2, f
            assert normal(f) not in seen, f"{f!r} is in {seen.get(normal(f))} and {e.key}"
            seen[normal(f)] = e.key


def test_latin_forms_match_whole_words_only():
    assert not [m for m in matches("open source 的企业有哪些") if m.entry.key == "股权投资"]
    assert [m.entry.key for m in matches("有哪些PE投了小巨人")] == ["股权投资"]


def test_a_question_gets_the_other_handbook_forms_but_not_a_longer_one_of_its_own():
    assert expansion("工业信息化部公布了多少家小巨人") == ["工信部", "工业和信息化部", "国家工信部"]
    assert expansion("工信部公布了多少家小巨人") == ["工业和信息化部"]
    assert expansion("国家工信部公布了多少家小巨人") == ["工业和信息化部"]


def test_bm25_tokens_keep_the_question_and_add_only_new_ones():
    q = "广东有多少小巨人完成了IPO？"
    toks, own = keyword_tokens(q), search_tokens(q)
    added = toks[len(own):]
    assert toks[: len(own)] == own and "上市" in added
    assert len(added) == len(set(added)) and not set(added) & set(own)
    plain = "深圳的小巨人有多少家？"
    assert keyword_tokens(plain) == search_tokens(plain)


def test_terms_of_a_phrase_are_covered_by_its_equivalent():
    alts = alternatives("欣旺达动力的研发费用有多少？", ["欣旺达", "研发", "费用"])
    assert "研发投入" in alts["费用"]
    assert "欣旺达" not in alts


def test_members_named_in_full_are_covered_by_the_group_name():
    q = "深圳、广州、东莞、佛山的小巨人占全省多少？"
    assert "深广莞佛" in expansion(q)
    assert alternatives(q, ["深圳", "全省"]) == {"深圳": ("深广莞佛",), "全省": ("广东", "广东省")}
    assert "深广莞佛" not in expansion("深圳和广州的小巨人谁多？")
