"""Parse corpus text files into a document tree with exact character offsets.

Every node keeps `start`/`end` into its document's text, so `doc.text[start:end]` is what a
reader sees in the file. The handbook is PDF-extracted text; the layout rules below are
written against the quirks listed in ../shared/corpus/README.md, but they key on structure
(banners, numbered headings, table-of-contents titles, chart captions), never on content.
No library parses PDF-extracted Chinese layout noise, so this stage is our own.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

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
NOISE_LINES = {"<hr/>", "特别呈献：", "特别呈献:"}
SOURCE_PREFIXES = ("数据来源", "单位：", "单位:")


@dataclass(frozen=True)
class Span:
    doc: str
    start: int
    end: int
    text: str


@dataclass
class Block:
    """A leaf of the tree: paragraph, table row, footnote, chart caption, profile part..."""

    doc: str
    kind: str  # paragraph | heading | table_row | chart | footnote | toc | byline | profile
    start: int
    end: int
    text: str
    path: tuple[str, ...]
    table: str | None = None  # caption + header of the table a row belongs to
    table_span: tuple[int, int] | None = None  # the caption line of that table
    footnotes: tuple[tuple[int, int, int], ...] = ()  # (n, start, end) of linked footnote lines
    company: str | None = None


@dataclass
class Section:
    path: tuple[str, ...]
    start: int
    end: int


@dataclass
class TimelineEvent:
    date: Span
    event: Span


@dataclass
class CompanyProfile:
    name: str
    doc: str
    city: str
    path: tuple[str, ...]
    start: int
    end: int
    name_span: Span
    title: Span | None
    intro: Span | None
    timeline: list[TimelineEvent] = field(default_factory=list)
    highlights: dict[str, list[Span]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass
class Document:
    doc: str
    path: Path
    text: str
    sha256: str
    title: str
    blocks: list[Block]
    sections: list[Section]
    profiles: list[CompanyProfile]

    def span(self, start: int, end: int) -> Span:
        return Span(self.doc, start, end, self.text[start:end])


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


# ---------------------------------------------------------------- table of contents

@dataclass
class TocEntry:
    part: int  # 1-based part number
    title: str  # as written, e.g. "（一）国家专精特新政策供给" or "专家视点 ..."


def parse_toc(lines: list[Line]) -> tuple[dict[int, str], list[TocEntry], int]:
    """Return part titles, section entries and the index of the first line after the TOC."""
    try:
        i = next(k for k, ln in enumerate(lines) if ln.text == "目录")
    except StopIteration:
        return {}, [], 0
    parts: dict[int, str] = {}
    entries: list[TocEntry] = []
    part = 0
    k = i + 1
    while k < len(lines) and not BANNER.match(lines[k].text):
        title = re.sub(r"\t\s*\d+\s*$", "", lines[k].text).strip()
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
    return parts, entries, k


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
                # the TOC line ends with the author: "专家视点 <title> 周伟然"
                words = re.sub(r"\t\s*\d+\s*$", "", e.title).split()
                author = words[-1] if len(words) >= 3 and norm(words[-1]) not in n else ""
                return "专家视点：" + clean_title(text) + (f"（{author}）" if author else "")
            continue
        r = difflib.SequenceMatcher(None, n, en).ratio()
        if r > score:
            best, score = e, r
    if best and score >= 0.8:
        num = re.match(rf"^([（(][{CN_NUM}][)）])", best.title)
        return clean_title((num.group(1) if num else "") + text)
    return None


# ---------------------------------------------------------------- the parser

def parse_document(path: Path, doc_id: str | None = None) -> Document:
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    doc = doc_id or path.stem
    lines = read_lines(text)
    parts, toc, after_toc = parse_toc(lines)
    title = _title(lines, path)

    blocks: list[Block] = []
    headings: list[tuple[int, int, str]] = []  # (line index, level, title)
    path_stack: list[str] = []
    part_no = 0
    profile_lines = _profile_line_ranges(lines)

    def set_level(level: int, name: str, at: int) -> None:
        del path_stack[level - 1:]
        while len(path_stack) < level - 1:
            path_stack.append("")
        path_stack.append(name)
        headings.append((at, level, name))

    def add(kind: str, first: int, last: int, **kw) -> None:
        s, e = lines[first].start, lines[last].end
        blocks.append(Block(doc, kind, s, e, text[s:e], tuple(p for p in path_stack if p), **kw))

    # Front matter: cover lines before 前言 / 目录 / the first part banner are noise. A document
    # without them (a plain policy text) starts at its first line, under its title.
    i = next((k for k, ln in enumerate(lines) if ln.text in ("前言", "目录") or BANNER.match(ln.text)), None)
    if i is None:
        i = 0
        path_stack.append(title)
    table_caption: tuple[str, int, int] | None = None
    while i < len(lines):
        s = lines[i].text
        if i in profile_lines:
            j, profile_path = profile_lines[i]
            # Profiles are parsed separately into records; their blocks carry the company.
            for b in _profile_blocks(lines, i, j, text, doc, tuple(p for p in path_stack if p)):
                blocks.append(b)
            i = j + 1
            continue
        if s in ("前言", "目录") and part_no == 0:
            set_level(1, s, i)
            if s == "目录":
                j = after_toc - 1
                for k in range(i + 1, j + 1):
                    if lines[k].text not in NOISE_LINES:
                        add("toc", k, k)
                i = j + 1
                continue
            i += 1
            continue
        if s in NOISE_LINES or s.startswith("企业亮点"):
            i += 1
            continue
        m = BANNER.match(s)
        if m and is_short(s, 40) and not NUMBERED.match(s):
            part_no = int(m.group(1))
            name = parts.get(part_no) or norm(m.group(2))
            set_level(1, f"{CN_NUM[part_no - 1]} {name}", i)
            i += 1
            continue
        cm = CITY.match(s)
        if cm and part_no:
            set_level(2, cm.group(1), i)
            # The next line is the city section's tagline: a heading-like title paragraph.
            if i + 1 < len(lines) and is_short(lines[i + 1].text, 40):
                add("heading", i + 1, i + 1)
                i += 2
            else:
                i += 1
            continue
        if len(path_stack) >= 2 and path_stack[1].endswith("篇") and is_short(s) and re.search(r"(画像|经验与观察|成长档案)$", s):
            set_level(3, clean_title(s), i)
            i += 1
            continue
        toc_title = match_toc(s, part_no, toc) if part_no and is_short(s, 40) else None
        if toc_title:
            set_level(2, toc_title, i)
            if toc_title.startswith("专家视点"):
                # The byline (author, titles) follows as short lines.
                j = i + 1
                while j < len(lines) and is_short(lines[j].text, 20) and not is_bare_number(lines[j].text):
                    j += 1
                if j > i + 1:
                    add("byline", i + 1, j - 1)
                i = j
                continue
            i += 1
            continue
        if PAREN_NUM.match(s) and is_short(s, 40):
            level = 4 if len(path_stack) >= 3 and path_stack[1].endswith("篇") else 3
            set_level(level, clean_title(s), i)
            i += 1
            continue
        if (NUMBERED.match(s) or STAGE.match(s)) and is_short(s, 45):
            set_level(3, clean_title(s), i)
            i += 1
            continue
        fm = FOOTNOTE_LINE.match(s)
        if fm and "数据来源" in s or fm and len(s) < 60:
            add("footnote", i, i)
            i += 1
            continue
        if s.startswith(SOURCE_PREFIXES):
            # Chart source / unit lines: attach to the chart caption before them if any.
            if blocks and blocks[-1].kind == "chart" and lines_between(lines, blocks[-1].end, lines[i].start) <= 4:
                b = blocks[-1]
                if i + 1 < len(lines) and "\t" in lines[i + 1].text:
                    # caption + unit line + table: the table carries the caption ("…分布（单位：家）")
                    blocks.pop()
                    cap = b.text.splitlines()[0].strip()
                    table_caption = (f"{cap}（{s}）", b.start, b.start + len(cap))
                else:
                    blocks[-1] = Block(doc, "chart", b.start, lines[i].end, text[b.start:lines[i].end], b.path)
            i += 1
            continue
        if "\t" in s:
            j = i
            rows = []
            while j < len(lines) and "\t" in lines[j].text:
                rows.append(j)
                j += 1
            _add_table(blocks, lines, rows, text, doc, tuple(p for p in path_stack if p), table_caption)
            table_caption = None
            i = j
            continue
        if is_short(s):
            # A run of short lines: chart captions (followed by a unit/source line or a table),
            # scrambled timeline fragments (bare years), or a heading for what follows.
            j = i
            while j + 1 < len(lines) and is_short(lines[j + 1].text) and not _structural(lines[j + 1].text, part_no, toc, profile_lines, j + 1):
                j += 1
            nxt = lines[j + 1].text if j + 1 < len(lines) else ""
            run = [lines[k].text for k in range(i, j + 1)]
            # A heading owns text; a caption run followed straight by a heading is a chart that lost its data.
            nxt_heading = j + 1 < len(lines) and _structural(nxt, part_no, toc, profile_lines, j + 1) and not nxt.startswith(SOURCE_PREFIXES)
            if any(is_bare_number(r) for r in run) or len(run) > 3:
                pass  # scrambled layout fragments (bare years, stage labels): no sentence to index
            elif nxt.startswith(SOURCE_PREFIXES) or "\t" in nxt or nxt_heading:
                for k in range(i, j + 1 if "\t" not in nxt else j):
                    add("chart", k, k)
                table_caption = (run[-1], lines[j].start, lines[j].end) if "\t" in nxt else None
            elif run[-1].endswith(("：", ":")):
                add("paragraph", i, j)
            else:
                set_level(3 if len(path_stack) >= 2 else 2, "：".join(clean_title(r) for r in run), i)
            i = j + 1
            continue
        # A paragraph; a page break may have split its last sentence over the next line.
        j = i
        while (lines[j].text[-1] not in CLOSING and j + 1 < len(lines) and not is_short(lines[j + 1].text, 12)
               and "\t" not in lines[j + 1].text and not FOOTNOTE_LINE.match(lines[j + 1].text)
               and j + 1 not in profile_lines):
            j += 1
        add("paragraph", i, j)
        i = j + 1

    _link_footnotes(blocks)
    sections = _sections(headings, lines, text, doc)
    profiles = _profiles(lines, profile_lines, text, doc, blocks)
    return Document(doc, path, text, hashlib.sha256(raw).hexdigest(), title, blocks, sections, profiles)


def lines_between(lines: list[Line], a: int, b: int) -> int:
    return sum(1 for ln in lines if a < ln.start < b)


def _structural(s: str, part_no: int, toc, profile_lines, idx) -> bool:
    return bool(BANNER.match(s) or CITY.match(s) or PAREN_NUM.match(s) or NUMBERED.match(s)
                or STAGE.match(s) or s in NOISE_LINES or s.startswith(("企业亮点",) + SOURCE_PREFIXES)
                or FOOTNOTE_LINE.match(s) or idx in profile_lines
                or (part_no and match_toc(s, part_no, toc)))


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


# ---------------------------------------------------------------- company profiles

def _profile_line_ranges(lines: list[Line]) -> dict[int, tuple[int, str]]:
    """Map the first line of each profile to (its last line, company name).

    A profile is a company-name line ("…有限公司：") with a 简介 right before or after it and
    dated timeline lines; the name comes before or after 简介 depending on the page layout.
    """
    starts: list[tuple[int, int, str]] = []  # (first line, name line, name)
    for k, ln in enumerate(lines):
        m = COMPANY_LINE.match(ln.text)
        if not m:
            continue
        window = [lines[x].text for x in range(max(0, k - 3), min(len(lines), k + 5))]
        if "简介" not in window or not any(DATE_LINE.match(lines[x].text) for x in range(k, min(len(lines), k + 12))):
            continue
        first = k
        if k >= 2 and lines[k - 2].text == "简介":
            first = k - 2
        starts.append((first, k, m.group(1)))
    out: dict[int, tuple[int, str]] = {}
    for n, (first, k, name) in enumerate(starts):
        limit = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        last = k
        for x in range(k + 1, limit):
            t = lines[x].text
            if CITY.match(t) or BANNER.match(t):
                break
            if x > k + 3 and t == "简介":
                break
            if t.endswith("成长档案") and is_short(t):
                continue  # a page header inside or between profiles
            last = x
        out[first] = (last, name)
    return out


def _profile_blocks(lines, first, last, text, doc, path) -> list[Block]:
    name = next(COMPANY_LINE.match(lines[x].text).group(1) for x in range(first, last + 1) if COMPANY_LINE.match(lines[x].text))
    s, e = lines[first].start, lines[last].end
    ppath = path + (name,)
    if len(path) >= 2 and path[1].endswith("篇") and not (len(path) >= 3 and path[2].endswith("成长档案")):
        ppath = path[:2] + (f"{path[1][:-1]}“小巨人”成长档案", name)
    elif len(path) >= 3:
        ppath = path[:3] + (name,)
    return [Block(doc, "profile", s, e, text[s:e], ppath, company=name)]


def _profiles(lines, ranges, text, doc, blocks) -> list[CompanyProfile]:
    by_start = {b.start: b for b in blocks if b.kind == "profile"}
    out = []
    for first, (last, name) in sorted(ranges.items()):
        blk = by_start[lines[first].start]
        out.append(parse_profile(lines[first:last + 1], text, doc, name, blk.path))
    return out


def parse_profile(plines: list[Line], text: str, doc: str, name: str, path: tuple[str, ...]) -> CompanyProfile:
    def span(a: Line, b: Line | None = None) -> Span:
        b = b or a
        return Span(doc, a.start, b.end, text[a.start:b.end])

    k_name = next(k for k, ln in enumerate(plines) if COMPANY_LINE.match(ln.text))
    name_span = Span(doc, plines[k_name].start, plines[k_name].start + len(name), name)
    title = span(plines[k_name + 1]) if k_name + 1 < len(plines) and plines[k_name + 1].text != "简介" else None
    intro = None
    k_intro = next((k for k, ln in enumerate(plines) if ln.text == "简介"), None)
    if k_intro is not None and k_intro + 1 < len(plines):
        intro = span(plines[k_intro + 1])
    k_hl = next((k for k, ln in enumerate(plines) if ln.text.startswith("企业亮点")), len(plines))
    body_start = max(x for x in (k_name + 2 if title else k_name + 1, (k_intro + 2) if k_intro is not None else 0))
    dates: list[Line] = []
    events: list[tuple[Line, Line]] = []
    pending: Line | None = None
    for ln in plines[body_start:k_hl]:
        if DATE_LINE.match(ln.text):
            dates.append(ln)
            continue
        if ln.text.endswith("成长档案") or ln is title:
            continue
        first_ln = pending or ln
        if ln.text[-1] in "；;。":
            events.append((first_ln, ln))
            pending = None
        else:
            pending = first_ln  # an event broken over lines: "被评为国家级" / "高新技术企业；"
    if pending is not None:
        events.append((pending, pending))
    timeline = [TimelineEvent(span(d), span(a, b)) for d, (a, b) in zip(dates, events)]
    highlights: dict[str, list[Span]] = {}
    cat = "亮点"
    for ln in plines[k_hl + 1:]:
        m = CATEGORY_LINE.match(ln.text)
        if m:
            cat = m.group(1)
            highlights.setdefault(cat, [])
            continue
        if ln.text.endswith("成长档案"):
            continue
        body = ln.text.lstrip("·• ").strip()
        off = ln.start + ln.text.index(body[0])
        highlights.setdefault(cat, []).append(Span(doc, off, ln.end, text[off:ln.end]))
    city = path[1][:-1] if len(path) > 1 and path[1].endswith("篇") else ""
    return CompanyProfile(name, doc, city, path, plines[0].start, plines[-1].end, name_span, title, intro,
                          timeline, highlights, company_aliases(name))


REGION_PREFIX = re.compile(r"^(广东省|广东|深圳市|深圳|广州市|广州|佛山市|佛山|东莞市|东莞|珠海市|珠海|惠州市|惠州)")
LEGAL_SUFFIX = re.compile(r"(集团)?(股份)?有限公司$|集团$")
INDUSTRY_TAIL = re.compile(r"(科技|技术|发展|制造|物联网|物联|动力|智能|能源|精密|半导体|创新|电子|信息|系统|通信)$")


def company_aliases(name: str) -> tuple[str, ...]:
    """Full name, core name without region and legal form, and the brand ("普渡科技", "普渡")."""
    core = LEGAL_SUFFIX.sub("", REGION_PREFIX.sub("", name))
    brand = core
    while True:
        shorter = INDUSTRY_TAIL.sub("", brand)
        if shorter == brand or len(shorter) < 2:
            break
        brand = shorter
    # brand plus its first industry word is how people usually say it: "普渡科技", "云从科技"
    word = re.match(INDUSTRY_TAIL.pattern.rstrip("$"), core[len(brand):])
    out = [name, core, brand] + ([brand + word.group(1)] if word else [])
    return tuple(dict.fromkeys(a for a in out if len(a) >= 2))


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
