"""Evidence scorers: each candidate answer unit gets one number per kind of evidence.

Nothing here decides. The hard gates of the old answerer (the asked place named, the asked year in
scope, a value of the asked type bound to the asked place, the asked measure in the sentence …)
are features next to the scores (dense similarity, lexical coverage, retrieval ranks); a model
learned from labelled questions (confidence.py) weighs them. Scorers are small named functions in
one table, chosen by name (the shape of bm25s's scoring.py), so a new kind of evidence is one entry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable

import jieba
import numpy as np

from ..chunking import Unit, search_tokens
from ..citations import number_in
from ..index import Index
from ..retrieval import Filters, Hit
from ..text import bare_text
from . import doc2query
from .anaphora import referent_name
from .dialogue_state import DISTRICT, is_district, place_level, rules as dialogue_rules
from .lexicon import alternatives
from .rules import RULES
from .thread import NO_THREAD, Thread
from .frame import VALUE, Frame, corpus_lower, names_place, question_places, support_text, value_bound

ENUMERATION = RULES.patterns["enumeration"].pattern
PRESCRIPTIVE = RULES.patterns["prescriptive"].pattern
ADVICE_SECTION = RULES.patterns["advice_section"].pattern
# A report-wide or section-wide date: "截至2023年7月" states the time of every figure under it.
AS_OF = re.compile(r"截至\s*((?:19|20)\d{2})\s*年")
YEAR = re.compile(r"(?:19|20)\d{2}")
ANSWER_TYPES = ("date", "how", "percent", "list", "amount", "count", "number", "entity", "fact")
SKIPPED_KINDS = ("chart", "toc")
MIN_UNIT_CHARS = 8


@dataclass
class Context:
    """What every scorer may look at for one question."""

    frame: Frame
    index: Index
    dense: np.ndarray  # cosine of the question with every unit
    chunk_rank: dict[int, int]  # unit id -> rank of its chunk in hybrid retrieval (absent: not retrieved)
    best_dense: float = 0.0
    idf: dict[str, float] = field(default_factory=dict)
    focus: list[str] = field(default_factory=list)
    slot: list[str] = field(default_factory=list)
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)  # question term -> lexicon equivalents
    prior: doc2query.Prior | None = None  # what train-split writers asked before
    best_asked: float = 0.0  # the best asked_before among this question's candidates
    thread: Thread = NO_THREAD  # the previous answer, for a follow-up
    best_parallel: float = 0.0  # the best parallel_previous among this question's candidates
    parallel: dict[int, float] = field(default_factory=dict)  # unit id -> parallel_previous, filled as scored
    asked: dict[int, float] = field(default_factory=dict)  # unit id -> asked_before, filled as scored

    # What the question alone decides, computed once for all its candidates.
    @cached_property
    def focus_places(self) -> list[str]:
        return focus_places(self.frame.question, self.frame.places)

    @cached_property
    def unasked_qualifiers(self) -> list:
        return [q for q in RULES.qualifiers if not q.cue.search(self.frame.question)]

    @cached_property
    def asks_district_level(self) -> bool:
        f = self.frame
        return any(is_district(p) for p in f.places) or _last_district(f.question) >= 0 or any(ch in f.question for ch in "区镇县")

    @property
    def previous(self) -> tuple[str, ...]:
        return self.thread.parallel_quotes

    @cached_property
    def thread_sections(self) -> frozenset[str]:
        """The sections of the units the previous answer quoted: a conversation stays near its topic (train
        split: the evidence of 171 of 274 answerable follow-ups is in a section of the turn before's)."""
        return frozenset(u.section for u in quoted_units(self.index, self.thread.quotes))

    @cached_property
    def quoted(self) -> list[str]:
        """The terms the question quotes ("他说的“人和”指什么"), bare; the handbook's subject words excluded."""
        return [w for w in (_bare_word(t) for t in QUOTED_TERM.findall(self.frame.question)
                            if not GENERIC_WORD.match(t.strip())) if w]

    @cached_property
    def previous_shapes(self) -> list[frozenset[str]]:
        return [shape(q) for q in self.previous]

    @cached_property
    def previous_clauses(self) -> list[str]:
        """The previous answer's quotes as _quoted_before compares them (long enough to tell a unit by)."""
        return _clauses(self.previous)

    def has(self, term: str, text: str) -> bool:
        """The term, or one of its lexicon equivalents ("IPO" / 上市), is in the (lower-cased) text."""
        return term in text or any(a in text for a in self.alternatives.get(term, ()))


@dataclass
class Candidate:
    unit: Unit
    features: dict[str, float]
    p: float = 0.0  # the model's probability that this unit answers the question

    @property
    def gates_ok(self) -> bool:
        return self.features.get("gates_all", 0.0) == 1.0


# ---------------------------------------------------------------- gates (1 = holds or not applicable)

def _support(u: Unit, c: Context, lower: bool = False) -> str:
    """The unit's text with its section path, its company and the name a reference in it refers to
    ("该企业从事…" is about the company the sentence before names), from a table built once per index."""
    def build() -> list[str]:
        texts = [f"{support_text(x)}\n{referent_name(x, c.index)}" for x in c.index.units]
        return [t.lower() for t in texts] if lower else texts
    return c.index.extra("support_lower" if lower else "support", build)[u.id]


def gate_entities(u: Unit, c: Context) -> float:
    text = _support(u, c)
    return float(all(e in text for e in c.frame.entities if e not in c.frame.places))


def gate_places(u: Unit, c: Context) -> float:
    return float(all(names_place(u, p) for p in c.frame.places))


def year_scope(u: Unit, c: Context) -> str:
    """The text a year may be stated in: the sentence, its section path, or its document's as-of date."""
    doc = c.index.docs.get(u.spans[0].doc)
    as_of = c.index.extra(f"as_of:{u.spans[0].doc}", lambda: " ".join(AS_OF.findall(doc.text)) if doc else "")
    return f"{_support(u, c)} {as_of}"


def gate_years(u: Unit, c: Context) -> float:
    if not c.frame.years:
        return 1.0
    scope = year_scope(u, c)
    return float(all(y in scope for y in c.frame.years))


def sentence_text(u: Unit, c: Context) -> str:
    """The whole sentence a unit belongs to. A clause split at ；inherits what its sentence stated before
    it: in "截至2023年7月，南海区…37家；顺德紧随其后，拥有28家…" the 28 is as of 2023."""
    def build() -> list[str]:
        units, out, group = c.index.units, [], []
        for x in units:
            group.append(x)
            if not (x.joins_next and x.id + 1 < len(units) and units[x.id + 1].chunk == x.chunk):
                out += ["".join(g.text for g in group)] * len(group)
                group = []
        return out
    return c.index.extra("sentence", build)[u.id]


def _sentence_support(u: Unit, c: Context) -> str:
    return f"{sentence_text(u, c)}\n{u.section}\n{u.company or ''}"


def year_conflict(u: Unit, c: Context) -> float:
    """The sentence dates its facts with a year, and not with the asked one: "2023年…占比70%" asked
    for 2022 answers another year's question (a sentence with no year at all does not conflict)."""
    if not c.frame.years:
        return 0.0
    scope = _sentence_support(u, c)
    return float(not any(y in scope for y in c.frame.years) and bool(YEAR.search(sentence_text(u, c))))


def gate_figures(u: Unit, c: Context) -> float:
    return float(all(number_in(n, "", sentence_text(u, c)) for n in c.frame.figures))


def qualifier_share(u: Unit, c: Context) -> float:
    qs = c.frame.qualifiers
    return sum(bool(re.search(q, u.text)) for q in qs) / len(qs) if qs else 1.0


def unasked_qualifier(u: Unit, c: Context) -> float:
    """The sentence counts a narrower measure than the one asked: "累计上市“小巨人”有241家" names 上市,
    which "广东共有多少家小巨人" does not ask about."""
    return float(any(q.cue.search(u.text) for q in c.unasked_qualifiers))


def gate_company(u: Unit, c: Context) -> float:
    if not c.frame.companies:
        return 1.0
    text = _support(u, c)
    return float(any(any(a in text for a in p.aliases) for p in c.frame.companies))


def gate_value_type(u: Unit, c: Context) -> float:
    rx = VALUE.get(c.frame.answer_type)
    return float(rx is None or bool(rx.search(u.text)) or (u.kind == "table" and bool(re.search(r"\d", u.text))))


def gate_measure_word(u: Unit, c: Context) -> float:
    f = c.frame
    if not f.measure or f.answer_type not in ("count", "number") or u.kind == "table":
        return 1.0
    return float(bool(re.search(r"(\d|[一二三四五六七八九十两百千万])\s*(余|多)?\s*" + f.measure, u.text)))


def gate_value_bound(u: Unit, c: Context) -> float:
    f = c.frame
    return float(not f.places or f.answer_type not in VALUE or value_bound(u, f))


GATES: dict[str, Callable[[Unit, Context], float]] = {
    "gate_entities": gate_entities,
    "gate_places": gate_places,
    "gate_years": gate_years,
    "gate_figures": gate_figures,
    "gate_qualifiers": lambda u, c: float(qualifier_share(u, c) == 1.0),
    "gate_company": gate_company,
    "gate_value_type": gate_value_type,
    "gate_measure_word": gate_measure_word,
    "gate_value_bound": gate_value_bound,
}
# The old answerer's conjunction, kept as one feature (and as the reason shown in reports).
HARD_GATES = ("gate_entities", "gate_places", "gate_years", "gate_figures", "gate_qualifiers",
              "gate_company", "gate_value_type", "gate_measure_word", "gate_value_bound")


# ---------------------------------------------------------------- scores

def idf_table(index: Index) -> dict[str, float]:
    def build():
        df: dict[str, int] = {}
        for u in index.units:
            for t in set(search_tokens(support_text(u))):
                df[t] = df.get(t, 0) + 1
        n = len(index.units)
        table = {t: math.log(1 + n / k) for t, k in df.items()}
        table[""] = max(table.values(), default=1.0)
        return table
    return index.extra("idf", build)


def lexical_coverage(u: Unit, c: Context) -> float:
    """IDF-weighted share of the question's content words found in the unit or its section path."""
    content = c.frame.content
    if not content:
        return 0.0
    text = _support(u, c, lower=True)
    default = c.idf.get("", 1.0)  # unseen words weigh as much as the rarest seen one
    total = sum(c.idf.get(t, default) for t in content)
    return sum(c.idf.get(t, default) for t in content if c.has(t, text)) / total if total else 0.0


# The asked attribute sits next to the question word: "租金大概多少钱" asks for 租金, "领投方是谁" for 领投方.
WH_WORD = RULES.patterns["wh_word"].pattern
FIRST_PERSON = RULES.patterns["first_person"].pattern
CLAUSE = re.compile(r"[，,。？?！!；;、\s]+")


SLOT_WINDOW = (3, 2)  # content words this many tokens before / after the question word name the asked slot


def wh_clauses(question: str) -> list[str]:
    """The clauses that ask ("想冲专精特新，手册建议怎么做" -> "手册建议怎么做"); all when none asks."""
    clauses = [c for c in CLAUSE.split(question) if c]
    return [c for c in clauses if WH_WORD.search(c)] or clauses


def focus_terms(question: str, content: list[str]) -> list[str]:
    """Content words of the asking clauses: what the question is about, not the asker's own context."""
    clauses = wh_clauses(question)
    return [t for t in content if any(t in c for c in clauses)]


def slot_terms(question: str, content: list[str]) -> list[str]:
    """Content words next to the question word: the attribute asked for ("租金大概多少钱" -> 租金)."""
    out: list[str] = []
    before, after = SLOT_WINDOW
    for clause in wh_clauses(question):
        toks = [t for t in jieba.lcut(clause) if t.strip()]
        for i, t in enumerate(toks):
            if WH_WORD.search(t):
                near = toks[max(0, i - before):i] + toks[i + 1:i + 1 + after]
                out += [w for w in near if w.lower() in content and w.lower() not in out]
    return [w.lower() for w in out]


def _term_in(term: str, text: str) -> bool:
    # a long word counts when one of its two-character parts is there ("担保费率" vs "费率")
    return term in text or (len(term) >= 3 and any(term[i:i + 2] in text for i in range(len(term) - 1)))


def _coverage_of(terms: list[str], u: Unit, c: Context) -> float:
    if not terms:
        return 1.0
    text = _support(u, c, lower=True)
    return sum(_term_in(t, text) or c.has(t, text) for t in terms) / len(terms)


def focus_coverage(u: Unit, c: Context) -> float:
    return _coverage_of(c.focus, u, c)


def slot_coverage(u: Unit, c: Context) -> float:
    return _coverage_of(c.slot, u, c)


def focus_places(question: str, places: list[str]) -> list[str]:
    """The places the question is about: those of its asking clauses; when they name none, those of the
    other clauses except the asker's own ("东莞的小巨人里面，有几成…" is about 东莞; "我们是东莞的小厂，
    手册建议怎么做" is not)."""
    asking = wh_clauses(question)
    asked = [p for p in places if any(p in cl for cl in asking)]
    if asked:
        return asked
    scoping = [cl for cl in CLAUSE.split(question) if cl and not re.search(FIRST_PERSON, cl)]
    return [p for p in places if any(p in cl for cl in scoping)]


def finest(places: list[str]) -> frozenset[str]:
    """The places of the finest level named: "广州白云区…" is about 白云区, so an earlier question about 广州 (or
    its 黄埔区) was not asked about the same place."""
    level = max((place_level(p) for p in places), default=0)
    return frozenset(p for p in places if place_level(p) == level)


def gate_focus_places(u: Unit, c: Context) -> float:
    """The places the question is about must be the sentence's (a place in the asker's own context need not)."""
    return float(all(names_place(u, p) for p in c.focus_places))


def missing_idf(u: Unit, c: Context) -> float:
    """The IDF of the rarest question word the unit lacks (0 when it lacks none), scaled to 0–1."""
    text = _support(u, c, lower=True)
    default = c.idf.get("", 1.0)
    missing = [c.idf.get(t, default) for t in c.frame.content if len(t) >= 2 and not c.has(t, text)]
    return max(missing, default=0.0) / default


def _asked_wordings(u: Unit, c: Context) -> str:
    return c.prior.wordings(u.id) if c.prior else ""


def novel_idf(u: Unit, c: Context) -> float:
    """missing_idf less the words earlier writers used when asking about this unit: a paraphrase the unit
    lacks is known ("IPO" asked of a 上市 sentence), a constraint nobody asked of it is new ("2022年" asked
    of a 2023 figure, "北交所" of the total of all boards)."""
    text, asked = _support(u, c, lower=True), _asked_wordings(u, c)
    default = c.idf.get("", 1.0)
    novel = [c.idf.get(t, default) for t in c.frame.content
             if len(t) >= 2 and not c.has(t, text) and not c.has(t, asked)]
    return max(novel, default=0.0) / default


def novel_year(u: Unit, c: Context) -> float:
    """An asked year that is neither in the unit's scope nor in any earlier question about the unit."""
    asked = _asked_wordings(u, c)
    return float(any(y not in year_scope(u, c) and y not in asked for y in c.frame.years))


def _last_district(text: str) -> int:
    """Where the last district or town named in text starts (-1: none): "松山湖", "黄埔区", "寮步镇"."""
    named = [text.rfind(d) for d in dialogue_rules().lexicon["district"]]
    return max([*named, *(m.start() for m in DISTRICT.finditer(text))], default=-1)


def value_of_district(u: Unit, c: Context) -> float:
    """The unit's first value of the asked type follows a district or town more closely than any asked
    place: a part of what was asked for ("松山湖“小巨人”合计数量达到27家" asked "东莞有多少家"). 0 when
    the question names a district or asks at that level ("哪个区最多", "区域分布")."""
    f = c.frame
    rx = VALUE.get(f.answer_type)
    if rx is None or c.asks_district_level:
        return 0.0
    m = rx.search(u.text)
    if not m:
        return 0.0
    before = u.text[:m.start()]
    return float(_last_district(before) > max((before.rfind(p) for p in f.places), default=-1))


@lru_cache(maxsize=1)
def _names() -> re.Pattern:
    lexicon = dialogue_rules().lexicon
    names = sorted({*lexicon["place"], *lexicon["district"]}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


def shape(text: str) -> frozenset[str]:
    """The character pairs of a sentence with its places, districts and figures blanked out: "东莞仅有15家…
    获得融资" and "广州共有31家…获得融资" share most of theirs."""
    t = re.sub(r"[\d.,，%]+", "#", DISTRICT.sub("P", _names().sub("P", bare_text(text))))
    return frozenset(t[i:i + 2] for i in range(len(t) - 1))


# An answer ends a quoted clause with "。" where the source has "；" ("…位列全市第一；" is quoted "…位列全市第一。").
CLAUSE_END = "。；;，,！!？?：:"


def _clauses(quotes: tuple[str, ...]) -> list[str]:
    """Quoted sentences as units are compared with them: bare, without the closing mark, long enough to tell a unit by."""
    return [q for q in (bare_text(x).rstrip(CLAUSE_END) for x in quotes) if len(q) >= MIN_UNIT_CHARS]


def quoted_units(index: Index, quotes: tuple[str, ...]) -> list[Unit]:
    """The units an answer's quotes are (a quote may be a clause of a unit, or end it with another mark)."""
    clauses = _clauses(quotes)
    if not clauses:
        return []
    bare = index.extra("bare_units", lambda: [bare_text(u.text).rstrip(CLAUSE_END) for u in index.units])
    return [u for u, b in zip(index.units, bare) if len(b) >= MIN_UNIT_CHARS and any(q in b or b in q for q in clauses)]


def _quoted_before(u: Unit, c: Context) -> bool:
    """The previous answer quoted this unit: asked of another place, the same sentence rarely answers again."""
    text = bare_text(u.text).rstrip(CLAUSE_END)
    return any(q in text or text in q for q in c.previous_clauses)


def parallel_previous(u: Unit, c: Context) -> float:
    """How closely the unit is shaped like a sentence the previous answer quoted (Jaccard of shape(); 0 for a
    quoted one): "那东莞呢？" after a question about 广州's financing is answered by 东莞's sentence of that kind.
    Train swap follow-ups: the evidence is the most parallel candidate for 24 of 55, among the two most for 32.
    Only swap and time follow-ups have it (0 for any other question), so the trees also learn from it how
    often such a follow-up's best candidate is right."""
    if not c.previous:
        return 0.0
    if u.id not in c.parallel:
        mine = shape(u.text)
        c.parallel[u.id] = 0.0 if _quoted_before(u, c) else max(
            (len(mine & s) / len(mine | s) for s in c.previous_shapes if s), default=0.0)
    return c.parallel[u.id]


QUOTED_TERM = re.compile(r"[“\"「『‘]([^”\"」』’]{1,24})[”\"」』’]")
GENERIC_WORD = RULES.patterns["generic_word"].pattern


def _bare_word(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def quoted_terms(u: Unit, c: Context) -> float:
    """The share of the question's quoted terms the sentence itself holds; -1 when the question quotes none.
    A quoted term is the asker pointing at the handbook's own words: "“人和”具体指什么" is answered where “人和”
    stands, not by the column's other points. Train split: 68 of 820 questions quote a term."""
    if not c.quoted:
        return -1.0
    text = _bare_word(u.text)
    return sum(t in text for t in c.quoted) / len(c.quoted)


def asked_before(u: Unit, c: Context) -> float:
    """How close an earlier writer's question about this unit is; one that named no place counts only when the
    unit names the place this question asks about."""
    if u.id not in c.asked:
        c.asked[u.id] = c.prior.asked_before(u.id, bool(gate_focus_places(u, c))) if c.prior else 0.0
    return c.asked[u.id]


def _how(c: Context) -> bool:
    return c.frame.answer_type == "how"


SCORES: dict[str, Callable[[Unit, Context], float]] = {
    "dense": lambda u, c: float(c.dense[u.id]),
    "dense_gap": lambda u, c: float(c.dense[u.id]) - c.best_dense,
    "lexical": lexical_coverage,
    "focus_coverage": focus_coverage,
    "slot_coverage": slot_coverage,
    "gate_focus_places": gate_focus_places,
    "missing_idf": missing_idf,
    "novel_idf": novel_idf,
    "novel_year": novel_year,
    "year_conflict": year_conflict,
    "value_of_district": value_of_district,
    "qualifier_share": qualifier_share,
    "unasked_qualifier": unasked_qualifier,
    "chunk_rank_inv": lambda u, c: 1.0 / c.chunk_rank[u.id] if u.id in c.chunk_rank else 0.0,
    "chunk_retrieved": lambda u, c: float(u.id in c.chunk_rank),
    "place_in_sentence": lambda u, c: float(bool(c.frame.places) and any(p in u.text for p in c.frame.places)),
    "prescriptive_how": lambda u, c: float(_how(c) and bool(PRESCRIPTIVE.search(u.text))),
    "advice_section_how": lambda u, c: float(_how(c) and bool(ADVICE_SECTION.search(u.section))),
    "enumeration": lambda u, c: float(bool(ENUMERATION.match(u.text))),
    "kind_table": lambda u, c: float(u.kind == "table"),
    "kind_profile": lambda u, c: float(u.kind == "profile"),
    "kind_footnote": lambda u, c: float(u.kind == "footnote"),
    "kind_byline": lambda u, c: float(u.kind == "byline"),
    "length_log": lambda u, c: math.log(1 + len(u.text)) / 6.0,
    "quoted_terms": quoted_terms,
    "follow_up": lambda u, c: float(bool(c.thread.quotes)),
    "thread_section": lambda u, c: float(u.section in c.thread_sections),
    "parallel_previous": parallel_previous,
    "parallel_gap": lambda u, c: parallel_previous(u, c) - c.best_parallel,
    "asked_before": lambda u, c: asked_before(u, c),
    "asked_before_gap": lambda u, c: asked_before(u, c) - c.best_asked,
}


def question_features(f: Frame, index: Index | None = None, prior: doc2query.Prior | None = None) -> dict[str, float]:
    """Per-question evidence, the same for every candidate: lets the model learn when to refuse."""
    out = {f"type_{t}": float(f.answer_type == t) for t in ANSWER_TYPES}
    out["q_answerable_before"] = prior.closest(True) if prior else 0.0
    out["q_unanswerable_before"] = prior.closest(False) if prior else 0.0
    out["q_before_margin"] = out["q_answerable_before"] - out["q_unanswerable_before"]
    corpus = corpus_lower(index) if index else ""
    words = [t for t in f.content if len(t) >= 2]
    alts = alternatives(f.question, words)  # "IPO" is not in the handbook, its 上市 is
    absent = [t for t in words if t not in corpus and not any(a in corpus for a in alts.get(t, ()))]
    out["q_absent_words"] = len(absent) / len(words) if words and index else 0.0
    out["q_unknown_name"] = float(bool(f.unknown))
    out["q_constraints"] = min(4, len(f.entities) + len(f.years) + len(f.figures) + len(f.qualifiers)) / 4.0
    return out


FEATURES: tuple[str, ...] = (tuple(GATES) + ("gates_all", "gates_failed") + tuple(SCORES)
                             + tuple(question_features(Frame("", "fact", [], [], [], [], [], [], [], [])))
                             + ("dense_x_gates", "lexical_x_gates", "slot_x_focus_places"))


def features(u: Unit, c: Context, q_feats: dict[str, float]) -> dict[str, float]:
    out = {name: fn(u, c) for name, fn in GATES.items()}
    hard = [out[g] for g in HARD_GATES]
    out["gates_all"] = float(all(hard))
    out["gates_failed"] = (len(hard) - sum(hard)) / len(hard)
    out.update((name, fn(u, c)) for name, fn in SCORES.items())
    out.update(q_feats)
    out["dense_x_gates"] = out["dense"] * out["gates_all"]
    out["slot_x_focus_places"] = out["slot_coverage"] * out["gate_focus_places"]
    out["lexical_x_gates"] = out["lexical"] * out["gates_all"]
    return out


# ---------------------------------------------------------------- candidates

def candidate_ids(qvec: np.ndarray, hits: list[Hit], index: Index, extra_units, filters: Filters | None,
                  unit_candidates: int) -> tuple[list[int], dict[int, int], np.ndarray]:
    """Units of the retrieved chunks, a profiled company's units, and the best units by dense search."""
    rank: dict[int, int] = {}
    for h in hits:
        for uid in h.chunk.units:
            rank.setdefault(uid, h.rank)
    dense = index.unit_vecs @ qvec
    order = list(rank) + list(extra_units) + [int(i) for i in np.argsort(-dense)[:unit_candidates]]
    allowed = filters.allows if filters else (lambda ch: True)
    ids = [uid for uid in dict.fromkeys(order)
           if index.units[uid].kind not in SKIPPED_KINDS and len(index.units[uid].text) >= MIN_UNIT_CHARS
           and allowed(index.chunks[index.units[uid].chunk])]
    return ids, rank, dense


def candidates(f: Frame, qvec: np.ndarray, hits: list[Hit], index: Index, extra_units=(),
               filters: Filters | None = None, unit_candidates: int = 30, thread: Thread = NO_THREAD) -> list[Candidate]:
    ids, rank, dense = candidate_ids(qvec, hits, index, extra_units, filters, unit_candidates)
    if not ids:
        return []
    prior = doc2query.prior(index, qvec, finest(focus_places(f.question, f.places)),
                            lambda q: frozenset(focus_places(q, question_places(q, index)[2])))
    ctx = Context(f, index, dense, rank, float(max(dense[i] for i in ids)), idf_table(index),
                  focus_terms(f.question, f.content), slot_terms(f.question, f.content),
                  alternatives(f.question, f.content), prior, 0.0, thread)
    ctx.best_asked = max(asked_before(index.units[uid], ctx) for uid in ids)
    if ctx.previous:
        ctx.best_parallel = max(parallel_previous(index.units[uid], ctx) for uid in ids)
    q_feats = question_features(f, index, prior)
    return [Candidate(index.units[uid], features(index.units[uid], ctx, q_feats)) for uid in ids]
