"""The asked slot first: for a question asking which company, institution, person or place, one short
line naming it ("答：深圳基本半导体有限公司[1]") before the quotes that support it.

The name is taken, in this order, from the best cited unit, the units quoted with it from the same
section (the sentence naming what "该企业" refers to), the sentence after or before it, the byline of an expert
column, the company profile the unit belongs to, or the heading of its section. The line cites a span that contains the
name, so the verifier checks it like any other sentence. When a source holds two or more names of
the asked kind and no single one is tied to the superlative the question asks for, the slot is
ambiguous and no line is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..chunking import Unit, search_tokens
from ..citations import Citation
from ..index import Index
from ..text import bare_text
from ..types import Span
from .anaphora import ANTECEDENT_REACH, antecedent, neighbour
from .compose import cite_span
from .rules import RULES
from .slots import named_in_question, names_in, slot_kind

RANKS = re.compile(r"最|第一|首位|居首|之首|榜首|领先")
CLAUSE = re.compile(r"[，；。,;]")
LEAD_PREFIX = "答："
GENERIC_WORD = RULES.patterns["generic_word"].pattern


@dataclass(frozen=True)
class Lead:
    name: str
    span: Span  # a cited span whose text contains the name
    section: str


def _asked(names: list[str], text: str, question: str) -> str | None:
    """The one name the question asks for among the names of a source, or None when ambiguous."""
    names = [n for n in names if not named_in_question(n, question)]
    if len(names) == 1:
        return names[0]
    if len(names) > 1 and RANKS.search(question):
        # "哪个区最多": the name in the same clause as the ranking word
        ranked = [n for n in names if any(n in c and RANKS.search(c) for c in CLAUSE.split(text))]
        return ranked[0] if len(ranked) == 1 else None
    return None


def _said_of(name: str, text: str, question: str, context: str = "") -> bool:
    """What the question says about the asked entity stands next to the name: a content word of the
    question in the name's clause or a neighbouring one ("我曾服务广汽集团16年" does not answer
    "袁锋现任职于哪家企业"). Words of the context (a section path) do not count."""
    clauses = CLAUSE.split(text)
    words = [t for t in search_tokens(question)
             if len(t) >= 2 and not GENERIC_WORD.match(t) and t not in name and t not in context]
    for i, c in enumerate(clauses):
        if name in c:
            window = "".join(clauses[max(i - 1, 0):i + 2]).replace(name, "")
            if any(w in window for w in words):
                return True
    return False


def _from_units(units: list[Unit], kind: str, question: str, trust: str) -> tuple[str, Span] | None | bool:
    """(name, span) found in the units' cited spans; False when they hold names but not one asked.
    trust: "resolves" (the units name what the best unit refers to, "该企业", and the best unit is what
    matched the question), "chosen" (the answer quotes them) or "near" (sentences next to the best one,
    not chosen: the words of their section path, which every sentence there shares, do not count)."""
    spans = [sp for u in units for sp in u.spans]
    text = "\n".join(bare_text(sp.text) for sp in spans)
    names = [n for n in names_in(text, kind) if not named_in_question(n, question)]
    if not names:
        return None
    name = _asked(names, text, question)
    if name is None:
        return False
    if trust != "resolves" and not _said_of(name, text, question, units[0].section if trust == "near" else ""):
        return None  # the one name there is not what the question describes: look further
    span = next((sp for sp in spans if name in bare_text(sp.text)), None)
    return (name, span) if span else None


def _nearby(best: Unit, index: Index, step: int) -> list[Unit]:
    """The units after (step 1) or before (-1) the best one in its section, as far as a reference reaches."""
    out: list[Unit] = []
    for _ in range(ANTECEDENT_REACH):
        nxt = neighbour(index, out[-1] if out else best, step)
        if nxt is None:
            break
        out.append(nxt)
    return out


def _byline(best: Unit, index: Index) -> Span | None:
    """The first byline line (the author's name) of the expert column the unit belongs to."""
    return next((u.spans[0] for u in index.units if u.kind == "byline" and u.section == best.section), None)


def _profile_name(best: Unit, index: Index) -> Span | None:
    if not best.company:
        return None
    return next((p.name_span for d in index.docs.values() for p in d.profiles if p.name == best.company), None)


def heading_span(unit: Unit, index: Index) -> Span | None:
    """The heading line of the unit's own section, as a citable span of the source."""
    doc = index.docs.get(unit.spans[0].doc)
    if doc is None:
        return None
    sec = next((s for s in doc.sections if " > ".join(s.path) == unit.section), None)
    if sec is None:
        return None
    end = doc.text.find("\n", sec.start)
    end = len(doc.text) if end < 0 else end
    return doc.span(sec.start, end) if doc.text[sec.start:end].strip() else None


def find_lead(question: str, units: list[Unit], best: Unit, index: Index) -> Lead | None:
    """The entity an entity question asks for, with a span to cite, or None (not asked, not found,
    or ambiguous)."""
    kind = slot_kind(question)
    if kind is None or not units:
        return None
    named = antecedent(best, index)
    near = [u for u in units if u.section == best.section and u is not best and u is not named]
    # (units, whether they name what the best unit refers to: then the best unit matched the question)
    sources = [([best], "chosen"), ([named] if named else [], "resolves"), (near, "chosen")]
    # "the name stands in the next sentence", or in the one before ("去年我加入…芯联集成电路制造股份有限公司
    # （简称“芯联集成”）" before "我认为，芯联集成跑出加速度…")
    sources += [([u], "near") for step in (1, -1) for u in _nearby(best, index, step)]
    for group, trust in sources if kind != "person" else []:
        found = _from_units(group, kind, question, trust) if group else None
        if found is False:
            return None
        if found:
            return Lead(found[0], found[1], best.section)
    if kind == "person":  # a person is named by the byline of the column the quote comes from
        span = _byline(best, index)
        return Lead(bare_text(span.text), span, best.section) if span else None
    span = (_byline(best, index) if kind == "institution" else _profile_name(best, index)) or heading_span(best, index)
    if span is None:
        return None
    name = _asked(names_in(bare_text(span.text), kind), bare_text(span.text), question)
    return Lead(name, span, best.section) if name else None


def lead_line(lead: Lead, cites: list[Citation]) -> str:
    """The line "答：<name>[n]", registering the citation of the span that holds the name."""
    return f"{LEAD_PREFIX}{lead.name}[{cite_span(lead.span, lead.section, cites).n}]"


def entity_leads(asked: list[tuple[str, list[Unit], str]], index: Index, cites: list[Citation]) -> str:
    """Lead lines (each ending in a line break) for the entity sub-questions of an answer.

    asked: (sub-question, its chosen units, the text its best unit begins with).
    """
    leads: list[Lead] = []
    for question, units, best_text in asked:
        best = next((u for u in units if best_text and u.text.startswith(best_text)), units[0] if units else None)
        lead = find_lead(question, units, best, index) if best else None
        if lead and lead.name not in {x.name for x in leads}:
            leads.append(lead)
    return "".join(lead_line(x, cites) + "\n" for x in leads)
