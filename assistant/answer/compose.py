"""Composition: which units make the answer (the best with its context, close runners-up), and
the answer text with a citation marker after every sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..chunking import Unit
from ..citations import Citation
from ..index import Index
from ..types import Span
from .anaphora import antecedent, neighbour
from .evidence import ENUMERATION, PRESCRIPTIVE, Candidate
from .frame import Frame, named_places
from .items import FIRST_POINT
from .rules import RULES

ASKS_POINTS = RULES.patterns["asks_points"].pattern
CONTINUES = RULES.patterns["continues"].pattern
ANNOUNCING_END = ("：", ":")


@dataclass(frozen=True)
class AnswerSettings:
    """The composition settings of one answer (copied from Config; the threshold from the model)."""

    threshold: float
    join_ratio: float
    max_context_units: int
    list_extra: int
    other_extra: int


def cite_span(sp: Span, section: str, cites: list[Citation]) -> Citation:
    """The citation of a span, reusing the number of the same span already cited."""
    existing = next((c for c in cites if (c.doc, c.start, c.end) == (sp.doc, sp.start, sp.end)), None)
    if existing is None:
        existing = Citation(len(cites) + 1, sp.doc, sp.start, sp.end, section, sp.text)
        cites.append(existing)
    return existing


def cite_unit(u: Unit, cites: list[Citation]) -> str:
    """Citation markers for a unit's spans, reusing numbers for spans already cited."""
    return "".join(dict.fromkeys(f"[{cite_span(sp, u.section, cites).n}]" for sp in u.spans))


def compose(units: list[Unit], cites: list[Citation], notes: list[str] = ()) -> str:
    """One line per unit; every sentence of it carries the unit's markers."""
    lines = []
    for u in units:
        marks = cite_unit(u, cites)
        text = re.sub(r"[；;，,、\s]+$", "", u.text)
        parts = [p for p in re.findall(r"[^。！？!?]+[。！？!?]*[”’」）)]*", text) if p.strip()]
        lines.append("".join((p.rstrip() if re.search(r"[。！？!?]", p) or p.rstrip().endswith(ANNOUNCING_END)
                              else p.rstrip() + "。") + marks for p in parts))
    return "\n".join(list(lines) + list(notes))


def _prescriptive(u: Unit) -> bool:
    return bool(PRESCRIPTIVE.search(u.text))


def with_context(unit: Unit, f: Frame, index: Index, max_units: int) -> list[Unit]:
    """The unit of an answer is a fact with its context: the unit naming what it refers to ("该企业…"),
    the rest of a sentence split at ；, a next sentence that elaborates ("这要求…"), the items of an
    enumeration it opens ("一是…；二是…"), the body of a short enumerated heading ("第二，搭建……平台。"
    + how), or for a how-question the recommendation that follows a description of the problem."""
    prev = antecedent(unit, index)
    out, cur = ([prev] if prev else []) + [unit], unit
    while len(out) < max_units + (prev is not None):
        nxt = neighbour(index, cur, 1)
        if nxt is None:
            break
        heading = ENUMERATION.match(cur.text) and len(cur.text) <= 30 and not ENUMERATION.match(nxt.text)
        if (cur.joins_next or CONTINUES.match(nxt.text) or heading
                or (ENUMERATION.match(cur.text) and ENUMERATION.match(nxt.text) and cur.joins_next)
                # a how-answer: the recommendation after the problem, and the measures that follow it
                or (f.answer_type == "how" and _prescriptive(nxt) and (cur is unit or _prescriptive(cur)))):
            out.append(nxt)
            cur = nxt
        else:
            break
    return out


# (operation, pattern): the first that matches the question decides (see data/rules.toml)
OPERATIONS = tuple((name, RULES.patterns[f"asks_{name}"].pattern) for name in ("ratio", "difference", "sum", "more", "less"))


def pick_units(ranked: list[Candidate], f: Frame, index: Index, s: AnswerSettings) -> list[Unit]:
    """The best candidate with its context, then close runners-up for list and how questions.

    ranked is best first by the model's p; the caller has already decided that ranked[0] answers.
    """
    best = ranked[0]
    if ENUMERATION.match(best.unit.text) and ASKS_POINTS.search(f.question):
        # "袁锋总结了哪几条经验": the whole enumeration the best unit belongs to, in order
        siblings = [u for u in index.units if u.section == best.unit.section and ENUMERATION.match(u.text)
                    and u.kind == best.unit.kind]
        seen: set[int] = set()
        chosen = [u for u in siblings if not (u.spans[0].start in seen or seen.add(u.spans[0].start))][:6]
        return sorted(chosen, key=lambda u: (u.spans[0].doc, u.spans[0].start))
    chosen = with_context(best.unit, f, index, s.max_context_units)
    prev = neighbour(index, best.unit, -1)
    if prev is not None and prev.joins_next and any(c.unit.id == prev.id and c.p >= s.threshold for c in ranked):
        chosen.insert(0, prev)
    limit = s.list_extra if f.answer_type in ("how", "list") else s.other_extra
    added = 0
    computes = any(rx.search(f.question) for _, rx in OPERATIONS)  # "比广州多几家": the other place's figure is an operand
    for c in ranked[1:]:
        if added >= limit or c.p < max(s.threshold, best.p * s.join_ratio):
            break
        if c.features["gate_focus_places"] < best.features["gate_focus_places"] and not computes \
                and set(named_places(c.unit.text)) - set(f.places) - {RULES.home}:
            continue  # about another place than those asked ("东莞有多少家上市小巨人" is not answered by 广州's)
        if c.unit.id not in {u.id for u in chosen} and c.unit.text not in {u.text for u in chosen}:
            chosen.extend(u for u in (antecedent(c.unit, index), c.unit) if u is not None)
            added += 1
    if ASKS_POINTS.search(f.question):
        chosen += [p for u in list(chosen) for p in points_announced(u, index)]
    return _in_order(chosen)


def points_announced(unit: Unit, index: Index, limit: int = 6) -> list[Unit]:
    """The enumeration a unit opens, when its points stand paragraphs apart ("主要从以下几个方面入手：" or
    "一是适应时代需要的政策引导。", then "二是…", each followed by paragraphs that elaborate it): the enumerated
    units of its section from the first point on, up to the next first point. [] when the unit opens none."""
    opens = FIRST_POINT.match(unit.text)
    if not opens and not unit.text.rstrip().endswith(ANNOUNCING_END):
        return []
    after = [u for u in index.units if u.section == unit.section and u.spans[0].doc == unit.spans[0].doc
             and u.spans[0].start > unit.spans[0].start and ENUMERATION.match(u.text)]
    after = ([unit] if opens else []) + after
    if not after or not FIRST_POINT.match(after[0].text):
        return []
    points = [after[0]]
    for u in after[1:]:
        if FIRST_POINT.match(u.text) or len(points) >= limit:
            break
        if u.spans[0].start != points[-1].spans[0].start:  # overlapping chunks repeat a sentence
            points.append(u)
    return points


def _in_order(units: list[Unit]) -> list[Unit]:
    """Units in reading order, each span quoted once (overlapping chunks repeat a sentence)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for u in sorted(units, key=lambda u: (u.spans[0].doc, u.spans[0].start)):
        key = (u.spans[0].doc, u.spans[0].start)
        if key not in seen:
            seen.add(key)
            out.append(u)
    return out
