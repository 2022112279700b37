"""Lines of PDF-extracted text with their offsets, and the layout patterns the parser keys on."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CN_NUM = "一二三四五六七八九十"
TERMINAL = "。！？；!?;…"
# A paragraph line that ends with one of these is complete; otherwise a page break may have cut it.
CLOSING = TERMINAL + "”」）)：:"

FOOTNOTE_MARK = re.compile(r"\^\[(\d+)\]")
FOOTNOTE_LINE = re.compile(r"^\^?\[(\d+)\]\s*\S")
DATE_LINE = re.compile(r"^\d{4}-\d{2}$")
BANNER = re.compile(r"^([1-9])\s+(\S.{1,30})$")
CITY = re.compile(r"^(\S{2,4}篇)[：:]\s*$")
NUMBERED = re.compile(r"^\d{1,2}\.\s*\S")
PAREN_NUM = re.compile(rf"^[（(][{CN_NUM}]{{1,2}}[)）]")
STAGE = re.compile(rf"^第[{CN_NUM}]阶段")
COMPANY_LINE = re.compile(r"^(\S{4,40}?(?:公司|集团|研究院|协会))[：:]\s*$")
CATEGORY_LINE = re.compile(r"^[—\-－]{1,2}\s*(\S{2,6}?)\s*[—\-－]{1,2}$")
CITY_SUBSECTION = re.compile(r"(画像|经验与观察|成长档案)$")
NOISE_LINES = {"<hr/>", "特别呈献：", "特别呈献:"}
SOURCE_PREFIXES = ("数据来源", "单位：", "单位:")


@dataclass(frozen=True)
class Line:
    start: int  # offsets of the stripped content
    end: int
    text: str


def clean_title(s: str) -> str:
    """Heading as shown in a section path: no spaces, full-width punctuation throughout."""
    s = re.sub(r"\s+", "", s)
    return s.translate(str.maketrans({":": "：", ",": "，", "(": "（", ")": "）", ";": "；"}))


def norm(s: str) -> str:
    """Whitespace-free NFKC form for matching headings across full/half-width variants."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def read_lines(text: str) -> list[Line]:
    lines, pos = [], 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            lines.append(Line(pos + lead, pos + lead + len(stripped), stripped))
        pos += len(raw) + 1
    return lines


def is_short(s: str, limit: int = 32) -> bool:
    return len(s) <= limit and s[-1] not in TERMINAL and "\t" not in s and not s.startswith("·")


def is_bare_number(s: str) -> bool:
    return bool(re.fullmatch(r"[\d\-–—~年月]+", s)) or s == "至今"


def lines_between(lines: list[Line], a: int, b: int) -> int:
    return sum(1 for ln in lines if a < ln.start < b)
