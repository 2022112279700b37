"""Eval sets: one JSON object per line, read, validated against the corpus, located in it.

Line format (exactly these fields):
    {"id", "question", "answerable", "answer", "must_contain", "evidence", "category", "difficulty"}
`evidence` strings are verbatim source text (15-80 chars, may span lines); retrieval and citation
metrics are judged by where they occur, so every one of them must be found in some document.
Problems are reported in Chinese: they reach the user as the CLI's error line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..types import Span

FIELDS = ("id", "question", "answerable", "answer", "must_contain", "evidence", "category", "difficulty")
CATEGORIES = ("number", "entity", "policy", "profile", "comparison", "multi_hop", "unanswerable")
DIFFICULTIES = ("easy", "medium", "hard")
EVIDENCE_CHARS = (15, 80)


class EvalSetError(ValueError):
    """The eval file cannot be used; the message is one Chinese line."""


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answerable: bool
    answer: str
    must_contain: tuple[str, ...]
    evidence: tuple[str, ...]
    category: str
    difficulty: str
    line: int = 0  # 1-based line in its file, for messages; 0 when built in code


def read_jsonl(path: str | Path) -> list[dict]:
    """Raw records of a JSONL file (blank lines skipped); each gets its line number under "_line"."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise EvalSetError(f"评测集文件不存在：{p}")
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f"无法读取评测集文件 {p}：{type(e).__name__}")
    records = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalSetError(f"评测集 {p} 第 {no} 行不是合法的 JSON（{e.msg}，第 {e.colno} 列）")
        if not isinstance(rec, dict):
            raise EvalSetError(f"评测集 {p} 第 {no} 行应是一个 JSON 对象")
        records.append({**rec, "_line": no})
    if not records:
        raise EvalSetError(f"评测集 {p} 是空的")
    return records


def find_spans(text: str, sources: Mapping[str, str]) -> list[Span]:
    """Every exact occurrence of text in every document (overlapping ones too)."""
    spans = []
    if not text:
        return spans
    for doc, src in sources.items():
        i = src.find(text)
        while i >= 0:
            spans.append(Span(doc, i, i + len(text), text))
            i = src.find(text, i + 1)
    return spans


def evidence_spans(item: EvalItem, sources: Mapping[str, str]) -> list[Span]:
    return [s for e in item.evidence for s in find_spans(e, sources)]


def _where(line: int, rid) -> str:
    return f"第 {line} 行" + (f"（{rid}）" if isinstance(rid, str) and rid else "")


def _str_list(v) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v)


def validate(items: Iterable[Mapping[str, Any] | EvalItem], sources: Mapping[str, str] | None) -> list[str]:
    """Every problem of an eval set, one Chinese line each; [] means valid.

    items are raw records (as read from JSONL) or EvalItems. With sources None only the format is
    checked: the CLI does that first, so a malformed file fails before the index is opened.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(items):
        rec = asdict(raw) if is_dataclass(raw) else dict(raw)
        line = rec.pop("line" if is_dataclass(raw) else "_line", 0) or i + 1
        where = _where(line, rec.get("id"))
        shape, usable = _shape_problems(rec, where)
        problems += shape
        if not usable:
            continue  # fields missing or of the wrong type: nothing more can be checked
        if rec["id"] in seen:
            problems.append(f"{where}：id {rec['id']} 重复（与{seen[rec['id']]}）")
        else:
            seen[rec["id"]] = where
        problems += _value_problems(rec, where)
        if sources is not None:
            problems += _source_problems(rec, where, sources)
    return problems


def _shape_problems(rec: dict, where: str) -> tuple[list[str], bool]:
    """Missing or extra fields, then fields of the wrong type (checked only when none is missing);
    and whether the record's values can be checked further."""
    keys = set(rec)
    missing = [f for f in FIELDS if f not in keys]
    extra = sorted(keys - set(FIELDS))
    problems = [f"{where}：缺少字段 {', '.join(missing)}"] if missing else []
    if extra:
        problems.append(f"{where}：多余字段 {', '.join(extra)}")
    if missing:
        return problems, False
    bad_types = [f for f, ok in (
        ("id", isinstance(rec["id"], str) and rec["id"].strip()),
        ("question", isinstance(rec["question"], str) and rec["question"].strip()),
        ("answerable", isinstance(rec["answerable"], bool)),
        ("answer", isinstance(rec["answer"], str)),
        ("must_contain", _str_list(rec["must_contain"])),
        ("evidence", _str_list(rec["evidence"])),
    ) if not ok]
    if bad_types:
        problems.append(f"{where}：字段类型或取值无效 {', '.join(bad_types)}")
    return problems, not bad_types


def _value_problems(rec: dict, where: str) -> list[str]:
    problems = []
    if rec["category"] not in CATEGORIES:
        problems.append(f"{where}：category “{rec['category']}” 无效，应为 {'|'.join(CATEGORIES)}")
    if rec["difficulty"] not in DIFFICULTIES:
        problems.append(f"{where}：difficulty “{rec['difficulty']}” 无效，应为 {'|'.join(DIFFICULTIES)}")
    # answerable and category must agree: the per-category metrics rely on it
    if rec["answerable"] != (rec["category"] != "unanswerable"):
        problems.append(f"{where}：answerable 与 category 不一致（仅 unanswerable 类的 answerable 为 false）")
    if not rec["answerable"]:
        filled = [f for f in ("answer", "must_contain", "evidence") if rec[f]]
        if filled:
            problems.append(f"{where}：不可回答的题目的 {', '.join(filled)} 必须为空")
    else:
        # "answer" is one string (spaces inside it are fine); the other two are lists of strings
        empty = [f for f in ("answer", "must_contain", "evidence")
                 if not (rec[f].strip() if isinstance(rec[f], str) else rec[f] and all(s.strip() for s in rec[f]))]
        if empty:
            problems.append(f"{where}：可回答的题目的 {', '.join(empty)} 不能为空")
    lo, hi = EVIDENCE_CHARS
    for e in rec["evidence"]:
        if not lo <= len(e) <= hi:
            problems.append(f"{where}：evidence 长度 {len(e)} 字，应为 {lo}–{hi} 字：“{e[:20]}…”")
    return problems


def _source_problems(rec: dict, where: str, sources: Mapping[str, str]) -> list[str]:
    return [f"{where}：{f} “{s[:30]}” 在文档中找不到"
            for f in ("evidence", "must_contain") for s in rec[f]
            if s and not any(s in src for src in sources.values())]


def to_items(records: Iterable[Mapping[str, Any]]) -> list[EvalItem]:
    return [EvalItem(r["id"], r["question"], r["answerable"], r["answer"], tuple(r["must_contain"]),
                     tuple(r["evidence"]), r["category"], r["difficulty"], r.get("_line", 0)) for r in records]


def load(path: str | Path, sources: Mapping[str, str] | None) -> list[EvalItem]:
    """Read and validate; raise EvalSetError with a one-line summary of the problems."""
    records = read_jsonl(path)
    raise_problems(path, validate(records, sources))
    return to_items(records)


def raise_problems(path: str | Path, problems: list[str]) -> None:
    """One line for the CLI: the count and the first few problems."""
    if problems:
        shown = "；".join(problems[:3]) + (f"；另有 {len(problems) - 3} 处" if len(problems) > 3 else "")
        raise EvalSetError(f"评测集 {path} 无效（{len(problems)} 处问题）：{shown}")
