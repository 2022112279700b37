"""What a sentence opening with a reference ("该企业从事……") refers to: the unit before it naming it."""

from __future__ import annotations

from ..chunking import Unit
from ..index import Index
from .rules import RULES

ANTECEDENT_REACH = 2  # units walked back from "该企业……" to the one naming the company


def neighbour(index: Index, u: Unit, step: int) -> Unit | None:
    """The next/previous unit in the same section (chunks may overlap or split a section)."""
    k = u.id + step
    while 0 <= k < len(index.units) and index.units[k].section == u.section:
        if index.units[k].spans[0].start != u.spans[0].start:
            nb = index.units[k]
            return nb if (nb.spans[0].start > u.spans[0].start) == (step > 0) else None
        k += step
    return None


def antecedent(unit: Unit, index: Index) -> Unit | None:
    """For a unit opening with a reference ("该企业从事……"), the unit before it in the same section
    (at most ANTECEDENT_REACH back) that names the referent (see [[anaphor]] in data/rules.toml)."""
    ref = next((a for a in RULES.anaphors if a.pattern.match(unit.text)), None)
    cur = unit
    for _ in range(ANTECEDENT_REACH if ref else 0):
        cur = neighbour(index, cur, -1)
        if cur is None:
            return None
        if ref.referent.search(cur.text):
            return cur
    return None


def referent_name(unit: Unit, index: Index) -> str:
    """The name a unit opening with a reference refers to ("" when it opens with none, or none is found):
    "该企业从事自研芯片的碳化硅功率器件生产" -> "深圳基本半导体有限公司", named the sentence before."""
    prev = antecedent(unit, index)
    if prev is None:
        return ""
    ref = next(a for a in RULES.anaphors if a.pattern.match(unit.text))
    return ref.referent.search(prev.text).group()
