"""Question analysis: what a question asks (answer type, measure) and about what (places, boards,
companies, years, figures), and the checks that bind a sentence's values to the asked place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jieba
import jieba.posseg as pseg

from ..chunking import STOPWORDS, Unit, search_tokens
from ..citations import numbers
from ..index import Index
from ..ingest.profiles import find_companies
from .dialogue_state import is_district, rules as dialogue_rules
from .rules import RULES

CITIES = RULES.cities
PROVINCES = RULES.provinces
REGIONS = RULES.regions
BOARDS = RULES.boards
NAMED_FLAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng"}
CN_DIGITS = "一二三四五六七八九十"
GENERIC_NAMES = RULES.generic_names
ANSWER_TYPES = tuple((r.name, r.pattern) for r in RULES.answer_types)  # checked in this order
VALUE = RULES.value
PLACES = CITIES + PROVINCES + REGIONS
PLACE_WORDS = re.compile("|".join(map(re.escape, sorted(PLACES, key=len, reverse=True))))
DISTRICT = re.compile(r"[\u4e00-\u9fff]{2}(?:区|镇|县)(?!域)")
# (question cue, accepted wording in the support): see [[qualifier]] in data/rules.toml
QUALIFIERS = tuple((q.cue.pattern, q.support) for q in RULES.qualifiers)
TASK_REQUEST = RULES.patterns["task_request"].pattern
MEASURE_WORD = RULES.patterns["measure_word"].pattern
# The month and day of a date ("截至2023年7月", "7月底", "3月15日") belong to the date, which the year
# checks; they are not figures the sentence must state ("成立不到5年").
DATE_PARTS = re.compile(r"(?<![\d.])\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|(?<![\d.])\d{1,2}\s*日")
META_HISTORY = re.compile(r"^(那|那么|还有|另外|再问|换成|如果是)?(.{1,12}?)(呢|的呢|怎么样|如何|情况呢)?[？?。！!]*$")

COMMON_WORD_FREQ = 1000  # jieba dictionary frequency above which an nr-tagged word is an ordinary word



@dataclass
class Frame:
    question: str
    answer_type: str
    entities: list[str]  # named entities that must appear in the support
    places: list[str]  # the place entities among them: a value must be bound to one of them
    unknown: list[str]  # named entities the corpus never mentions
    years: list[str]
    figures: list[str]  # other numbers in the question ("成立不到5年"): the support must state them
    qualifiers: list[str]  # support patterns of the measures the question names
    companies: list  # CompanyProfile
    content: list[str]  # content tokens for lexical coverage
    measure: str | None = None  # the measure word of a count ("多少台" -> 台)



# ---------------------------------------------------------------- question analysis

def answer_type(question: str) -> str:
    return next((name for name, rx in ANSWER_TYPES if rx.search(question)), "fact")


HMM_BUDGET = 48  # characters per question that jieba may tag with its HMM (real questions: under 20)


def tagged_words(text: str):
    """pseg.cut, bounded: jieba's part-of-speech HMM costs ~15 ms for each character in a run it has
    no dictionary word for (1,000 random characters took 35 s). Past a small budget of such characters
    the text is tagged from the dictionary alone; ordinary questions are tagged exactly as before."""
    tokens = jieba.lcut(text, HMM=False)
    unknown, run = 0, 0
    for t in tokens + [""]:
        if len(t) == 1:
            run += 1
        else:
            unknown += run if run >= 2 else 0
            run = 0
    return pseg.cut(text, HMM=unknown <= HMM_BUDGET)


def named_places(text: str) -> list[str]:
    """The places a text names, in PLACES order. A name that only appears straddling two others is not
    named: "佛山东莞" names 佛山 and 东莞, not 山东 (a name inside a longer one, 广州 in 广州市, still is)."""
    words = [(m.start(), m.end()) for m in PLACE_WORDS.finditer(text)]  # leftmost, longest first
    return [n for n in PLACES if n in text
            and any(any(a <= m.start() and m.end() <= b for a, b in words) for m in re.finditer(re.escape(n), text))]


def corpus_lower(index: Index) -> str:
    """The whole corpus, lower-cased, once per index: is a word anywhere in the handbook?"""
    return index.extra("corpus_lower", lambda: "\n".join(d.text for d in index.docs.values()).lower())


def question_places(question: str, index: Index) -> tuple[list, str, list[str], list[str]]:
    """(companies named, the question with their names masked, the places it names, district-like names the
    handbook never uses): no part-of-speech tagging, so the places of many questions are cheap to find."""
    corpus = corpus_lower(index)
    companies = find_companies(question, list(index.docs.values()))
    aliases = sorted({a for p in companies for a in p.aliases}, key=len, reverse=True)
    masked = question
    for a in aliases:
        masked = masked.replace(a, "，")
    places = [n for n in named_places(masked) if n not in GENERIC_NAMES]
    unknown = []
    for m in DISTRICT.finditer(masked):
        name = m.group()
        if name not in corpus and len(pseg.lcut(name)) != 1:
            continue  # "什么区", "哪个区", "两个区": not a place name
        # "禅城区" is written "禅城" in the handbook; a district it never names cannot be answered
        name = name if name in corpus else name[:-1] if name[:-1] in corpus else None
        if name is None:
            unknown.append(m.group())
        elif not any(name in p or p in name for p in places):
            places.append(name)
    # districts and towns as people say them, without 区 or 镇 ("松山湖", "顺德"): the dialogue lexicon's list
    for name in dialogue_rules().lexicon["district"]:
        if name in masked and name.lower() in corpus and not any(name in p or p in name for p in places):
            places.append(name)
    return companies, masked, places, unknown


def frame(question: str, index: Index) -> Frame:
    corpus = corpus_lower(index)
    companies, masked, places, unknown = question_places(question, index)
    entities = places + [b for b in BOARDS if b in masked]
    for name in entities + unknown:
        masked = masked.replace(name, "，")
    # Proper names jieba recognises; one the handbook never mentions means it cannot answer.
    for w in tagged_words(masked):
        word = w.word.strip()
        if w.flag in NAMED_FLAGS and len(word) >= 2 and word not in GENERIC_NAMES:
            # jieba tags many common words nr ("长大"): only rare dictionary words count as names
            common = w.flag.startswith("nr") and (jieba.get_FREQ(word) or 0) >= COMMON_WORD_FREQ
            if word.lower() not in corpus and not common:
                unknown.append(word)
            elif w.flag in ("nr", "nrfg", "nrt", "nz") and word not in entities:
                entities.append(word)
    years = re.findall(r"(?:19|20)\d{2}", question)
    figures = [n for n, _ in numbers(DATE_PARTS.sub("，", question)) if n not in years]
    qualifiers = [support for cue, support in QUALIFIERS if re.search(cue, question)]
    mw = MEASURE_WORD.search(question)
    # single characters ("比", "高", "量") carry no topic; digits and Latin words do
    content = [t for t in dict.fromkeys(search_tokens(question)) if t not in STOPWORDS and (len(t) >= 2 or t.isascii())]
    return Frame(question, answer_type(question), entities, [p for p in places if p in entities], unknown, years,
                 figures, qualifiers, companies, content, mw.group(1) if mw else None)


def off_topic(f: Frame, index: Index) -> bool:
    """No word of the question, other than place names, occurs anywhere in the corpus."""
    corpus = corpus_lower(index)
    words = [t for t in f.content if len(t) >= 2 and not any(t in p or p in t for p in PLACES)]
    return bool(words) and not any(t in corpus for t in words)


def support_text(u: Unit) -> str:
    return f"{u.text}\n{u.section}\n{u.company or ''}"


@lru_cache(maxsize=8192)  # every candidate sentence of every question: the handbook has ~3,000
def _place_mentions(text: str) -> tuple[tuple[int, int, str], ...]:
    found = [(m.start(), m.end(), m.group()) for m in re.finditer("|".join(PLACES), text)]
    found += [(m.start(), m.end(), m.group()) for m in DISTRICT.finditer(text)]
    spans = [(a, b) for a, b, _ in found]
    for name in dialogue_rules().lexicon["district"]:  # "松山湖", "顺德": named without 区 or 镇
        if name not in text:  # most sentences name none: skip the scan
            continue
        for m in re.finditer(re.escape(name), text):
            if not any(a <= m.start() < b for a, b in spans):
                found.append((m.start(), m.end(), name))
                spans.append((m.start(), m.end()))
    return tuple(sorted(found))


def _group(mentions: list[tuple[int, int, str]], k: int, forward: bool) -> set[str]:
    """Places listed together with mention k ("佛山、珠海和惠州")."""
    out = {mentions[k][2]}
    step = 1 if forward else -1
    i = k
    while 0 <= i + step < len(mentions):
        a, b = (mentions[i], mentions[i + step]) if forward else (mentions[i + step], mentions[i])
        if b[0] - a[1] <= 2:
            out.add(mentions[i + step][2])
            i += step
        else:
            break
    return out


def value_bound(u: Unit, f: Frame) -> bool:
    """A value of the asked type stands in a clause whose subject is one of the asked places.

    The subject of a value is the nearest group of places before it ("南山区和宝安区，均在200家以上");
    with none before it, the places of the section path ("深圳篇 > … 平均专利数量为146项").
    """
    rx = VALUE["number"] if u.kind == "table" else VALUE.get(f.answer_type) or VALUE["number"]
    mentions = _place_mentions(u.text)
    first = _group(mentions, 0, forward=True) if mentions else set()  # the sentence's own subject
    for m in rx.finditer(u.text):
        before = [x for x in mentions if x[1] <= m.start()]
        if not before:
            subject = path_place(u.section) | {x[2] for x in mentions}
        else:
            subject = _group(before, len(before) - 1, forward=False) | first
        # the most specific place asked (a district over its city) is the one the value must belong to
        asked = [p for p in f.places if is_district(p)] or f.places
        if any(p in s or s in p for p in asked for s in subject):
            return True
        # a district of the asked city: "佛山篇 > … 南海区“小巨人”企业总量为37家"
        if asked is f.places and any(is_district(s) for s in subject) and any(p in u.section for p in f.places):
            return True
    return False


def path_subjects(section: str) -> list[str]:
    """Section path components without their numbering: "深圳篇", "广东“小巨人”企业画像", ..."""
    return [re.sub(rf"^[{CN_DIGITS}]+\s+|^（[{CN_DIGITS}]+）", "", c) for c in section.split(" > ")]


def path_place(section: str) -> set[str]:
    """The most specific place a section path is about: "广东“小巨人”城市篇 > 广州篇" is about 广州."""
    for c in reversed(path_subjects(section)):
        found = {p for p in PLACES if c.startswith(p)}
        if found:
            return found
    return set()


def names_place(u: Unit, place: str) -> bool:
    """The sentence names the place, or its section is about it ("深圳篇 > …"); a heading that
    merely mentions it ("区域分布：南海区成为……") does not count."""
    return place in u.text or any(c.startswith(place) for c in path_subjects(u.section))
