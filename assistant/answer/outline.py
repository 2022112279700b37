"""A part of the handbook asked for its outline: answered with its headings, from the table of contents.

"手册给新型工业化时代广东小巨人提了哪几条成长路径？" asks for the four headings of part 五 ("（一）产业链作用
提升…" … "（四）加强数字治理…"). No sentence of the body lists them, so scoring sentences finds none
and the question was refused. The table of contents is the handbook's own list of its parts: each of
its lines is a citable span, quoted without its page number.

A part is named by its number ("第五部分") or by the words of its title that no other part's title has
("成长路径": 成长 is also in 三 "成长需求"); by one such word only in a question about the handbook.
A section or expert column named the same way ("周伟然那篇专栏…有哪几方面的优势？") gets its enumerated
points ("首先，…", "其次，…"). "手册分哪几部分？" names no part and gets the parts themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..chunking import Unit, tokens
from ..index import Index
from ..retrieval import Filters
from ..types import Span
from .dialogue_state import cn_number
from .frame import frame
from .items import SECTION_NUMBER, point_indices, section_units
from .rules import RULES

ASKS_OUTLINE = RULES.patterns["outline"].pattern
WHOLE_HANDBOOK = RULES.patterns["outline_whole"].pattern
ABOUT_HANDBOOK = RULES.patterns["about_handbook"].pattern
PASSAGE = RULES.patterns["passage_reference"].pattern
PART = re.compile(r"^([一二三四五六七八九十]+)、")
SPECIAL_PART = re.compile(r"^特别呈献")
SUB_NUMBER = re.compile(r"^（[一二三四五六七八九十]+）")
PAGE_NUMBER = re.compile(r"\s+\d+\s*$")
PART_ORDINAL = re.compile(r"第([一二三四五六七八九十]+)(?:部分|章|篇|大部分)")
# words every part's title may share with a question without naming the part
COMMON_WORDS = frozenset({"广东", "小巨人", "企业", "专精特新", "的", "“", "”", "、", "，"})


@dataclass(frozen=True)
class Part:
    """A part of the handbook as its table of contents lists it: its heading and its sub-headings."""

    number: int  # 五 -> 5; 0 for an unnumbered part ("特别呈献：…")
    heading: Unit
    children: tuple[Unit, ...]
    words: frozenset[str]  # the title's words that no other part's title has

    @property
    def title(self) -> str:
        return self.heading.text


def _without_page(u: Unit) -> Unit:
    """A table-of-contents line quoted without its page number: the span ends where the title does."""
    sp = u.spans[0]
    m = PAGE_NUMBER.search(sp.text)
    if not m:
        return u
    text = sp.text[:m.start()]
    return replace(u, spans=(Span(sp.doc, sp.start, sp.start + len(text), text),), text=text)


def parts(index: Index) -> list[Part]:
    return index.extra("outline_parts", lambda: _parts(index))


def _parts(index: Index) -> list[Part]:
    raw: list[tuple[int, Unit, list[Unit]]] = []
    seen: set[str] = set()
    for u in index.units:
        if u.kind != "toc" or u.text in seen:  # the table of contents repeats lines across a page break
            continue
        seen.add(u.text)
        u = _without_page(u)
        m = PART.match(u.text)
        if m or SPECIAL_PART.match(u.text):
            raw.append((cn_number(m.group(1)) if m else 0, u, []))
        elif raw:
            raw[-1][2].append(u)
    title_words = [{w for w in tokens(PART.sub("", h.text)) if len(w) >= 2 and w not in COMMON_WORDS} for _, h, _ in raw]
    out = []
    for i, (number, heading, children) in enumerate(raw):
        others = set().union(*(ws for j, ws in enumerate(title_words) if j != i))
        out.append(Part(number, heading, tuple(children), frozenset(title_words[i] - others)))
    return out


def named_part(question: str, index: Index) -> Part | None:
    """The one part the question names by its number or by its own title words (None: none or several)."""
    ps = parts(index)
    m = PART_ORDINAL.search(question)
    if m:
        return next((p for p in ps if p.number == cn_number(m.group(1))), None)
    score, number = unique_best((sum(w in question for w in p.words), p.number) for p in ps)
    if not score:
        return None
    # one title word alone names the part only in a question about the handbook: "报告最后…成长路径有哪几条"
    # does, "袁锋总结芯联集成…靠的是哪几条经验" (经验, part 四's word) does not
    if score == 1 and not ABOUT_HANDBOOK.search(question):
        return None
    return next(p for p in ps if p.number == number)


def unique_best(scored, minimum: int = 1) -> tuple[int, object]:
    """The best (score, key) when one key alone has it; (0, None) when none scores `minimum` or several tie."""
    ranked = sorted(scored, reverse=True)
    if not ranked or ranked[0][0] < minimum or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return 0, None
    return ranked[0]


def sections(part: Part) -> list[Unit]:
    """A part's numbered sections ("（一）…"); its unnumbered lines (an expert column) when it has none."""
    return [c for c in part.children if SUB_NUMBER.match(c.text)] or list(part.children)


