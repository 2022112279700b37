"""Company profiles (成长档案) as records: where they are in the line stream, and their parts.

A profile is laid out as a name line, a title, a 简介 paragraph, a timeline of dated events and
categorised highlights; the page layout moves the name before or after 简介 and breaks events
over lines, so the record is read by structure, not by position.
"""

from __future__ import annotations

import re

from ..types import Block, CompanyProfile, Span, TimelineEvent
from .lines import BANNER, CATEGORY_LINE, CITY, COMPANY_LINE, DATE_LINE, Line, is_short


def profile_line_ranges(lines: list[Line]) -> dict[int, tuple[int, str]]:
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
        out[first] = (_profile_end(lines, k, limit), name)
    return out


def _profile_end(lines: list[Line], k: int, limit: int) -> int:
    """The last line of the profile whose name is on line k (the next profile starts at limit)."""
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
    return last


def profile_block(lines: list[Line], first: int, last: int, text: str, doc: str, path: tuple[str, ...]) -> Block:
    """The whole profile as one block, under its city's 成长档案 section, carrying the company."""
    name = next(COMPANY_LINE.match(lines[x].text).group(1) for x in range(first, last + 1) if COMPANY_LINE.match(lines[x].text))
    s, e = lines[first].start, lines[last].end
    ppath = path + (name,)
    if len(path) >= 2 and path[1].endswith("篇") and not (len(path) >= 3 and path[2].endswith("成长档案")):
        ppath = path[:2] + (f"{path[1][:-1]}“小巨人”成长档案", name)
    elif len(path) >= 3:
        ppath = path[:3] + (name,)
    return Block(doc, "profile", s, e, text[s:e], ppath, company=name)


def profiles_of(lines: list[Line], ranges: dict[int, tuple[int, str]], text: str, doc: str,
                blocks: list[Block]) -> list[CompanyProfile]:
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
    dates, events = _timeline_lines(plines[body_start:k_hl], title)
    timeline = [TimelineEvent(span(d), span(a, b)) for d, (a, b) in zip(dates, events)]
    highlights = _highlights(plines[k_hl + 1:], text, doc)
    city = path[1][:-1] if len(path) > 1 and path[1].endswith("篇") else ""
    return CompanyProfile(name, doc, city, path, plines[0].start, plines[-1].end, name_span, title, intro,
                          timeline, highlights, company_aliases(name))


def _timeline_lines(body: list[Line], title: Span | None) -> tuple[list[Line], list[tuple[Line, Line]]]:
    """Date lines and (first, last) lines of events, in order; layout puts them in separate runs."""
    dates: list[Line] = []
    events: list[tuple[Line, Line]] = []
    pending: Line | None = None
    for ln in body:
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
    return dates, events


def _highlights(hlines: list[Line], text: str, doc: str) -> dict[str, list[Span]]:
    highlights: dict[str, list[Span]] = {}
    cat = "亮点"
    for ln in hlines:
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
    return highlights


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
