"""HTML and markdown for the chat and the 来源 panel. Every piece of text is escaped: user text is
shown as text (no HTML, no markdown images or links), handbook text is shown as written."""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from assistant import Index

CONTEXT_CHARS = 220  # a long paragraph is cut to this much context on each side of the quote
SHOWN_QUESTION_CHARS = 300  # an absurdly long question is shown shortened in the chat
RELATED_LABEL = "相关段落（仅供参考，并非答案）"
EMPTY_SOURCES = ('<div class="sources-empty"><div class="sources-title">来源</div>'
                 "提问后，这里显示回答所依据的手册原文，引用的句子以黄色标出；点击回答里的 [1]、[2] 可跳到对应原文。"
                 "<ul><li>检索范围：只在手册的某一部分或某个城市篇里找答案。</li>"
                 "<li>只看原文：不生成回答，直接列出最相关的段落。</li>"
                 "<li>回答下方的“有用 / 没用”：告诉我们当前显示的回答是否有用，可以改选。</li></ul></div>")
LOOKING_UP = '<div class="sources-empty">正在查阅手册……</div>'
BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
MARKER = re.compile(r"\[(\d{1,3})\]")
FOOTNOTE = re.compile(r"\^\[(\d{1,3})\]")  # the handbook's footnote markers, e.g. 298家^[5]
UNDERSTOOD = re.compile(r"（理解为：“[^\n]*?”）\n?")
# Markdown (and GFM autolink) syntax in text that must stay text: replaced by numeric entities,
# which the markdown renderer shows as the characters and never parses as syntax.
MARKDOWN_SYNTAX = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~:&\"'=/@$^%]")

CSS = """
#sources .cite { border-left: 3px solid #f97316; padding: 6px 10px; margin: 10px 0; scroll-margin-top: 60px; }
#sources .cite:target { background: #fff7e0; outline: 2px solid #f0b429; }
#sources .cite.related { border-left: 3px dashed #9ca3af; color: #4b5563; }
#sources .cite-head { font-size: 0.85em; color: #6b7280; }
#sources .cite-head a { font-weight: 600; color: #c2410c; text-decoration: none; }
#sources .para { white-space: pre-wrap; line-height: 1.7; margin-top: 4px; }
#sources mark { background: #ffe58f; padding: 0 2px; }
#sources .sources-title { font-weight: 600; margin-bottom: 4px; }
#sources .related-title { font-weight: 600; color: #b45309; }
#sources .sources-empty { color: #6b7280; }
#answer a.cite-ref { text-decoration: none; font-weight: 600; }
sup.fn { font-size: 0.7em; color: #6b7280; }
"""


def literal_markdown(text: str) -> str:
    """Text for a markdown component that renders exactly as typed: no tags, links, images or emphasis."""
    return MARKDOWN_SYNTAX.sub(lambda m: f"&#{ord(m.group())};", text)


def with_footnotes(escaped: str) -> str:
    """Footnote markers as superscripts (display only: the quote in the data stays exact)."""
    return FOOTNOTE.sub(r'<sup class="fn">\1</sup>', escaped)


def shown_question(q, chars: int | None = None) -> str:
    """What the chat shows of a user's input (`chars` long as typed): literal text, shortened if it
    is absurdly long."""
    q = "".join(ch if ch.isprintable() or ch in "\n\t" else "�" for ch in str(q))
    chars = max(chars or 0, len(q))
    if chars > SHOWN_QUESTION_CHARS:
        q = f"{q[:SHOWN_QUESTION_CHARS]}……（共 {chars} 字）"
    return literal_markdown(q)


def chat_markdown(text: str, anchors: dict[int, int] | None = None) -> str:
    """Answer text for the Chatbot: literal text (it may echo the user's words), footnotes as
    superscripts, [n] markers linked to their entry in the 来源 panel, the rewritten follow-up
    ("（理解为：…）") in italics on a line of its own."""
    anchors = anchors or {}
    understood = UNDERSTOOD.match(text)
    lines = [f"*{literal_markdown(understood.group().strip())}*"] if understood else []
    body = text[understood.end():] if understood else text
    for line in body.split("\n"):
        if not line.strip():
            continue
        parts = []
        for piece in re.split(r"(\^\[\d{1,3}\]|\[\d{1,3}\])", line):
            if FOOTNOTE.fullmatch(piece):
                parts.append(with_footnotes(piece))
            elif MARKER.fullmatch(piece):
                n = int(piece[1:-1])
                parts.append(f'<a class="cite-ref" href="#cite-{anchors.get(n, n)}">[{n}]</a>')
            else:
                parts.append(literal_markdown(piece))
        lines.append("".join(parts))
    return "\n\n".join(lines)


