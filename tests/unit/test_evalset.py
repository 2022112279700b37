"""Eval set loading and validation, against the real handbook."""

from __future__ import annotations

import json

import pytest

from assistant.config import ROOT
from assistant.devtools.evalset import FIELDS, EvalItem, EvalSetError, find_spans, load, read_jsonl, to_items, validate

GOOD = {"id": "t001", "question": "全国一共有多少家国家级专精特新小巨人？", "answerable": True,
        "answer": "手册前言称，国家级专精特新“小巨人”达到1.2万家。", "must_contain": ["1.2万家"],
        "evidence": ["国家级专精特新“小巨人”达到1.2万家，专精特新中小企业10.3万家"],
        "category": "number", "difficulty": "easy"}
UNANSWERABLE = {"id": "t002", "question": "火星上有多少家小巨人？", "answerable": False, "answer": "",
                "must_contain": [], "evidence": [], "category": "unanswerable", "difficulty": "easy"}


@pytest.fixture(scope="module")
def sources(handbook_text):
    return {"handbook": handbook_text}


def write(tmp_path, records, name="set.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return p


@pytest.mark.parametrize("name", ["qa.jsonl", "holdout.jsonl"])
def test_shipped_sets_are_valid(name, sources):
    records = read_jsonl(ROOT / "eval" / name)
    assert validate(records, sources) == []
    items = load(ROOT / "eval" / name, sources)
    assert len(items) == len(records) and all(isinstance(i, EvalItem) for i in items)
    assert len({i.id for i in items}) == len(items)
    # the validator also accepts items it produced itself
    assert validate(items, sources) == []


def test_good_records_pass(sources):
    assert validate([GOOD, UNANSWERABLE], sources) == []


def _without(rec, key):
    return {k: v for k, v in rec.items() if k != key}


BAD = {
    "missing field": ([_without(GOOD, "evidence")], "缺少字段 evidence"),
    "extra field": ([{**GOOD, "source": "p3"}], "多余字段 source"),
    "bad category": ([{**GOOD, "category": "numbers"}], "category"),
    "bad difficulty": ([{**GOOD, "difficulty": "trivial"}], "difficulty"),
    "evidence not in document": ([{**GOOD, "evidence": ["这句话并不在手册里出现，它是编出来的证据文本。"]}], "找不到"),
    "must_contain not in document": ([{**GOOD, "must_contain": ["9.99万家"]}], "找不到"),
    "duplicate id": ([GOOD, {**UNANSWERABLE, "id": GOOD["id"]}], "重复"),
    "unanswerable with must_contain": ([{**UNANSWERABLE, "must_contain": ["1.2万家"]}], "必须为空"),
    "unanswerable with answer": ([{**UNANSWERABLE, "answer": "1.2万家"}], "必须为空"),
    "answerable without evidence": ([{**GOOD, "evidence": []}], "不能为空"),
    "evidence too short": ([{**GOOD, "evidence": ["达到1.2万家"]}], "长度"),
    "evidence too long": ([{**GOOD, "evidence": [GOOD["evidence"][0] * 3]}], "长度"),
    "answerable flag disagrees with category": ([{**GOOD, "answerable": False, "answer": "", "must_contain": [],
                                                  "evidence": []}], "不一致"),
    "answerable not a bool": ([{**GOOD, "answerable": "yes"}], "answerable"),
    "evidence not a list": ([{**GOOD, "evidence": GOOD["evidence"][0]}], "evidence"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_records_are_rejected(case, sources):
    records, expected = BAD[case]
    problems = validate(records, sources)
    assert problems, case
    assert any(expected in p for p in problems), problems


def test_bad_file_fails_load_with_one_chinese_line(tmp_path, sources):
    p = write(tmp_path, [GOOD, {**GOOD, "category": "numbers"}])
    with pytest.raises(EvalSetError) as e:
        load(p, sources)
    msg = str(e.value)
    assert "\n" not in msg and "无效" in msg and "第 2 行" in msg


@pytest.mark.parametrize("content, expected", [
    ('{"id": "x"\n', "第 1 行不是合法的 JSON"),
    ("[1, 2]\n", "JSON 对象"),
    ("\n\n", "空的"),
])
def test_unreadable_files(tmp_path, content, expected):
    p = tmp_path / "x.jsonl"
    p.write_text(content, "utf-8")
    with pytest.raises(EvalSetError, match=expected):
        read_jsonl(p)
    with pytest.raises(EvalSetError, match="不存在"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_format_only_check_without_sources():
    # no sources: format checked, document occurrence not (the CLI's fast first pass)
    rec = {**GOOD, "evidence": ["这句话并不在手册里出现，它是编出来的证据文本。"]}
    assert validate([rec], None) == []
    assert validate([_without(rec, "id")], None)


def test_every_field_is_required(sources):
    for f in FIELDS:
        assert any(f"缺少字段 {f}" in p for p in validate([_without(GOOD, f)], sources)), f


def test_find_spans_finds_every_occurrence(sources, handbook_text):
    text = "专精特新“小巨人”"
    spans = find_spans(text, sources)
    assert len(spans) == handbook_text.count(text) > 1
    assert all(handbook_text[s.start:s.end] == text for s in spans)
    assert find_spans("月球上的小巨人", sources) == []


def test_evidence_may_span_lines(sources, handbook_text):
    # a 30-character window across a line break of the handbook is valid evidence
    i = next(i for i in range(1000, len(handbook_text)) if handbook_text[i] == "\n"
             and handbook_text[i - 15:i].strip() and handbook_text[i + 1:i + 16].strip())
    ev = handbook_text[i - 15:i + 15]
    rec = {**GOOD, "evidence": [ev]}
    assert validate([rec], sources) == []
    (item,) = to_items([rec])
    spans = find_spans(item.evidence[0], sources)
    assert any(s.start == i - 15 for s in spans)


def test_reference_answer_may_contain_spaces():
    """A reference answer is one string: a space inside it is not an empty field."""
    rec = {"id": "s1", "question": "宁波有多少家？", "answerable": True, "answer": "宁波有 349 家。",
           "must_contain": ["349"], "evidence": ["宁波“小巨人”企业数量为349家，位居全国"], "category": "number",
           "difficulty": "easy"}
    assert validate([rec], None) == []
    assert any("answer" in p for p in validate([{**rec, "answer": "  "}], None))
