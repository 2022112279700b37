"""The table of contents: part titles and section entries, and matching body headings to them.

PDF extraction drops the "（一）" numbering from body headings; the TOC still has it, so a body
heading that matches a TOC entry of its part gets its number (and an expert's byline) back.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .lines import BANNER, CN_NUM, NOISE_LINES, Line, clean_title, norm

PAGE_NUMBER = re.compile(r"\t\s*\d+\s*$")


@dataclass
class TocEntry:
    part: int  # 1-based part number
    title: str  # as written, e.g. "（一）国家专精特新政策供给" or "专家视点 ..."


@dataclass
class Toc:
    parts: dict[int, str]  # part number -> title
    entries: list[TocEntry]
    end: int  # index of the first line after the TOC (0 without a TOC)


def parse_toc(lines: list[Line]) -> Toc:
    """Part titles, section entries and the index of the first line after the TOC."""
    try:
        i = next(k for k, ln in enumerate(lines) if ln.text == "目录")
    except StopIteration:
        return Toc({}, [], 0)
    parts: dict[int, str] = {}
    entries: list[TocEntry] = []
    part = 0
    k = i + 1
    while k < len(lines) and not BANNER.match(lines[k].text):
        title = PAGE_NUMBER.sub("", lines[k].text).strip()
        m = re.match(rf"^([{CN_NUM}])、(.+)$", title)
        if m:
            part = CN_NUM.index(m.group(1)) + 1
            parts[part] = norm(m.group(2))
        elif title.startswith("特别呈献"):
            part = max(parts) + 1 if parts else 1
            parts[part] = norm(title.split("：", 1)[-1]) if "：" in title else norm(title)
        elif part and title not in NOISE_LINES:
            entries.append(TocEntry(part, title))
        k += 1
    return Toc(parts, entries, k)


def match_toc(text: str, part: int, entries: list[TocEntry]) -> str | None:
    """A body heading that matches a TOC entry of its part becomes a level-2 section title."""
    n = norm(text)
    if len(n) < 4:
        return None
    best, score = None, 0.0
    for e in entries:
        if e.part != part:
            continue
        en = norm(re.sub(rf"^[（(][{CN_NUM}][)）]", "", e.title))
        if en.startswith("专家视点"):
            if n in en:
                return _expert_title(text, n, e)
            continue
        r = difflib.SequenceMatcher(None, n, en).ratio()
        if r > score:
            best, score = e, r
    if best and score >= 0.8:
        num = re.match(rf"^([（(][{CN_NUM}][)）])", best.title)
        return clean_title((num.group(1) if num else "") + text)
    return None


def _expert_title(text: str, n: str, e: TocEntry) -> str:
    # the TOC line ends with the author: "专家视点 <title> 周伟然"
    words = PAGE_NUMBER.sub("", e.title).split()
    author = words[-1] if len(words) >= 3 and norm(words[-1]) not in n else ""
    return "专家视点：" + clean_title(text) + (f"（{author}）" if author else "")
