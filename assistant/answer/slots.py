"""The slot an entity question asks for ("领投方是谁？" asks for a company) and the names of that kind a text holds."""

from __future__ import annotations

import re

from .frame import CITIES, answer_type
from .rules import RULES

# the name patterns of data/rules.toml ([entity_names]) that can fill each asked slot
SLOT_NAMES = {"company": ("COMPANY_NAME",), "institution": ("INSTITUTION_NAME", "COMPANY_NAME"),
              "district": ("DISTRICT_NAME",), "city": (), "person": ()}
MIN_NAME_CHARS = {"company": 4, "institution": 4, "district": 3, "city": 2, "person": 2}
CHAINED = RULES.patterns["chained_question"].pattern
GENERIC_NAME = RULES.patterns["generic_name"].pattern


def asked_kind(question: str) -> str | None:
    """The [[entity_slot]] rule of data/rules.toml matching first in the question ("是哪家？落在哪个区"
    asks for a company first); at the same place, the longer match ("是谁写" over "是谁"), then the
    rule listed first."""
    found = [(m.start(), -len(m.group()), k, r.name) for k, r in enumerate(RULES.entity_slots)
             if (m := r.pattern.search(question))]
    return min(found)[3] if found else None


def slot_kind(question: str) -> str | None:
    """Which kind of entity an entity question asks for (None: not an entity question, a chained
    one, or unclear). A question typed as a plain fact may still ask for an entity ("是哪位？")."""
    if answer_type(question) not in ("entity", "fact") or CHAINED.search(question):
        return None
    return asked_kind(question)


def names_in(text: str, kind: str) -> list[str]:
    """Distinct names of the kind in the text, in order; a name inside a longer one is dropped."""
    found: list[str] = []
    for key in SLOT_NAMES[kind]:
        for m in RULES.entity_names[key].finditer(text):
            name = m.group()[RULES.entity_name_trim.match(m.group()).end():]
            if len(name) >= MIN_NAME_CHARS[kind] and name not in found and not GENERIC_NAME.match(name):
                found.append(name)
    if kind == "city":
        found += [c for c in CITIES if c in text]
    return [n for n in found if not any(n != o and n in o for o in found)]


def named_in_question(name: str, question: str) -> bool:
    """The question itself names it (in full, or by the first two characters of its core: "粤科金融")."""
    core = re.sub(r"^(?:广东省|广东|" + "|".join(CITIES) + r")市?", "", name) or name
    return name in question or core[:2] in question
