"""Parse corpus text files into a document tree with exact character offsets.

Every node keeps `start`/`end` into its document's text, so `doc.text[start:end]` is what a
reader sees in the file. The handbook is PDF-extracted text; the layout rules below are
written against the quirks listed in ../shared/corpus/README.md, but they key on structure
(banners, numbered headings, table-of-contents titles, chart captions), never on content.
No library parses PDF-extracted Chinese layout noise, so this stage is our own.

Shape: `classify` gives each line a kind (first matching rule in RULES), and one handler per kind
consumes that line (and the lines that belong to it) and updates the `ParseState`. The table of
contents lives in toc.py, company profile records in records.py, line patterns in lines.py.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from ..types import Block, CompanyProfile, Document, Section, Span, TimelineEvent
from .lines import (BANNER, CITY, CITY_SUBSECTION, CLOSING, CN_NUM, FOOTNOTE_LINE, FOOTNOTE_MARK, NOISE_LINES, NUMBERED,
                    PAREN_NUM, SOURCE_PREFIXES, STAGE, Line, clean_title, is_bare_number, is_short, lines_between, norm,
                    read_lines)
from .records import profile_block, profile_line_ranges, profiles_of
from .toc import Toc, match_toc, parse_toc

# The tree types live in assistant/types.py; they stay importable from here as before.
__all__ = ["Block", "CompanyProfile", "Document", "FOOTNOTE_MARK", "Section", "Span", "TimelineEvent",
           "corpus_fingerprint", "load_corpus", "parse_document"]


# ---------------------------------------------------------------- parse state

@dataclass
class ParseState:
    """What the line handlers share while walking one document's lines."""

    doc: str
    text: str
    lines: list[Line]
    toc: Toc
    profile_lines: dict[int, tuple[int, str]]  # first line of a profile -> (last line, company)
    blocks: list[Block] = field(default_factory=list)
    headings: list[tuple[int, int, str]] = field(default_factory=list)  # (line index, level, title)
    path_stack: list[str] = field(default_factory=list)
    part_no: int = 0
    table_caption: tuple[str, int, int] | None = None  # caption (text, start, end) for the next table

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(p for p in self.path_stack if p)

    def in_city(self) -> bool:
        return len(self.path_stack) >= 2 and self.path_stack[1].endswith("篇")

    def set_level(self, level: int, name: str, at: int) -> None:
        del self.path_stack[level - 1:]
        while len(self.path_stack) < level - 1:
            self.path_stack.append("")
        self.path_stack.append(name)
        self.headings.append((at, level, name))

    def add(self, kind: str, first: int, last: int, **kw) -> None:
        s, e = self.lines[first].start, self.lines[last].end
        self.blocks.append(Block(self.doc, kind, s, e, self.text[s:e], self.path, **kw))

    def toc_title(self, s: str) -> str | None:
        return match_toc(s, self.part_no, self.toc.entries) if self.part_no and is_short(s, 40) else None

    def structural(self, idx: int) -> bool:
        """Line idx opens something of its own: a run of short lines stops before it."""
        s = self.lines[idx].text
        return bool(BANNER.match(s) or CITY.match(s) or PAREN_NUM.match(s) or NUMBERED.match(s)
                    or STAGE.match(s) or s in NOISE_LINES or s.startswith(("企业亮点",) + SOURCE_PREFIXES)
                    or FOOTNOTE_LINE.match(s) or idx in self.profile_lines
                    or (self.part_no and match_toc(s, self.part_no, self.toc.entries)))


# ---------------------------------------------------------------- the line classifier

LineKind = Literal["profile", "front_matter", "noise", "part_banner", "city", "city_subsection", "toc_heading",
                   "paren_heading", "numbered_heading", "footnote", "source", "table_row", "short", "paragraph"]


def _is_footnote(s: str) -> bool:
    return bool(FOOTNOTE_LINE.match(s)) and ("数据来源" in s or len(s) < 60)


