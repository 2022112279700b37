"""Citations are verified, not trusted.

Rules enforced on every answer, whoever wrote it (the extractive answerer or an LLM):
1. every citation's quote equals source[start:end] exactly;
2. every sentence of the answer carries at least one valid citation marker [n];
3. every number in a sentence (with its unit or percent sign) appears in the quotes it cites, or is
   the result of a derivation the sentence states, "752 − 249 = 503", "37 + 28 = 65" or
   "1082 ÷ 247 ≈ 4.4", whose operands are in those quotes and whose arithmetic is right (a ratio
   rounded to the decimals it is written with). A sentence stating a wrong derivation is dropped.
A sentence that breaks a rule is dropped; an answer left with no sentence becomes the refusal.
No existing library verifies span-level citations (llama-index's CitationQueryEngine cites whole
chunks and trusts the model), so this is our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .config import REFUSAL
from .text import MARKER, SENTENCE, number_in, numbers, split_sentences

# MARKER, SENTENCE, numbers and number_in stay importable from here for the answerer and the web app.
__all__ = ["Citation", "Derivation", "MARKER", "META_PREFIXES", "SENTENCE", "Verification", "check_sentence",
           "derivations", "number_in", "numbers", "quote_valid", "split_sentences", "ungrounded", "verify"]

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
    bad = ungrounded(sentence, quotes)
    return f"number {bad[0]} not in cited quotes" if bad else None


# ---------------------------------------------------------------- stated derivations

TERM = r"(\d+(?:\.\d+)?)\s*(%|万|亿|千|百)?"
# "752 − 249 = 503", "37 + 28 + 21 = 86", "1082 ÷ 247 ≈ 4.4": one operator throughout; − is U+2212,
# never the hyphen of a date or a range ("2015-07", "50-100家")
DERIVATION = re.compile(rf"{TERM}(?:\s*([−+÷])\s*{TERM})+\s*([=≈])\s*{TERM}")


@dataclass(frozen=True)
class Derivation:
    text: str
    operator: str
    operands: tuple[tuple[str, str], ...]  # (number, unit) as numbers() reads them
    result: tuple[str, str]
    approximate: bool  # "≈": the result is rounded to the decimals it is written with

    def arithmetic_holds(self) -> bool:
        try:
            values = [Decimal(n) for n, _ in self.operands]
            result = Decimal(self.result[0])
        except InvalidOperation:
            return False
        units = {u for _, u in self.operands}
        if self.operator == "÷":
            if len(values) != 2 or not values[1] or self.result[1]:
                return False
            exact = values[0] / values[1]
        else:
            # a sum or difference keeps its operands' unit (percentage points may be written bare)
            if len(units) != 1 or self.result[1] not in units | ({""} if units == {"%"} else set()):
                return False
            exact = sum(values[1:], values[0]) if self.operator == "+" else values[0] - sum(values[1:])
        if not self.approximate:
            return exact == result
        places = -result.as_tuple().exponent if result.as_tuple().exponent < 0 else 0
        return abs(exact - result) <= Decimal(5) / Decimal(10) ** (places + 1)


def derivations(sentence: str) -> list[Derivation]:
    out = []
    for m in DERIVATION.finditer(MARKER.sub(" ", sentence)):
        ops = set(re.findall(r"[−+÷]", m.group()))
        terms = [(n, u or "") for n, u in re.findall(TERM, m.group())]
        if len(ops) == 1 and (m.group().count("≈") == 0 or ops == {"÷"}):
            out.append(Derivation(m.group(), ops.pop(), tuple(terms[:-1]), terms[-1], "≈" in m.group()))
        else:
            out.append(Derivation(m.group(), "?", tuple(terms[:-1]), terms[-1], False))  # mixed: never holds
    return out


def ungrounded(sentence: str, quotes: str) -> list[str]:
    """Numbers of a sentence that are neither in its quotes nor the result of a right derivation
    from numbers in its quotes; a wrong or partly cited derivation is reported as a whole."""
    derived: list[tuple[str, str]] = []
    for d in derivations(sentence):
        if not d.arithmetic_holds() or not all(number_in(n, u, quotes) for n, u in d.operands):
            return [f"（{d.text}）"]
        derived.append(d.result)
    return [num + unit for num, unit in numbers(sentence)
            if not number_in(num, unit, quotes) and not any(u == unit and _same(n, num) for n, u in derived)]


def _same(a: str, b: str) -> bool:
    return Decimal(a) == Decimal(b)


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
