"""A table asked for its largest or smallest row: answered from the table as a record set.

"长三角制造业小巨人里哪个行业最多？" asks for the row of "长三角核心城市群制造业“小巨人”企业分布（单位：家）"
with the largest count (通用设备制造业，211). Each row is its own sentence to the scorer, and no row
says it is the largest, so scoring quotes the row most like the question instead. Here a table is
its rows, each a name (the first cell) and a value (the first number after it); the asked row is
taken by comparing the values, and quoted as the handbook prints it.

A table is asked about when the question names its caption by two of its words (or more) and says
which end it wants ("最多", "最少"); every place the question names must be in the caption.

A table is also a record set keyed by its first column: "有哪些机构投了欣旺达动力" names one row's key
(欣旺达动力科技股份有限公司, by the company's short name) and one of the other columns (部分投资机构) by
a word of its header, and is answered by that row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..chunking import Unit, tokens
from ..index import Index
from ..retrieval import Filters
from .frame import Frame
from .outline import unique_best
from .rules import RULES

LARGEST = RULES.patterns["asks_largest"].pattern
SMALLEST = RULES.patterns["asks_smallest"].pattern
VALUE = re.compile(r"\d+(?:\.\d+)?")
COMMON_WORDS = frozenset({"小巨人", "企业", "单位", "家", "的", "“", "”", "（", "）", "：", "|"})
MIN_CAPTION_WORDS = 2
HEADER = re.compile(r"（([^（）]*\|[^（）]*)）")  # "（企业名称 | 部分投资机构）": the column names


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: Unit


def caption(u: Unit) -> str:
    """A table row's caption: the unit text before its cells ("…企业分布（单位：家）", "…（重点城市 | …）")."""
    head, sep, _ = u.text.partition("）：")
    return head + "）" if sep else u.text.partition("：")[0]


def rows_of(table: str, index: Index, filters: Filters) -> list[Row]:
    """The table's rows with a name and a number, each once (a row repeated across a page break too)."""
    out: dict[str, Row] = {}
    for u in index.units:
        if u.kind != "table" or caption(u) != table or not filters.allows(index.chunks[u.chunk]):
            continue
        cells = [c.strip() for c in u.spans[0].text.split("\t") if c.strip()]
        value = next((VALUE.match(c) for c in cells[1:] if VALUE.match(c)), None)
        if cells and value and cells[0] not in out:
            out[cells[0]] = Row(cells[0], float(value.group()), u)
    return list(out.values())


def captions(index: Index) -> dict[str, set[str]]:
    """Every table's caption and its words, built once per index."""
    return index.extra("table_captions", lambda: {c: _words(c) for c in dict.fromkeys(
        caption(u) for u in index.units if u.kind == "table")})


def asked_table(question: str, f: Frame, index: Index) -> str | None:
    """The caption of the table the question names (None: none, or two equally)."""
    _, best = unique_best(((sum(w in question for w in ws), c) for c, ws in captions(index).items()), MIN_CAPTION_WORDS)
    return best if best is not None and all(p in best for p in f.places) else None


def _words(text: str) -> set[str]:
    return {w for w in tokens(text) if len(w) >= 2 and w not in COMMON_WORDS}


def from_table(question: str, f: Frame, index: Index, filters: Filters) -> list[Unit] | None:
    """The largest or smallest row of the table the question asks about (None: not asked, or no such
    table, or a tie at the asked end)."""
    largest, smallest = bool(LARGEST.search(question)), bool(SMALLEST.search(question))
    if largest == smallest:
        return None
    table = asked_table(question, f, index)
    rows = rows_of(table, index, filters) if table else []
    if len(rows) < 2:
        return None
    ordered = sorted(rows, key=lambda r: r.value, reverse=largest)
    if ordered[0].value == ordered[1].value:
        return None
    return [ordered[0].unit]


def columns(table: str) -> list[str]:
    """The column names a caption lists ("…（企业名称 | 部分投资机构）" -> both); [] when it lists none."""
    m = HEADER.search(table)
    return [c.strip() for c in m.group(1).split("|") if c.strip()] if m else []


def _names_key(key: str, question: str, f: Frame) -> bool:
    """The question names the row's key: in full, or as a profiled company the frame found by a short name."""
    return key in question or any(p.name == key for p in f.companies)


def keyed_rows(index: Index) -> list[tuple[frozenset[str], dict[str, Unit]]]:
    """Per table: the words of its columns after the first, and its rows by their first cell (once per index)."""
    def build() -> list[tuple[frozenset[str], dict[str, Unit]]]:
        rows: dict[str, dict[str, Unit]] = {}
        for u in index.units:
            key = u.spans[0].text.split("\t")[0].strip() if u.kind == "table" else ""
            if key:
                rows.setdefault(caption(u), {}).setdefault(key, u)
        return [(frozenset(w for c in columns(table)[1:] for w in _words(c)), by_key) for table, by_key in rows.items()]
    return index.extra("table_keyed_rows", build)


def from_row(question: str, f: Frame, index: Index, filters: Filters) -> list[Unit] | None:
    """The one row whose key the question names, of the one table whose other column it asks for
    (None: no such row, or several)."""
    words = _words(question)
    found = [u for column_words, rows in keyed_rows(index) if column_words & words
             for key, u in rows.items() if _names_key(key, question, f) and filters.allows(index.chunks[u.chunk])]
    return found if len(found) == 1 else None