# First rule that holds decides; the order matters (a short numbered line is a heading, not a caption).
RULES: tuple[tuple[LineKind, Callable[[ParseState, int, str], bool]], ...] = (
    ("profile", lambda st, i, s: i in st.profile_lines),
    ("front_matter", lambda st, i, s: s in ("前言", "目录") and st.part_no == 0),
    ("noise", lambda st, i, s: s in NOISE_LINES or s.startswith("企业亮点")),
    ("part_banner", lambda st, i, s: bool(BANNER.match(s)) and is_short(s, 40) and not NUMBERED.match(s)),
    ("city", lambda st, i, s: bool(CITY.match(s)) and bool(st.part_no)),
    ("city_subsection", lambda st, i, s: st.in_city() and is_short(s) and bool(CITY_SUBSECTION.search(s))),
    ("toc_heading", lambda st, i, s: bool(st.toc_title(s))),
    ("paren_heading", lambda st, i, s: bool(PAREN_NUM.match(s)) and is_short(s, 40)),
    ("numbered_heading", lambda st, i, s: bool(NUMBERED.match(s) or STAGE.match(s)) and is_short(s, 45)),
    ("footnote", lambda st, i, s: _is_footnote(s)),
    ("source", lambda st, i, s: s.startswith(SOURCE_PREFIXES)),
    ("table_row", lambda st, i, s: "\t" in s),
    ("short", lambda st, i, s: is_short(s)),
    ("paragraph", lambda st, i, s: True),
)


def classify(st: ParseState, i: int) -> LineKind:
    s = st.lines[i].text
    return next(kind for kind, holds in RULES if holds(st, i, s))


# ---------------------------------------------------------------- one handler per line kind
# Each handler consumes line i (and the lines that belong to it) and returns the next line to read.

def on_profile(st: ParseState, i: int) -> int:
    # Profiles are parsed separately into records; their block carries the company.
    last, _ = st.profile_lines[i]
    st.blocks.append(profile_block(st.lines, i, last, st.text, st.doc, st.path))
    return last + 1


def on_front_matter(st: ParseState, i: int) -> int:
    s = st.lines[i].text
    st.set_level(1, s, i)
    if s != "目录":
        return i + 1
    for k in range(i + 1, st.toc.end):
        if st.lines[k].text not in NOISE_LINES:
            st.add("toc", k, k)
    return st.toc.end


def on_noise(st: ParseState, i: int) -> int:
    return i + 1


def on_part_banner(st: ParseState, i: int) -> int:
    m = BANNER.match(st.lines[i].text)
    st.part_no = int(m.group(1))
    name = st.toc.parts.get(st.part_no) or norm(m.group(2))
    st.set_level(1, f"{CN_NUM[st.part_no - 1]} {name}", i)
    return i + 1


def on_city(st: ParseState, i: int) -> int:
    st.set_level(2, CITY.match(st.lines[i].text).group(1), i)
    # The next line is the city section's tagline: a heading-like title paragraph.
    if i + 1 < len(st.lines) and is_short(st.lines[i + 1].text, 40):
        st.add("heading", i + 1, i + 1)
        return i + 2
    return i + 1


def on_city_subsection(st: ParseState, i: int) -> int:
    st.set_level(3, clean_title(st.lines[i].text), i)
    return i + 1


def on_toc_heading(st: ParseState, i: int) -> int:
    title = st.toc_title(st.lines[i].text)
    st.set_level(2, title, i)
    if not title.startswith("专家视点"):
        return i + 1
    # The byline (author, titles) follows as short lines.
    j = i + 1
    while j < len(st.lines) and is_short(st.lines[j].text, 20) and not is_bare_number(st.lines[j].text):
        j += 1
    if j > i + 1:
        st.add("byline", i + 1, j - 1)
    return j


def on_paren_heading(st: ParseState, i: int) -> int:
    level = 4 if len(st.path_stack) >= 3 and st.in_city() else 3
    st.set_level(level, clean_title(st.lines[i].text), i)
    return i + 1