def from_outline(question: str, index: Index, filters: Filters) -> list[Unit] | None:
    """The sections of the part a question asks the outline of; the parts themselves for the whole
    handbook; the points of a section or expert column (None: no outline asked, or nothing named)."""
    if not ASKS_OUTLINE.search(question):
        return None
    f = frame(question, index)
    if f.companies or f.years:
        return None
    part = named_part(question, index)
    if part is not None:
        # "深圳的成长路径有哪几条" or "长三角和珠三角在哪几个方面不同" ask about a place, not the part's outline
        if any(p not in part.title for p in f.places):
            return None
        # a section the question quotes is asked about, not listed
        if any(len(w) >= 4 and w in question for c in part.children for w in re.split(r"[，,：:]", SUB_NUMBER.sub("", c.text))):
            return None
        found = sections(part)  # not the part's own heading: "第三条" counts the sections
    elif WHOLE_HANDBOOK.search(question):
        found = [p.heading for p in parts(index)]
    else:
        section = named_section(question, index)
        if section is None or any(p not in section for p in f.places):
            return None
        found = section_points(section, index, filters)
    found = [u for u in found or [] if filters.allows(index.chunks[u.chunk])]
    return found or None


def _title(section: str) -> str:
    return SECTION_NUMBER.sub("", section.split(" > ")[-1])


def section_words(index: Index) -> dict[str, frozenset[str]]:
    """Each section's title words that no other section's title has (an expert column's author too)."""
    def build() -> dict[str, frozenset[str]]:
        paths = list(dict.fromkeys(u.section for u in index.units if u.kind not in ("toc", "chart")))
        words = {s: {w for w in tokens(_title(s)) if len(w) >= 2 and w not in COMMON_WORDS} for s in paths}
        seen: dict[str, int] = {}
        for ws in words.values():
            for w in ws:
                seen[w] = seen.get(w, 0) + 1
        return {s: frozenset(w for w in ws if seen[w] == 1) for s, ws in words.items()}
    return index.extra("outline_section_words", build)


def named_section(question: str, index: Index) -> str | None:
    """The one section a question names by its own title words, in a question that says it means a passage
    of the handbook ("周伟然那篇专栏…有哪几方面"); None when none or several."""
    if not (ABOUT_HANDBOOK.search(question) or PASSAGE.search(question)):
        return None  # "政府基金有哪几条…" shares two words with a section's title but asks no passage of it
    return unique_best((sum(w in question for w in ws), s) for s, ws in section_words(index).items())[1]


def section_points(section: str, index: Index, filters: Filters) -> list[Unit] | None:
    """A section's enumerated points ("首先，…", "第一，…", "一是…") from its first one, each quoted once;
    None when it has fewer than two (its text is no list)."""
    body = section_units(section, index, filters)
    points = [body[i] for i in point_indices(body)]
    return points if len(points) >= 2 else None