# ---------------------------------------------------------------- the 来源 panel

def paragraph_bounds(index: Index, doc: str, start: int, end: int) -> tuple[int, int]:
    """The blank-line-delimited paragraph around a span."""
    text = index.docs[doc].text
    breaks = index.extra(f"ui.paragraph_breaks.{doc}", lambda: [(m.start(), m.end()) for m in BLANK_LINE.finditer(text)])
    i = bisect_right([b[1] for b in breaks], start)  # breaks ending at or before the span
    j = bisect_left([b[0] for b in breaks], end)  # first break starting at or after the span's end
    return (breaks[i - 1][1] if i else 0), (breaks[j][0] if j < len(breaks) else len(text))


@dataclass
class SourceEntry:
    """One paragraph of the panel and every cited span inside it (neighbouring spans merged)."""
    doc: str
    section: str
    p_start: int
    p_end: int
    numbers: list[int] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)

    def merged_spans(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for a, b in sorted(self.spans):
            if out and a <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out


def source_entries(index: Index, citations: list) -> list[SourceEntry]:
    """Citations grouped by paragraph, in order of first citation: each cited span is shown once."""
    entries: dict[tuple[str, int], SourceEntry] = {}
    for c in citations:
        p_start, p_end = paragraph_bounds(index, c.doc, c.start, c.end)
        e = entries.setdefault((c.doc, p_start), SourceEntry(c.doc, c.section, p_start, p_end))
        e.numbers.append(c.n)
        e.spans.append((c.start, c.end))
    return list(entries.values())


def anchor_map(entries: list[SourceEntry]) -> dict[int, int]:
    """Citation number -> the number whose entry shows it (the first number of its paragraph)."""
    return {n: e.numbers[0] for e in entries for n in e.numbers}


def _highlighted(text: str, e: SourceEntry) -> str:
    spans = e.merged_spans()
    lo, hi = max(e.p_start, spans[0][0] - CONTEXT_CHARS), min(e.p_end, spans[-1][1] + CONTEXT_CHARS)
    out = ["……" if lo > e.p_start else ""]
    pos = lo
    for a, b in spans:
        out.append(with_footnotes(html.escape(text[pos:a])))
        out.append(f"<mark>{with_footnotes(html.escape(text[a:b]))}</mark>")
        pos = b
    out.append(with_footnotes(html.escape(text[pos:hi])) + ("……" if hi < e.p_end else ""))
    return "".join(out).strip()


def _entry(n: int, doc: str, start: int, end: int, section: str, body: str, extra_class: str = "",
           label: str = "") -> str:
    e = html.escape
    return (f'<div class="cite {extra_class}" id="cite-{n}" data-doc="{e(doc)}" data-start="{start}" data-end="{end}" '
            f'data-section="{e(section)}"><div class="cite-head"><a href="#cite-{n}">{label or f"[{n}]"}</a> {e(section)} '
            f'· <code>{e(doc)}:{start}-{end}</code></div><div class="para">{body}</div></div>')


def citations_html(index: Index, entries: list[SourceEntry]) -> str:
    out = ['<div class="sources-title">来源</div>']
    for e in entries:
        spans = e.merged_spans()
        label = "".join(f"[{n}]" for n in e.numbers)
        out.append(_entry(e.numbers[0], e.doc, spans[0][0], spans[-1][1], e.section,
                          _highlighted(index.docs[e.doc].text, e), label=label))
    return "\n".join(out)


def passages_html(hits: list, title: str, related: bool) -> str:
    """Ranked passages (只看原文, or what a refusal found): text only, nothing highlighted as support.
    The order is the relevance; fusion scores mean nothing to a reader and are not shown."""
    out = [f'<div class="{"related-title" if related else "sources-title"}">{html.escape(title)}</div>']
    for n, h in enumerate(hits, 1):
        c = h.chunk
        out.append(_entry(n, c.doc, c.start, c.end, c.section, with_footnotes(html.escape(c.text.strip())),
                          "related" if related else ""))
    return "\n".join(out)


def passage_list(hits: list) -> list[str]:
    """The chat's short list of passages, each linked to its full text in the panel."""
    return [f'<a class="cite-ref" href="#cite-{n}">[{n}]</a> {literal_markdown(h.chunk.section)}'
            for n, h in enumerate(hits, 1)]
