"""Text helpers written once: sentences, citation markers, numbers with their units.

Two sentence splitters with different jobs: `sentence_spans` cuts source text into citable spans
(at 。！？ and ；, and at line breaks outside paragraphs); `split_sentences` cuts an answer into
its sentences, each keeping the citation markers that follow it.
"""

from __future__ import annotations

import re

# A citation marker in an answer: "[3]".
MARKER = re.compile(r"\[(\d{1,3})\]")
WHITESPACE = re.compile(r"\s+")


def bare_text(text: str) -> str:
    """Text without citation markers and whitespace: extractive answers quote source text that
    markers and line breaks may split, so containment is judged on this form."""
    return WHITESPACE.sub("", MARKER.sub("", text))


# ---------------------------------------------------------------- sentences

# An answer sentence: up to its end punctuation (or line break), with the markers after it.
SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」）)]*|\n|$)(?:\s*\[\d{1,3}\])*")


def split_sentences(answer: str) -> list[str]:
    """The sentences of an answer, each with the citation markers that follow it."""
    return [s for s in (m.group(0) for m in SENTENCE.finditer(answer)) if s.strip()]


SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」）)]*|\n+")
SENTENCE_END_NO_LINES = re.compile(r"[。！？；!?;]+[”’」）)]*")


def sentence_spans(text: str, base: int, split_lines: bool = True) -> list[tuple[int, int, bool]]:
    """Sentence spans (absolute start, end, ended-at-semicolon) of text starting at offset base.

    Inside a paragraph a line break is a page break, not a sentence end (split_lines=False).
    """
    out, pos = [], 0
    for m in (SENTENCE_END if split_lines else SENTENCE_END_NO_LINES).finditer(text):
        end = m.end() if m.group().strip() else m.start()
        piece = text[pos:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            out.append((base + pos + lead, base + end - trail, m.group().strip()[:1] in ("；", ";")))
        pos = m.end()
    if text[pos:].strip():
        piece = text[pos:]
        lead = len(piece) - len(piece.lstrip())
        out.append((base + pos + lead, base + len(text.rstrip()), False))
    return out


# ---------------------------------------------------------------- numbers with their units

# A number with its unit: "1.5万余件" -> ("1.5", "万"), "32.9%" -> ("32.9", "%"), "2015-07" -> ("2015", "")
NUMBER = re.compile(r"(?<![\d.])(\d+(?:[.,]\d+)*)\s*(%|％|万|亿|千|百)?")
# A number with its counting word, as a cut must never split it: "1525家", "3.5亿元", "45%".
NUMBER_WITH_UNIT = re.compile(r"\d[\d,.]*(?:%|[万亿千百]?(?:余|多)?(?:元|家|件|项|个|次|台|人|名|倍|年|月|日|亩|片|类|批|级|轮|城|所)?)")


def numbers(text: str) -> list[tuple[str, str]]:
    """Numbers with their unit; citation markers are not numbers."""
    text = MARKER.sub(" ", text)
    return [(m.group(1).replace(",", ""), (m.group(2) or "").replace("％", "%")) for m in NUMBER.finditer(text)]


def number_in(num: str, unit: str, quotes: str) -> bool:
    """The number (same value: "5" matches "05" of "2022-05") with the same unit is in the quotes."""
    for m in NUMBER.finditer(quotes):
        if _same_value(m.group(1).replace(",", ""), num) and (not unit or (m.group(2) or "").replace("％", "%") == unit):
            return True
    return False


def _same_value(a: str, b: str) -> bool:
    try:
        return a == b or float(a) == float(b)
    except ValueError:
        return False
