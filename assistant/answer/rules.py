"""The answerer's rules, read from data/rules.toml: word lists and patterns, each with examples.

Rules are data so they can be read, reviewed and tested one by one (tests/unit/test_rules.py checks
every rule against its own examples); the code that uses them stays small.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

RULES_PATH = Path(__file__).parent / "data" / "rules.toml"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    examples: tuple[str, ...] = ()
    not_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Qualifier:
    cue: re.Pattern
    support: str  # pattern source: searched in the candidate sentence
    examples: tuple[tuple[str, str], ...] = ()  # (question, supporting sentence)
    not_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Anaphor:
    """A reference at the start of a unit ("该企业……") and what a unit must hold to name its referent."""

    name: str
    pattern: re.Pattern
    referent: re.Pattern
    examples: tuple[str, ...] = ()
    not_examples: tuple[str, ...] = ()
    referent_examples: tuple[str, ...] = ()
    referent_not_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    cities: tuple[str, ...]
    provinces: tuple[str, ...]
    regions: tuple[str, ...]
    boards: tuple[str, ...]
    generic_names: frozenset[str]
    home: str  # the handbook's own place: a sentence about all of it is no other place's fact
    answer_types: tuple[Rule, ...]
    value: dict[str, re.Pattern]
    value_examples: dict[str, tuple[str, ...]]
    qualifiers: tuple[Qualifier, ...]
    patterns: dict[str, Rule]
    anaphors: tuple[Anaphor, ...] = ()
    entity_names: dict[str, re.Pattern] = field(default_factory=dict)  # kind -> pattern of a name of that kind
    entity_name_trim: re.Pattern | None = None  # the words that introduce a name, before it in a match
    entity_name_examples: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # kind -> (text, name)
    entity_slots: tuple[Rule, ...] = ()


def _expand(pattern: str, fragments: dict[str, str]) -> str:
    # plain replacement: patterns hold regex braces such as .{0,6}
    for name, frag in fragments.items():
        pattern = pattern.replace("{" + name + "}", frag)
    return pattern


def _rule(name: str, d: dict, fr: dict[str, str]) -> Rule:
    return Rule(name, re.compile(_expand(d["pattern"], fr)), tuple(d.get("examples", ())), tuple(d.get("not_examples", ())))


@lru_cache(maxsize=2)
def load(path: Path = RULES_PATH) -> Rules:
    d = tomllib.loads(Path(path).read_text("utf-8"))
    fr, lex = d["fragments"], d["lexicon"]
    return Rules(
        cities=tuple(lex["cities"]), provinces=tuple(lex["provinces"]), regions=tuple(lex["regions"]),
        boards=tuple(lex["boards"]), generic_names=frozenset(lex["generic_names"]), home=lex["home"],
        answer_types=tuple(_rule(a["name"], a, fr) for a in d["answer_type"]),
        value={k: re.compile(_expand(v, fr)) for k, v in d["value"].items()},
        value_examples={k: tuple(v) for k, v in d["value_examples"].items()},
        qualifiers=tuple(Qualifier(re.compile(q["cue"]), _expand(q["support"], fr),
                                   tuple(tuple(e) for e in q.get("examples", ())), tuple(q.get("not_examples", ())))
                         for q in d["qualifier"]),
        patterns={k: _rule(k, v, fr) for k, v in d["patterns"].items()},
        **_entity_rules(d),
    )


def _entity_rules(d: dict) -> dict:
    names = {k: v for k, v in d["entity_names"].items() if k != "trim"}
    anaphors = tuple(Anaphor(a["name"], re.compile(a["pattern"]), re.compile(_expand(a["referent"], names)),
                             tuple(a.get("examples", ())), tuple(a.get("not_examples", ())),
                             tuple(a.get("referent_examples", ())), tuple(a.get("referent_not_examples", ())))
                     for a in d["anaphor"])
    return {"anaphors": anaphors, "entity_names": {k: re.compile(v) for k, v in names.items()},
            "entity_name_trim": re.compile(d["entity_names"]["trim"]),
            "entity_name_examples": {k: tuple(tuple(e) for e in v) for k, v in d["entity_name_examples"].items()},
            "entity_slots": tuple(_rule(s["name"], s, {}) for s in d["entity_slot"])}


RULES = load()
