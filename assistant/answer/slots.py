"""The slot an entity question asks for ("领投方是谁？" asks for a company) and the names of that kind a text holds."""

from __future__ import annotations

import re
from functools import lru_cache

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


@lru_cache(maxsize=256)
def asked_slot(question: str) -> str | None:
    """Which kind of entity a question asks for (None: not an entity question). A question typed as a
    plain fact may still ask for an entity ("是哪位？")."""
    return asked_kind(question) if answer_type(question) in ("entity", "fact") else None


def slot_kind(question: str) -> str | None:
    """asked_slot for an answer's lead line: None also for a chained question ("这家车企还投了哪家"),
    whose quotes name the entity it describes, not the one it asks for."""
    return None if CHAINED.search(question) else asked_slot(question)


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