def on_numbered_heading(st: ParseState, i: int) -> int:
    st.set_level(3, clean_title(st.lines[i].text), i)
    return i + 1


def on_footnote(st: ParseState, i: int) -> int:
    st.add("footnote", i, i)
    return i + 1


def on_source(st: ParseState, i: int) -> int:
    """Chart source / unit lines: attach to the chart caption before them if any."""
    s, lines, blocks = st.lines[i].text, st.lines, st.blocks
    if not (blocks and blocks[-1].kind == "chart" and lines_between(lines, blocks[-1].end, lines[i].start) <= 4):
        return i + 1
    b = blocks[-1]
    if i + 1 < len(lines) and "\t" in lines[i + 1].text:
        # caption + unit line + table: the table carries the caption ("…分布（单位：家）")
        blocks.pop()
        cap = b.text.splitlines()[0].strip()
        st.table_caption = (f"{cap}（{s}）", b.start, b.start + len(cap))
    else:
        blocks[-1] = Block(st.doc, "chart", b.start, lines[i].end, st.text[b.start:lines[i].end], b.path)
    return i + 1


def on_table_row(st: ParseState, i: int) -> int:
    j = i
    while j < len(st.lines) and "\t" in st.lines[j].text:
        j += 1
    _add_table(st.blocks, st.lines, list(range(i, j)), st.text, st.doc, st.path, st.table_caption)
    st.table_caption = None
    return j


def on_short(st: ParseState, i: int) -> int:
    """A run of short lines: chart captions (followed by a unit/source line or a table),
    scrambled timeline fragments (bare years), or a heading for what follows."""
    lines = st.lines
    j = i
    while j + 1 < len(lines) and is_short(lines[j + 1].text) and not st.structural(j + 1):
        j += 1
    nxt = lines[j + 1].text if j + 1 < len(lines) else ""
    run = [lines[k].text for k in range(i, j + 1)]
    # A heading owns text; a caption run followed straight by a heading is a chart that lost its data.
    nxt_heading = j + 1 < len(lines) and st.structural(j + 1) and not nxt.startswith(SOURCE_PREFIXES)
    if any(is_bare_number(r) for r in run) or len(run) > 3:
        pass  # scrambled layout fragments (bare years, stage labels): no sentence to index
    elif nxt.startswith(SOURCE_PREFIXES) or "\t" in nxt or nxt_heading:
        for k in range(i, j + 1 if "\t" not in nxt else j):
            st.add("chart", k, k)
        st.table_caption = (run[-1], lines[j].start, lines[j].end) if "\t" in nxt else None
    elif run[-1].endswith(("：", ":")):
        st.add("paragraph", i, j)
    else:
        st.set_level(3 if len(st.path_stack) >= 2 else 2, "：".join(clean_title(r) for r in run), i)
    return j + 1


def on_paragraph(st: ParseState, i: int) -> int:
    """A paragraph; a page break may have split its last sentence over the next line."""
    lines = st.lines
    j = i
    while (lines[j].text[-1] not in CLOSING and j + 1 < len(lines) and not is_short(lines[j + 1].text, 12)
           and "\t" not in lines[j + 1].text and not FOOTNOTE_LINE.match(lines[j + 1].text)
           and j + 1 not in st.profile_lines):
        j += 1
    st.add("paragraph", i, j)
    return j + 1


HANDLERS: dict[LineKind, Callable[[ParseState, int], int]] = {
    "profile": on_profile, "front_matter": on_front_matter, "noise": on_noise, "part_banner": on_part_banner,
    "city": on_city, "city_subsection": on_city_subsection, "toc_heading": on_toc_heading,
    "paren_heading": on_paren_heading, "numbered_heading": on_numbered_heading, "footnote": on_footnote,
    "source": on_source, "table_row": on_table_row, "short": on_short, "paragraph": on_paragraph,
}


# ---------------------------------------------------------------- the parser

