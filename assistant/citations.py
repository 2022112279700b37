"""Citations are verified, not trusted.

Rules enforced on every answer, whoever wrote it (the extractive answerer or an LLM):
1. every citation's quote equals source[start:end] exactly;
2. every sentence of the answer carries at least one valid citation marker [n];
3. every number in a sentence (with its unit or percent sign) appears in the quotes it cites.
A sentence that breaks a rule is dropped; an answer left with no sentence becomes the refusal.
No existing library verifies span-level citations (llama-index's CitationQueryEngine cites whole
chunks and trusts the model), so this is our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import REFUSAL
from .text import MARKER, SENTENCE, number_in, numbers, split_sentences

# MARKER, SENTENCE, numbers and number_in stay importable from here for the answerer and the web app.
__all__ = ["Citation", "MARKER", "META_PREFIXES", "SENTENCE", "Verification", "check_sentence", "number_in",
           "numbers", "quote_valid", "split_sentences", "verify"]

# Lines the answerer adds about the answer itself (which question it answered); they state no fact.
META_PREFIXES = ("（理解为：", "（手册中没有找到")


@dataclass
class Citation:
    n: int
    doc: str
    start: int
    end: int
    section: str
    quote: str

    def as_json(self) -> dict:
        return {"n": self.n, "doc": self.doc, "start": self.start, "end": self.end, "section": self.section, "quote": self.quote}


@dataclass
class Verification:
    ok: bool
    answer: str
    citations: list[Citation]
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (sentence, reason)


def quote_valid(c: Citation, sources: dict[str, str]) -> bool:
    src = sources.get(c.doc)
    return src is not None and 0 <= c.start < c.end <= len(src) and src[c.start:c.end] == c.quote


def check_sentence(sentence: str, cites: dict[int, Citation]) -> str | None:
    """The reason a sentence fails, or None."""
    if sentence.strip().startswith(META_PREFIXES):
        return None
    refs = [int(n) for n in MARKER.findall(sentence)]
    if not refs:
        return "no citation"
    if any(n not in cites for n in refs):
        return "citation marker without a verified quote"
    quotes = "\n".join(cites[n].quote for n in refs)
    for num, unit in numbers(sentence):
        if not number_in(num, unit, quotes):
            return f"number {num}{unit} not in cited quotes"
    return None


def verify(answer: str, citations: list[Citation], sources: dict[str, str]) -> Verification:
    """Check an answer; drop failing sentences, renumber citations; refuse if nothing is left."""
    valid = {c.n: c for c in citations if quote_valid(c, sources)}
    kept, dropped = [], []
    for s in split_sentences(answer):
        reason = check_sentence(s, valid)
        if reason:
            dropped.append((s.strip(), reason))
        else:
            kept.append(s)
    facts = [s for s in kept if not s.strip().startswith(META_PREFIXES)]
    ok = not dropped and len(valid) == len(citations)
    if not facts:
        return Verification(False, REFUSAL, [], dropped)
    text = "".join(kept).strip()
    used = sorted({int(n) for n in MARKER.findall(text)})
    renumber = {old: new for new, old in enumerate(used, 1)}
    text = MARKER.sub(lambda m: f"[{renumber[int(m.group(1))]}]", text)
    out = [Citation(renumber[c.n], c.doc, c.start, c.end, c.section, c.quote) for c in sorted(valid.values(), key=lambda c: c.n) if c.n in renumber]
    return Verification(ok, text, out, dropped)
