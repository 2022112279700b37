"""A point of an enumeration or a section, asked about in detail: answered from the handbook's structure.

"第三条具体说说" (resolved to "“投后赋能助企业“走出去””具体怎么做？") asks for what the handbook writes
under that point: the point and the sentences after it, up to the next point. A section title asked the
same way ("“优化全生产要素，激活数据、技术等要素价值乘数效应”具体怎么做？") gets the section's opening
and each of its points with the sentences that follow it. Scoring sentences by their likeness to the
title quotes the neighbouring points ("第一，……") instead of the asked one's body.
"""

from __future__ import annotations

import re

from ..chunking import Unit
from ..index import Index
from ..retrieval import Filters
from .rules import RULES

DETAIL = RULES.patterns["item_detail"].pattern
ENUMERATION = RULES.patterns["enumeration"].pattern
FIRST_POINT = re.compile(r"^(?:第一，|一是|首先|1[.、])")
SECTION_NUMBER = re.compile(r"^(?:[一二三四五六七八九十]+\s+|（[一二三四五六七八九十]+）|\d+[.、])")
NOT_TEXT = re.compile(r"[\s“”\"'‘’，,。；;：:、！!？?（）()]")
SKIPPED_KINDS = ("toc", "chart")
MIN_PREFIX_KEY = 10  # characters of a point's opening that name it
POINT_BODY_UNITS = 4  # sentences quoted under one point
SECTION_POINTS = 5  # points of a section quoted, each with the sentences after it
SECTION_POINT_SENTENCES = 2  # a point's first sentence is often only its own restatement


def _key(text: str) -> str:
    return NOT_TEXT.sub("", ENUMERATION.sub("", SECTION_NUMBER.sub("", text.strip())))


def _usable(u: Unit, index: Index, filters: Filters) -> bool:
    return u.kind not in SKIPPED_KINDS and filters.allows(index.chunks[u.chunk])


def _point_body(k: int, index: Index, filters: Filters) -> list[Unit]:
    """The point at unit k and what follows it in its section, up to the next point. The handbook
    repeats some passages across a page break: a sentence already taken is skipped, not a stop."""
    units, point = index.units, index.units[k]
    out, seen = [point], {point.text}
    for u in units[k + 1:]:
        if u.section != point.section or len(out) > POINT_BODY_UNITS:
            break
        if u.text in seen or not _usable(u, index, filters):
            continue
        if ENUMERATION.match(u.text):
            break
        out.append(u)
        seen.add(u.text)
    return out


def section_units(section: str, index: Index, filters: Filters) -> list[Unit]:
    """A section's units in reading order, each text once (the handbook repeats passages across page breaks)."""
    body, seen = [], set()
    for u in index.units:
        if u.section == section and u.text not in seen and _usable(u, index, filters):
            body.append(u)
            seen.add(u.text)
    return body


def point_indices(body: list[Unit]) -> list[int]:
    """Where a section's enumerated points are, from the one that starts the list ("第一，", "首先");
    none when no point starts one ("其次" inside a paragraph of figures is no list of points)."""
    points = [i for i, u in enumerate(body) if ENUMERATION.match(u.text)]
    first = next((i for i in points if FIRST_POINT.match(body[i].text)), None)
    return [] if first is None else [i for i in points if i >= first]


def _section_body(section: str, index: Index, filters: Filters) -> list[Unit]:
    """A section's opening sentence, then each point with the sentences after it (or its first sentences)."""
    body = section_units(section, index, filters)
    points = point_indices(body)
    if not points:
        return body[:POINT_BODY_UNITS]
    out = body[:1] if points[0] > 0 else []
    for i in points[:SECTION_POINTS]:
        out.append(body[i])
        for u in body[i + 1:i + 1 + SECTION_POINT_SENTENCES]:
            if ENUMERATION.match(u.text):
                break
            out.append(u)
    return out


def from_item(question: str, index: Index, filters: Filters) -> list[Unit] | None:
    """The body of the point or section the question quotes and asks about in detail (None: not asked,
    or the quote is no point or section title of the handbook)."""
    m = DETAIL.search(question)
    if not m or len(key := _key(m.group(1))) < 4:
        return None
    for u in index.units:
        # a long point is quoted by its first clauses ("“政府的政策和扶持绝对不容忽视，特别是创新驱动发展”")
        if u.kind not in SKIPPED_KINDS and ENUMERATION.match(u.text) and filters.allows(index.chunks[u.chunk]) \
                and (_key(u.text) == key or (len(key) >= MIN_PREFIX_KEY and _key(u.text).startswith(key))):
            return _point_body(u.id, index, filters)
    sections = dict.fromkeys(u.section for u in index.units if u.kind not in SKIPPED_KINDS)
    for section in sections:
        if _key(section.split(" > ")[-1]) == key:
            return _section_body(section, index, filters) or None
    return None
