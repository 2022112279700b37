"""Types shared across stages: a span of source text and the parsed document tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of document `doc`; `text` is doc_text[start:end] when known."""

    doc: str
    start: int
    end: int
    text: str = ""

    def overlaps(self, doc: str, start: int, end: int) -> bool:
        return doc == self.doc and start < self.end and self.start < end


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
