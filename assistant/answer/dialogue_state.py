"""The dialogue state: what each turn of a conversation was about and what its answer named.

The vocabulary (places and their levels, boards, industries, measures, companies, agencies, people,
documents, pronouns) and the follow-up patterns are data (data/followups.toml); a Turn holds, for one
earlier question, its resolved form, the names it mentions, the names and enumerated items its answer
gave. Resolution against this state is in resolution.py; the conversation API in dialogue.py.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import lexicon as synonyms
from .language import glossary, to_simplified

RULES_PATH = Path(__file__).with_name("data") / "followups.toml"
ENTITY_KINDS = ("place", "board", "industry", "tier", "ownership", "company", "agency", "person")
MARKER = re.compile(r"\[\d{1,3}\]")
META_LINE = re.compile(r"^（(理解为|手册中没有找到)")
# the words before an organisation's name ("总部位于绍兴的…", "曾担任…")
ORG_PREFIX = re.compile(r"^.*(?:[的了在是于和与及、]|担任|加入|服务|包括|例如|比如|成立|投资|旗下|作为|以及)")
# a district's name: two characters before 区/镇/县, neither a function word ("集中的区", "这个区" are none)
DISTRICT = re.compile(r"(?<![的个些])[^\W\d_的个些各每全该本哪什几两这那][^\W\d_的个些各每全该本市城地园片辖社](?:区|镇|县)(?!域)")
# a point's marker; the last two are points in prose ("首先，…其次，…", "…包括两类：一类是…另一类是…")
ENUMERATED = re.compile(r"^\s*(?:（[一二三四五六七八九十]+）|[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，、,]|\d+[.、]|[一二三四五六七八九十]+、"
                        r"|(?:首先|其次|再次|再者|最后)[，,]|(?:[^。：:]*[：:])?(?:另)?一(?:类|种|方面)是)")
CN_ORDINALS = "一二三四五六七八九十"
YEAR = re.compile(r"((?:19|20)\d{2})年")
BATCH = re.compile(r"第([一二三四五六七八九十])批")
DOCUMENT_WORDS = r"(计划|方案|办法|行动|细则|意见|通知|规划)$"
DOCUMENT = re.compile(r"《[^《》]{2,40}》")
PATTERN_FIELDS = ("elliptical_how", "preamble", "interjection", "item_keyword", "item_filler", "compute", "compared", "relative_past", "present_time", "time_only", "scope", "rewrite_filler", "ranks", "subset", "compared_with", "enumerate", "same_question", "own_topic",
                  "comparative", "company_ordinal", "described_reference", "subject_opener", "bare_ask", "asked_name", "document_verb")


@dataclass(frozen=True)
class Rules:
    lexicon: dict[str, list[str]]
    relative_time: dict[str, int]
    pronouns: dict[str, list[str]]  # referent kind -> pronouns
    elliptical: re.Pattern
    opening: re.Pattern
    ordinal: re.Pattern
    ordinal_ask: list[tuple[re.Pattern, str]]
    ordinal_default: str
    not_pronoun: list[str]
    asks_entity: re.Pattern
    comparison: re.Pattern
    question_word: re.Pattern
    aspect_tails: dict[str, str]
    continues: re.Pattern
    max_continuation_chars: int
    examples: list[dict]
    elliptical_how: re.Pattern  # "浙江呢，怎么做的？": another subject, asked how it goes about the same thing
    preamble: re.Pattern  # "差距这么明显，那…"
    interjection: re.Pattern  # "嗯，…", "好的。…"
    item_keyword: re.Pattern  # "资本那一条…"
    item_filler: re.Pattern  # "具体说说": asks an item's details, nothing more
    ordinal_ask_words: re.Pattern  # the ordinal_ask patterns as one
    years_ago: re.Pattern  # "五年前": a time an answer must name
    compute: re.Pattern  # "差了多少", "几倍"
    compared: re.Pattern  # a question that compares
    relative_past: re.Pattern  # "五年前"
    present_time: re.Pattern  # "现在": what a relative past replaces
    time_only: re.Pattern  # a follow-up that names only a time ("那五年前是多少？")
    scope: re.Pattern  # "在全国": where a figure ranks, not what it is of
    rewrite_filler: re.Pattern  # words a rewritten question drops ("现在")
    ranks: re.Pattern  # a question that ranks or compares ("排第几")
    subset: re.Pattern  # "其中…": among the previous subjects
    compared_with: re.Pattern  # "和创业板比哪个多？"
    enumerate: re.Pattern  # "具体是哪几家？"
    same_question: re.Pattern  # "同样的问题，东莞呢？"
    own_topic: re.Pattern  # words of a question about the handbook itself or a concept
    comparative: re.Pattern  # "比广州多多少？"
    company_ordinal: re.Pattern  # "最后那家", "第二家公司": a company of the previous answer by its place in it
    described_reference: re.Pattern  # "做熔断器那家": a demonstrative with a description of its own
    subject_opener: re.Pattern  # "那深圳呢 深圳奖多少": a subject said first, then the question about it
    bare_ask: re.Pattern  # "给多少": what follows such a subject only asks again
    asked_name: re.Pattern  # "那家公司叫啥": the demonstrative is what is asked
    document_verb: re.Pattern  # "它是哪年出台的": 它 is a document


@lru_cache(maxsize=1)
def rules() -> Rules:
    data = tomllib.loads(RULES_PATH.read_text("utf-8"))
    lex, pat = data["lexicon"], data["patterns"]
    entries = glossary()[0]
    lexicon = {k: list(lex.get(k, [])) for k in ("place", "board", "industry", "tier", "ownership", "measure", "aspect", "district", "region")}
    lexicon["place"] += [d for k in ("district", "other_place", "region") for d in lex.get(k, []) if d not in lexicon["place"]]
    lexicon["relative_measure"] = list(lex.get("relative_measure", []))
    lexicon["qualifier"] = list(lex.get("qualifier", []))
    lexicon["pronoun_any"] = list(lex.get("pronoun_any", []))
    lexicon["pronoun_population"] = sorted(lex.get("pronoun_population", []), key=len, reverse=True)
    lexicon["document"] = [e.zh for e in entries if e.kind == "term" and re.search(DOCUMENT_WORDS, e.zh)]
    # the glossary's companies, agencies and people are entities a pronoun can mean
    lexicon["company"] = [e.zh for e in entries if e.kind == "company"]
    lexicon["agency"] = [e.zh for e in entries if e.kind == "agency"]  # "这家公司" means a company first
    lexicon["person"] = [e.zh for e in entries if e.kind == "person"]
    for kind in ("company", "agency"):  # and the short names the handbook and people use ("粤科金融")
        lexicon[kind] += [f for e in synonyms.load() if e.key in lexicon[kind] for f in e.forms if f not in lexicon[kind]]
    lexicon["place"] += [e.zh for e in entries if e.kind == "place" and e.zh not in lexicon["place"]]
    return Rules(lexicon, dict(lex["relative_time"]),
                 {"company": lex["pronoun_company"], "agency": lex["pronoun_agency"], "person": lex["pronoun_person"], "place": lex["pronoun_place"],
                  "document": lex["pronoun_document"], "pair": lex["pronoun_pair"], "districts": lex["pronoun_districts"], "figure": lex["pronoun_figure"],
                  "item": lex["pronoun_item"], "former": lex["pronoun_former"], "latter": lex["pronoun_latter"]},
                 re.compile(pat["elliptical"]), re.compile(pat["opening"]), re.compile(pat["ordinal"]),
                 [(re.compile(a), b) for a, b in pat["ordinal_ask"]], pat["ordinal_default"], pat["not_pronoun"],
                 re.compile(pat["asks_entity"]), re.compile(pat["comparison"]), re.compile(pat["question_word"]),
                 dict(lex["aspect"]), re.compile(pat["continues"]), int(pat["max_continuation_chars"]),
                 data.get("example", []), **{k: re.compile(pat[k]) for k in PATTERN_FIELDS},
                 ordinal_ask_words=re.compile("|".join(a for a, _ in pat["ordinal_ask"])),
                 years_ago=re.compile(pat["years_ago"]))


@dataclass
class Turn:
    """One earlier (or the current) turn: the question as asked and as resolved, what it was about,
    and what its answer named."""
    asked: str
    resolved: str
    rule: str = "first"
    answer: str = ""
    about: dict[str, list[str]] = field(default_factory=dict)  # kind -> names in the resolved question
    named: dict[str, list[str]] = field(default_factory=dict)  # kind -> names in the answer, in order
    items: list[str] = field(default_factory=list)  # enumerated points of the answer
    time: list[str] = field(default_factory=list)
    asks_entity: bool = False
    source_turn: int | None = None  # the earlier turn it builds on: the list an item reference used, the question a computation asked of
    enumerated: bool = False  # the answer's items carry their own numbering ("一是…", "（二）…")


def mentions(text: str, kinds=ENTITY_KINDS + ("measure", "aspect", "document"), companies: list[str] = ()) -> dict[str, list[str]]:
    """Names of each kind in the text, in order of first mention. Longest names are matched first
    across all kinds, so "国星半导体" is a company, not the industry "半导体"."""
    lex = rules().lexicon
    names = [(n, k) for k in kinds for n in list(lex.get(k, [])) + (list(companies) if k == "company" else []) if n]
    found: list[tuple[int, str, str]] = []
    masked = text
    if "company" in kinds:  # a registered name first: "芯联集成电路制造股份有限公司" is no 集成电路
        known = [n for n, k in names if k in ("company", "agency")]
        for start, org in organisations(text, known):
            name = max((n for n in known if n in org), key=len, default=org)
            found.append((start, "agency" if (name, "agency") in names and (name, "company") not in names else "company", name))
            masked = masked[:start] + "\0" * len(org) + masked[start + len(org):]
    # equal lengths: the earlier in the text first (and a fixed order, whatever the hash seed)
    for n, k in sorted(set(names), key=lambda x: (-len(x[0]), kinds.index(x[1]), text.find(x[0]) % (len(text) + 1), x[0])):
        i = masked.find(n)
        if i >= 0:
            found.append((i, k, n))
            masked = masked.replace(n, "\0" * len(n))
    if "place" in kinds:
        found += [(m.start(), "place", m.group()) for m in DISTRICT.finditer(masked) if re.fullmatch(r"[\u4e00-\u9fff]+", m.group())]
    if "document" in kinds:
        found += [(m.start(), "document", m.group()) for m in DOCUMENT.finditer(text)]
    out: dict[str, list[str]] = {}
    for _, k, n in sorted(found):
        out.setdefault(k, []).append(n)
    return out


def organisations(text: str, known: list[str] = ()) -> list[tuple[int, str]]:
    """(start, registered name) of each "…有限公司"/"…集团" in the text, from a known company's name
    in it or else without the words before the name: "去年我加入总部位于绍兴的芯联集成电路制造股份有限公司"
    -> "芯联集成电路制造股份有限公司"."""
    out: list[tuple[int, str]] = []
    for m in re.finditer(r"(?:股份有限公司|有限公司|集团)", text):
        raw = re.search(r"[\u4e00-\u9fff]{0,20}$", text[:m.start()]).group()
        inside = [(raw.find(n), n) for n in known if n in raw + m.group()]
        head = raw[min(inside)[0]:] if inside and min(inside)[0] >= 0 else ORG_PREFIX.sub("", raw)
        start = m.start() - len(head)
        if len(head) >= 2 and not (out and out[-1][0] + len(out[-1][1]) > start):
            out.append((start, head + m.group()))
    return out


def answer_items(answer: str) -> list[str]:
    """The points of an answer: its enumerated lines if it has two or more, else its fact lines."""
    from ..citations import split_sentences

    lines = [MARKER.sub("", ln).strip() for ln in split_sentences(answer)]
    lines = [ln for ln in lines if ln and not META_LINE.match(ln)]
    enumerated = [ln for ln in lines if ENUMERATED.match(ln)]
    chosen = enumerated if len(enumerated) >= 2 else lines
    return [ENUMERATED.sub("", ln).strip(" ：:。") for ln in chosen]


def make_turn(asked: str, resolved: str, rule: str, companies: list[str]) -> Turn:
    return Turn(asked, resolved, rule, about=subjects_named(resolved, companies),
                time=YEAR.findall(resolved) + BATCH.findall(resolved), asks_entity=bool(rules().asks_entity.search(resolved)))


def with_answer(turn: Turn, answer: str, companies: list[str]) -> Turn:
    text = to_simplified(answer or "")
    turn.answer = text
    body = "\n".join(ln for ln in text.split("\n") if not META_LINE.match(ln.strip()))
    turn.named = mentions(MARKER.sub("", body), companies=companies)
    turn.items = answer_items(text)
    from ..citations import split_sentences

    turn.enumerated = sum(bool(ENUMERATED.match(MARKER.sub("", x))) for x in split_sentences(text)) >= 2
    return turn


def subjects_named(question: str, companies) -> dict[str, list[str]]:
    """mentions() of what a question is about: "在全国排第几" ranks in 全国, it does not ask about it."""
    return mentions(rules().scope.sub(lambda m: "\0" * len(m.group()), question), companies=companies)


def cn_number(s: str) -> int:
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + CN_ORDINALS.index(s[1]) + 1
    if len(s) == 2 and s[1] == "十":
        return (CN_ORDINALS.index(s[0]) + 1) * 10
    return CN_ORDINALS.index(s[0]) + 1 if s and s[0] in CN_ORDINALS else 0


def is_district(name: str) -> bool:
    return name in rules().lexicon["district"] or bool(DISTRICT.fullmatch(name))


def place_level(name: str) -> int:
    """0 a province or region, 1 a city (or a company, a board: anything else), 2 a district or town."""
    if is_district(name):
        return 2
    return 0 if name in rules().lexicon["region"] else 1


def join_subjects(names: list[str]) -> str:
    """"深圳和广州", but "东莞松山湖": a district goes after its city, not beside it."""
    out = names[:1]
    for prev, name in zip(names, names[1:]):
        out.append(name if place_level(name) > place_level(prev) else "和" + name)
    return "".join(out)
