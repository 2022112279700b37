"""The handbook's abbreviations and everyday synonyms (data/lexicon.toml).

Two uses: a BM25 query gets the handbook's forms of the terms a question uses ("IPO" -> 上市,
"工业和信息化部" -> 工信部, 深圳、广州、东莞、佛山 -> 深广莞佛), and a question term counts as covered
by a sentence that holds one of its equivalents (alternatives()). The dense query stays the user's text.
This module imports nothing of the package: retrieval.py uses it too.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("data") / "lexicon.toml"
# quote marks and spaces do not change a term: "专精特新“小巨人”" = "专精特新小巨人"
IGNORED = re.compile(r"[\s“”\"'‘’「」『』《》]+")


@lru_cache(maxsize=4096)  # the lexicon's forms are normalised again for every question
def normal(text: str) -> str:
    return IGNORED.sub("", text).lower()


@dataclass(frozen=True)
class Entry:
    key: str  # the handbook's own form
    handbook: tuple[str, ...]  # other forms the handbook uses with the same meaning
    everyday: tuple[str, ...]  # wordings people use; they trigger the entry, they are never added
    members: tuple[str, ...]  # a group name's members as the handbook lists them
    members_line: int | None
    line: int  # 1-based line of corpus/handbook.txt that holds the key
    quote: str
    basis: str  # "handbook" | "common usage"
    example: str

    @property
    def handbook_forms(self) -> tuple[str, ...]:
        return (self.key,) + self.handbook

    @property
    def forms(self) -> tuple[str, ...]:
        return self.handbook_forms + self.everyday


def _entry(d: dict) -> Entry:
    src = d["source"]
    return Entry(d["key"], tuple(d.get("handbook", ())), tuple(d.get("everyday", ())), tuple(d.get("members", ())),
                 d.get("members_line"), src["line"], src["quote"], src["basis"], d["example"])


@lru_cache(maxsize=2)
def load(path: Path = LEXICON_PATH) -> tuple[Entry, ...]:
    return tuple(_entry(d) for d in tomllib.loads(Path(path).read_text("utf-8"))["entry"])


def _occurs(form: str, text: str) -> bool:
    """A normalised form in normalised text; a Latin form only as a whole word ("pe" is not in "open")."""
    f = normal(form)
    if f.isascii():
        return re.search(rf"(?<![a-z]){re.escape(f)}(?![a-z])", text) is not None
    return f in text


@dataclass(frozen=True)
class Match:
    entry: Entry
    form: str  # the form the question used ("" when it named every member of a group)


@lru_cache(maxsize=256)  # retrieval, coverage and the question features all ask about the same question
def matches(question: str) -> tuple[Match, ...]:
    """The entries a question uses: by one of their forms (the longest it holds), or by naming every member."""
    q = normal(question)
    out = []
    for e in load():
        used = [f for f in e.forms if _occurs(f, q)]
        if used:
            out.append(Match(e, max(used, key=len)))
        elif e.members and all(normal(m) in q for m in e.members):
            out.append(Match(e, ""))
    return tuple(out)


def expansion(question: str) -> list[str]:
    """The handbook forms a BM25 query gets: those of the entries it uses (by a form or by naming every
    member of a group) that it does not hold already. When the question already uses a handbook form,
    a longer one that contains it ("国家工信部" for "工信部") adds only a qualifier nobody asked for,
    so it is left out."""
    q = normal(question)
    out: list[str] = []
    for m in matches(question):
        own = normal(m.form) if m.form in m.entry.handbook_forms else ""
        out += [f for f in m.entry.handbook_forms
                if normal(f) not in q and not (own and own in normal(f)) and f not in out]
    return out


def alternatives(question: str, terms: list[str]) -> dict[str, tuple[str, ...]]:
    """For each question term, lower-cased wordings that stand for it in a sentence.

    A term inside the form the question used stands for the whole form, so any other form of the
    entry covers it ("研发费用": 费用 is covered by 研发投入). A term that holds the form gets the other
    forms in its place. Members of a group the question lists in full are covered by the group name.
    """
    out: dict[str, list[str]] = {}
    for m in matches(question):
        if not m.form:
            for t in terms:
                if any(t == normal(x) for x in m.entry.members):
                    out.setdefault(t, []).extend(f.lower() for f in m.entry.handbook_forms)
            continue
        used = normal(m.form)
        # as written (quote marks kept): they are looked up in the sentence's own text
        others = [f.lower() for f in m.entry.forms if normal(f) != used]
        for t in terms:
            if t and t in used:
                out.setdefault(t, []).extend(others)
            elif used in t:
                out.setdefault(t, []).extend(t.replace(used, o) for o in others)
    return {t: tuple(dict.fromkeys(v)) for t, v in out.items()}


def forms_of(name: str) -> tuple[str, ...]:
    """Every form of the entries the name is a form of ("全省" -> 广东, 广东省, 全省); the name alone if none."""
    found = [f for e in load() if normal(name) in map(normal, e.forms) for f in e.forms]
    return tuple(dict.fromkeys([name, *found]))