def parse_document(path: Path, doc_id: str | None = None) -> Document:
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    doc = doc_id or path.stem
    lines = read_lines(text)
    st = ParseState(doc, text, lines, parse_toc(lines), profile_line_ranges(lines))
    title = _title(lines, path)
    i = _body_start(st, title)
    while i < len(lines):
        i = HANDLERS[classify(st, i)](st, i)
    _link_footnotes(st.blocks)
    sections = _sections(st.headings, lines, text, doc)
    profiles = profiles_of(lines, st.profile_lines, text, doc, st.blocks)
    return Document(doc, path, text, hashlib.sha256(raw).hexdigest(), title, st.blocks, sections, profiles)


def _body_start(st: ParseState, title: str) -> int:
    """Front matter: cover lines before 前言 / 目录 / the first part banner are noise. A document
    without them (a plain policy text) starts at its first line, under its title."""
    i = next((k for k, ln in enumerate(st.lines) if ln.text in ("前言", "目录") or BANNER.match(ln.text)), None)
    if i is None:
        st.path_stack.append(title)
        return 0
    return i


def _title(lines: list[Line], path: Path) -> str:
    for ln in lines[:40]:
        m = re.search(r"《([^》]+)》", ln.text)
        if m:
            return m.group(1)
    return lines[0].text if lines and is_short(lines[0].text, 40) else path.stem


def _add_table(blocks, lines, rows, text, doc, path, caption) -> None:
    first = lines[rows[0]].text
    has_header = not re.search(r"\d", first) and len(rows) > 1
    header = " | ".join(c.strip() for c in first.split("\t") if c.strip()) if has_header else ""
    table = " ".join(x for x in (caption[0] if caption else "", f"（{header}）" if header else "") if x) or None
    for k in rows[1:] if has_header else rows:
        ln = lines[k]
        blocks.append(Block(doc, "table_row", ln.start, ln.end, text[ln.start:ln.end], path, table=table,
                            table_span=caption[1:] if caption else None))


def _link_footnotes(blocks: list[Block]) -> None:
    notes = [(k, b) for k, b in enumerate(blocks) if b.kind == "footnote"]
    for k, b in enumerate(blocks):
        if b.kind == "footnote":
            continue
        links = []
        for n in dict.fromkeys(int(x) for x in FOOTNOTE_MARK.findall(b.text)):
            for nk, fb in notes:
                m = FOOTNOTE_LINE.match(fb.text)
                if nk > k and m and int(m.group(1)) == n:
                    links.append((n, fb.start, fb.end))
                    break
        if links:
            blocks[k] = Block(b.doc, b.kind, b.start, b.end, b.text, b.path, b.table, b.table_span, tuple(links), b.company)


def _sections(headings, lines, text, doc) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str, int]] = []  # level, title, start offset
    paths: list[tuple[tuple[str, ...], int, int]] = []
    for idx, (li, level, title) in enumerate(headings):
        start = lines[li].start
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title, start))
        paths.append((tuple(t for _, t, _ in stack), level, start))
    seen: set[tuple[str, ...]] = set()
    for idx, (p, level, start) in enumerate(paths):
        if p in seen:
            continue  # a repeated page header re-opens the same section
        seen.add(p)
        end = len(text)
        for p2, level2, start2 in paths[idx + 1:]:
            if level2 <= level:
                end = start2
                break
        sections.append(Section(p, start, len(text[:end].rstrip())))
    return sections


# ---------------------------------------------------------------- corpus folder

def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every .txt / .md file in the corpus folder is one document; its doc id is the file stem."""
    if not corpus_dir.is_dir():
        return []
    files = sorted(p for p in corpus_dir.iterdir() if p.suffix in (".txt", ".md") and p.is_file()
                   and not p.name.startswith(".") and p.name.lower() != "readme.md")
    return [parse_document(p) for p in files]


def corpus_fingerprint(corpus_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(corpus_dir.iterdir()) if corpus_dir.is_dir() else []:
        if p.suffix in (".txt", ".md") and p.is_file() and not p.name.startswith(".") and p.name.lower() != "readme.md":
            h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
