"""The user's script and language: 简体, 繁體 (and Cantonese wording), English, or another language.

繁體 is normalised with OpenCC (Taiwan phrases to mainland ones) and a small table of Cantonese and
Taiwan wordings; the answer's lead line goes back to 繁體 with OpenCC s2t. No translation model is
available offline, so an English question is mapped to a Chinese query with the bilingual glossary of
the handbook's own vocabulary (data/glossary.toml), and its answer gets a one-line English lead built
from the same glossary over the Chinese quotes.

The mapped query is written the way a Chinese asker writes: time and subjects first, then the terms in
the English order ("the number of X" as X数量, a verb before its object), then what the question word
asks about right before it ("广州…一次性奖励多少钱"), a count as "有多少家X"; the question word in the
handbook's terms (a counted noun gives 多少家/人/件, a bare "what" before a quantity asks 多少, question
forms with words between their parts are patterns in the glossary); figures in the handbook's notation
(14.4年, 45%, 1亿元).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import opencc

GLOSSARY_PATH = Path(__file__).with_name("data") / "glossary.toml"
ENTRY_KINDS = ("place", "company", "board", "agency", "person", "industry", "measure", "action", "term", "question", "ignore")
SUBJECT_KINDS = ("place", "company", "agency", "person", "board")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff]")
OTHER_SCRIPT = re.compile(r"[\u0400-\u052f\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f\u0370-\u03ff]")
ENGLISH_WORDS = frozenset("the a an of in on to is are was were do does did how what which who when where why many much "
                          "and or for with by from has have had it its their they he his this that there about according "
                          "most more than between any can should would".split())
FOREIGN_WORDS = frozenset("le la les des est une du et qui que quels quelle combien der die das und ist wie viele "
                          "welche wer el los las es cuántas cuantas cuántos qué que dónde por una è il della sono quanti".split())
ACCENTED = re.compile(r"[àâäéèêëïîôöùûüÿçñßáíóúãõ]", re.IGNORECASE)
UNSUPPORTED = "目前只能回答简体中文、繁體中文或英文的提问，请换用中文提问。"
ORDINAL = re.compile(r"\b(\d{1,3})(?:st|nd|rd|th)\b", re.IGNORECASE)
MONTHS = {m: i for i, m in enumerate("january february march april may june july august september october november december".split(), 1)}
MONTHS |= {m[:3]: i for m, i in list(MONTHS.items())} | {"sept": 9}  # "Sept 2023", "end-Jul 2023"
YEAR_MONTH = re.compile(r"\b(?:(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+)?((?:19|20)\d{2})\b", re.IGNORECASE)
# a sentence about the asker ("I run a small mold shop in Dongguan.") is context, not the question
PERSONAL = re.compile(r"^\s*(I|I'm|I am|my|we|we're|our|me)\b", re.IGNORECASE)
SENTENCE_EN = re.compile(r"(?<=[.!])\s+(?=[A-Z])")
CLAUSE = re.compile(r"[?;？；]|,\s*(?:and\s+)?(?=(?:how|what|which|who|when|where|why)\b)|\s+and\s+(?=(?:how|what|which|who|when|where|why)\b)",
                    re.IGNORECASE)
FOLLOW_UP_EN = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*[?.!]*\s*$|^\s*and\s+(.+?)\s*\?\s*$", re.IGNORECASE)
PRONOUNS_EN = ((re.compile(r"\b(this company|that company|the company|this firm|that firm|it|its)\b", re.I), "它"),
               (re.compile(r"\b(he|his|him|she|her)\b", re.I), "他"))
# value tokens of an answer sentence for the English lead (kept verbatim: the verifier checks them)
VALUE_TOKEN = re.compile(r"(?:近|约|超过|超|逾)?\d+(?:[.,]\d+)*\s*(?:%|％|万元|亿元|万余|万|亿|余)?\s*(?:家|项|件|台|个|名|人|倍|元|年|片|城)?(?::\d+)?")
UNIT_EN = {"家": "companies", "项": "items", "件": "items", "台": "units", "名": "people", "人": "people", "倍": "times"}


@dataclass(frozen=True)
class Entry:
    kind: str
    zh: str
    en: tuple[str, ...]
    example: str
    asks: str = ""  # a measure's question word in Chinese when "what <measure>" asks a quantity (多少钱)


@dataclass(frozen=True)
class Variant:
    source: str
    target: str
    example: str


@dataclass(frozen=True)
class Language:
    """What the user wrote in: "zh-Hans", "zh-Hant", "en" or "other"."""
    code: str

    @property
    def chinese(self) -> bool:
        return self.code.startswith("zh")


@dataclass
class EnglishQuery:
    """An English question mapped to Chinese: the query and the glossary entries it used."""
    query: str
    entries: list[Entry]


# ---------------------------------------------------------------- glossary

@lru_cache(maxsize=1)
def glossary() -> tuple[list[Entry], list[Variant]]:
    data = tomllib.loads(GLOSSARY_PATH.read_text("utf-8"))
    entries = [Entry(kind, e["zh"], tuple(e["en"]), e["ex"], e.get("asks", "")) for kind in ENTRY_KINDS for e in data.get(kind, [])]
    variants = [Variant(v["from"], v["to"], v["ex"]) for v in data.get("variant", [])]
    return entries, variants


WORDING_START = r"(?<![A-Za-z0-9])"


@lru_cache(maxsize=1)
def _english_patterns() -> list[tuple[re.Pattern, Entry]]:
    """Every English wording as a word-bounded pattern, longest first (so "listed little giants"
    beats "little giants")."""
    pairs = [(w, e) for e in glossary()[0] for w in e.en]
    pairs.sort(key=lambda p: -len(p[0]))
    return [(re.compile(WORDING_START + re.escape(w).replace(r"\ ", r"[\s\-]+") + r"(?![A-Za-z0-9])", re.IGNORECASE), e)
            for w, e in pairs]


ALNUM_RUN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _patterns_by_first_word() -> dict[str, list[int]]:
    """Positions in _english_patterns() by the first word of the wording: a clause is matched only
    against wordings whose first word it contains (the same matches, a fraction of the work)."""
    index: dict[str, list[int]] = {}
    for i, (rx, e) in enumerate(_english_patterns()):
        wording = rx.pattern.lower().replace("\\", "")
        index.setdefault(ALNUM_RUN.search(wording[len(WORDING_START):]).group(), []).append(i)
    return index


def _patterns_for(clause: str) -> list[tuple[re.Pattern, Entry]]:
    index, patterns = _patterns_by_first_word(), _english_patterns()
    return [patterns[i] for i in sorted({i for w in set(ALNUM_RUN.findall(clause.lower())) for i in index.get(w, [])})]


def english_name(zh: str) -> str | None:
    """The glossary's first English wording of a Chinese term."""
    return next((e.en[0] for e in glossary()[0] if e.zh == zh and e.kind != "question"), None)


# ---------------------------------------------------------------- script and language

@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def detect(text: str) -> Language:
    han = len(HAN.findall(text))
    words = [w.lower().strip("'’-") for w in LATIN_WORD.findall(text)]
    letters = sum(len(w) for w in words)
    if len(KANA_HANGUL.findall(text)) >= 2 or (len(OTHER_SCRIPT.findall(text)) >= 3 and not han):
        return Language("other")
    if (len(words) >= 3 and letters > 2 * han) or (words and not han):
        english = sum(w in ENGLISH_WORDS for w in words)
        foreign = sum(w in FOREIGN_WORDS for w in words) + len(ACCENTED.findall(text))
        return Language("other" if foreign > english else "en")
    if han and is_traditional(text):
        return Language("zh-Hant")
    return Language("zh-Hans")


def is_traditional(text: str) -> bool:
    """More characters that change under t2s than under s2t (mixed script counts by majority)."""
    t2s, s2t = _converter("t2s").convert(text), _converter("s2t").convert(text)
    trad = sum(a != b for a, b in zip(text, t2s))
    simp = sum(a != b for a, b in zip(text, s2t))
    return trad > 0 and trad >= simp


def to_simplified(text: str) -> str:
    """繁體 and Cantonese/Taiwan wording to the handbook's simplified, mainland wording: characters
    (t2s), the Taiwan phrases the handbook does not use, and the glossary's variant table."""
    return apply_variants(taiwan_phrases(_converter("t2s").convert(text), _converter("tw2sp").convert(text)))


def taiwan_phrases(chars: str, phrases: str) -> str:
    """OpenCC's Taiwan phrase table (tw2sp) taken only where the handbook agrees: the user's wording is
    not in the handbook and the mainland one is ("智慧财产权" -> "知识产权", "数位转型" -> "数字转型").
    Taken everywhere it would also rewrite words the handbook itself uses (核心 -> 内核, 新增 -> 添加).
    A change is judged as a whole word: changes split by one unchanged character are one change
    ("资讯科技" -> "信息技术"). The user's wording is looked up with one character of context on each
    side, the mainland one with the context of either side."""
    if chars == phrases:
        return chars
    known = _handbook_text()
    if not known:
        return chars
    ops = SequenceMatcher(None, chars, phrases, autojunk=False).get_opcodes()
    regions: list[list[int]] = []  # [i1, i2, j1, j2] of merged changes
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            continue
        if regions and i1 - regions[-1][1] < 2:  # the unchanged character between is in both
            regions[-1][1], regions[-1][3] = i2, j2
        else:
            regions.append([i1, i2, j1, j2])
    out, at = [], 0
    for i1, i2, j1, j2 in regions:
        before, after = chars[max(0, i1 - 1):i1], chars[i2:i2 + 1]
        taken = (before + chars[i1:i2] + after not in known
                 and (before + phrases[j1:j2] in known or phrases[j1:j2] + after in known))
        out.append(chars[at:i1] + (phrases[j1:j2] if taken else chars[i1:i2]))
        at = i2
    return "".join(out) + chars[at:]


@lru_cache(maxsize=1)
def _handbook_text() -> str:
    """The corpus text, for checking a wording against the handbook's ("" when it cannot be read)."""
    from ..config import Config

    try:
        return "\n".join(p.read_text(encoding="utf-8") for p in sorted(Config.from_env().corpus_dir.glob("*.txt")))
    except OSError:
        return ""


# Years written in characters, the way people type them ("二零二零年", "二〇二二年", or two characters for the
# last two digits, "二三年"): the handbook writes them in digits, and the year checks read digits.
CN_DIGIT = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"〇": "0", "○": "0"}
WRITTEN_YEAR = re.compile(r"(?<![零〇○一二三四五六七八九十百千万两几第])"
                          r"([一二][零〇○一二三四五六七八九]{3}|[一二][零〇○一二三四五六七八九])年(?![代级])")


def digit_years(text: str) -> str:
    """"二零二零年" and "二三年" as 2020年 and 2023年; "十二年", "二十年" and "一两年" are durations, untouched."""
    def year(m: re.Match) -> str:
        digits = "".join(CN_DIGIT[c] for c in m.group(1))
        if len(digits) == 2:
            digits = ("19" if digits[0] == "9" else "20") + digits
        return digits + "年" if 1990 <= int(digits) <= 2039 else m.group()
    return WRITTEN_YEAR.sub(year, text)


def apply_variants(text: str) -> str:
    for v in sorted(glossary()[1], key=lambda v: -len(v.source)):
        text = text.replace(v.source, v.target)
    return text


def to_traditional(text: str) -> str:
    return _converter("s2tw").convert(text)


# ---------------------------------------------------------------- English -> Chinese query

def english_follow_up(question: str) -> str | None:
    """"What about Foshan?" -> "那佛山呢？" (then resolved like any elliptical follow-up)."""
    m = FOLLOW_UP_EN.match(question)
    if not m:
        return None
    target = english_query(m.group(1) or m.group(2)).query.rstrip("？")
    return f"那{target}呢？" if target else None


def english_query(question: str) -> EnglishQuery:
    """Map each clause to subjects + terms + what is asked, in the handbook's words."""
    sentences = [s for s in SENTENCE_EN.split(question) if not PERSONAL.match(s)] or [question]
    parts, used, pending = [], [], ""
    for clause in CLAUSE.split(" ".join(sentences)):
        if not clause or not clause.strip():
            continue
        zh, entries = _clause_query(clause, first=not parts)
        used += entries
        if not zh:
            continue
        subjects = [e for e in used if e.kind in SUBJECT_KINDS + ("chinese",)]
        if parts and subjects and not any(e.kind in SUBJECT_KINDS + ("chinese",) for e in entries):
            zh = "、".join(dict.fromkeys(e.zh for e in subjects)) + zh  # "and how many firm visits?": same subject
        if not any(e.kind == "question" for e in entries):
            if parts:  # a clause asking nothing qualifies the previous one ...
                parts[-1] = parts[-1].rstrip("？") + zh + "？"
            else:  # ... or, before any, the next one ("In Zhou Weiran's column, how big ...")
                pending += zh
            continue
        parts.append(pending + zh + "？")
        pending = ""
    if pending:
        parts.append(pending + "？")
    return EnglishQuery("".join(parts), used)


LATIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]+(?:[-+][A-Za-z0-9]+)*(?![A-Za-z0-9])")


def identifier(token: str) -> bool:
    """An acronym or product name kept as written ("C-Eval", "RFID", "F5G", "ERP+PDM+MES"): two capitals
    or a letter with a digit. Words ("Shenzhen", "listed") and numbers ("2023") are not."""
    letters = sum(ch.isalpha() for ch in token)
    return letters > 0 and (sum(ch.isupper() for ch in token) >= 2 or any(ch.isdigit() for ch in token))


@dataclass(frozen=True)
class Found:
    """A glossary entry (or a kept name, year, number) found in an English clause, with its place."""
    start: int
    end: int
    entry: Entry


CONTENT_KINDS = ("industry", "measure", "term", "identifier")
RANK = ("pronoun", "time", "number", "chinese") + SUBJECT_KINDS  # before the terms, which keep the English order
WORD = re.compile(r"[A-Za-z0-9'’]+")
NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
PERCENT = re.compile(NUMBER + r"\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
NUMBER_WORDS = dict(zip("one two three four five six seven eight nine ten".split(), "一两三四五六七八九十"))
COUNT = re.compile(r"(?<![\w.])(" + NUMBER[1:-1] + "|" + "|".join(NUMBER_WORDS) + r")\s+([A-Za-z][\w\-]*)", re.IGNORECASE)
SCALED = re.compile(NUMBER + r"\s*(million|billion|bn|m)\b(\s*(?:yuan|RMB|CNY))?", re.IGNORECASE)
COUNTED = re.compile(r"\b(?:how many|number of)\s+([^?,.;:!]*)", re.IGNORECASE)
COUNT_WORDS = ("多少", "各多少", "多多少")  # question words a measure word can follow ("多少家")
COUNTED_WORDS = 7  # the counted noun is one of the next few words: "how many national-level 'little giant' companies"


def _clause_query(clause: str, first: bool) -> tuple[str, list[Entry]]:
    found = _glossary_matches(clause) + _kept_as_written(clause)
    found.sort(key=lambda f: f.start)
    kept = {f.entry: f for f in found if f.entry.zh}  # a repeated entry counts where it was last said
    found = sorted(kept.values(), key=lambda f: f.start)
    if not first or any(f.entry.kind in SUBJECT_KINDS for f in found):
        # "it" of a later clause, or beside a named subject, is that subject: not a follow-up
        found = [f for f in found if f.entry.kind != "pronoun"]
    found = _with_asked_quantity(clause, found)
    if not any(f.entry.kind == "question" for f in found) and YES_NO.match(clause):
        found.append(Found(len(clause), len(clause), Entry("question", "吗", (clause.split()[0],), clause)))
    out = ""
    ranked = _ranked(clause, found)
    for prev, e in zip([None] + ranked, ranked):
        if e.zh in out and e not in (JOIN_DE, JOIN_BI):
            continue
        # two places (or companies) in a row are compared or listed: "苏州、南京"
        out += ("、" if prev is not None and prev.kind == e.kind and e.kind in SUBJECT_KINDS
                else " " if out[-1:].isascii() and out[-1:].isalnum() and e.zh[:1].isascii() else "") + e.zh
    return out, [f.entry for f in found]


def _glossary_matches(clause: str) -> list[Found]:
    """Glossary wordings (longest first, never overlapping), then pronouns on what is left."""
    taken = [False] * len(clause)
    found: list[Found] = []

    def take(m: re.Match) -> None:
        taken[m.start():m.end()] = [True] * (m.end() - m.start())

    for m in NOT_ASKING.finditer(clause):  # "when selecting", "is it hard to": no question, no pronoun
        take(m)
    for rx, e in _patterns_for(clause):
        for m in rx.finditer(clause):
            if not any(taken[m.start():m.end()]):
                take(m)
                found.append(Found(m.start(), m.end(), e))
    for rx, zh in PRONOUNS_EN:
        for m in rx.finditer(clause):
            if not any(taken[m.start():m.end()]):
                found.append(Found(m.start(), m.end(), Entry("pronoun", zh, (m.group(),), m.group())))
    for m in [*PERCENT.finditer(clause), *SCALED.finditer(clause)]:  # figures are kept in _kept_as_written
        take(m)
    for m in LATIN_TOKEN.finditer(clause):  # acronyms and product names read the same in both languages
        if identifier(m.group()) and not any(taken[m.start():m.end()]):
            found.append(Found(m.start(), m.end(), Entry("identifier", m.group(), (m.group(),), m.group())))
    return found


def _kept_as_written(clause: str) -> list[Found]:
    """Years, ordinals, percentages, counted figures and Chinese names, in the handbook's notation."""
    found = []
    for m in YEAR_MONTH.finditer(clause):
        month = f"{MONTHS[m.group(1).lower()]}月" if m.group(1) else ""
        found.append(Found(m.start(), m.end(), Entry("time", f"{m.group(2)}年{month}", (m.group(),), m.group())))
    for m in re.finditer(r"[\u3400-\u9fff“”]+", clause):  # Chinese names kept as written ("中贝能源 (Zhongbei Energy)")
        found.append(Found(m.start(), m.end(), Entry("chinese", m.group(), (m.group(),), m.group())))
    for m in ORDINAL.finditer(clause):
        found.append(Found(m.start(), m.end(), Entry("time", f"第{m.group(1)}", (m.group(),), m.group())))
    for m in PERCENT.finditer(clause):  # "45%", "45 percent" -> 45%
        found.append(Found(m.start(), m.end(), Entry("number", m.group(1) + "%", (m.group(),), m.group())))
    for m in SCALED.finditer(clause):  # "100 million yuan" -> 1亿元, "1.4 billion" -> 14亿
        found.append(Found(m.start(), m.end(), Entry("number", chinese_amount(m), (m.group(),), m.group())))
    for m in COUNT.finditer(clause):  # "14.4 years" -> 14.4年, "200 firms" -> 200家, "five years" -> 五年
        unit, n = _unit_of(m.group(2)), NUMBER_WORDS.get(m.group(1).lower(), m.group(1).replace(",", ""))
        if unit and not YEAR_MONTH.fullmatch(m.group(1)):
            found.append(Found(m.start(), m.end(), Entry("number", n + unit, (m.group(),), m.group())))
    return found


def chinese_amount(m: re.Match) -> str:
    """An English million/billion figure in the handbook's 万/亿 notation."""
    wan = float(m.group(1).replace(",", "")) * (100 if m.group(2).lower() in ("million", "m") else 100000)
    value, scale = (wan / 10000, "亿") if wan >= 10000 else (wan, "万")
    return f"{value:g}{scale}" + ("元" if m.group(3) else "")


@dataclass(frozen=True)
class QuestionPattern:
    """A question form with words between its parts ("how does X compare with Y") and its Chinese."""
    pattern: re.Pattern
    zh: str
    example: str


@lru_cache(maxsize=1)
def question_patterns() -> list[QuestionPattern]:
    data = tomllib.loads(GLOSSARY_PATH.read_text("utf-8"))
    return [QuestionPattern(re.compile(q["pattern"], re.IGNORECASE), q["zh"], q["ex"]) for q in data.get("question_pattern", [])]


@lru_cache(maxsize=1)
def units() -> list[Entry]:
    """Counted English nouns and the handbook's measure word for them ("firms" -> 家, "residents" -> 人)."""
    data = tomllib.loads(GLOSSARY_PATH.read_text("utf-8"))
    return [Entry("unit", u["zh"], tuple(u["en"]), u["ex"]) for u in data.get("unit", [])]


@lru_cache(maxsize=1)
def _unit_words() -> dict[str, str]:
    return {w.lower(): u.zh for u in units() for w in u.en}


def _unit_of(noun: str) -> str | None:
    return _unit_words().get(noun.lower().strip("'’"))


def _with_asked_quantity(clause: str, found: list[Found]) -> list[Found]:
    """The question word in the handbook's terms: "how many firms" asks 多少家 (a count of firms), and a
    bare "what" before a quantity ("what one-off reward", "what target") asks 多少钱 / 多少."""
    unit = next((u for m in COUNTED.finditer(clause) for w in WORD.findall(m.group(1))[:COUNTED_WORDS]
                 if (u := _unit_of(w))), None)
    asks = next((f.entry.asks for f in _asked_run(clause, found) if f.entry.asks), None)
    framed = next((q for q in question_patterns() if q.pattern.search(clause)), None)
    out = []
    for f in found:
        e = f.entry
        if e.kind == "question" and framed and f is next(g for g in found if g.entry.kind == "question"):
            e = Entry(e.kind, framed.zh, e.en, e.example)  # "how does X compare with Y" -> 哪个更多
        elif e.kind == "question" and e.zh in ("什么", "是什么") and asks:  # "what is the listing rate" -> 是多少
            e = Entry(e.kind, e.zh.replace("什么", asks), e.en, e.example)
        if e.kind == "question" and e.zh in COUNT_WORDS and unit:
            e = Entry(e.kind, e.zh + unit, e.en, e.example)
        out.append(Found(f.start, f.end, e))
    return out


def _ranked(clause: str, found: list[Found]) -> list[Entry]:
    """Chinese order: time and subjects first, then the other terms, then what the question word asks
    about (the English words right after it: "what one-off cash reward does Guangzhou pay" asks about
    一次性奖励), then the question word: "广州被评为国家级小巨人一次性奖励多少钱"."""
    asked = _of_inverted(clause, _asked_run(clause, found))
    framing = sorted((f for f in found if f.entry.kind not in CONTENT_KINDS + ("action", "question")),
                     key=lambda f: RANK.index(f.entry.kind))
    rest = framing + _of_inverted(clause, [f for f in found if f.entry.kind in CONTENT_KINDS + ("action",) and f not in asked])
    questions = [f.entry for f in found if f.entry.kind == "question"]
    compared = _than_comparison(clause, [f.entry for f in rest + asked], questions)
    if compared:
        return compared
    count = next((f for f in found if f.entry.kind == "question"), None)
    if asked and count and HOW_MANY.match(clause, count.start) and count.entry.zh[:-1] in HAVE and count.entry.zh[-1] in HAVE_UNITS:
        # "东莞有多少家国家级小巨人", as a Chinese asker writes it
        e = count.entry
        have = Entry(e.kind, HAVE[e.zh[:-1]] + e.zh[-1], e.en, e.example)
        return [f.entry for f in rest] + [have] + [f.entry for f in asked] + questions[1:]
    return [f.entry for f in rest + asked] + questions


THAN = re.compile(r"\bthan\b", re.IGNORECASE)
BY_HOW_MUCH = ("多多少", "少多少", "高多少", "低多少")
JOIN_DE, JOIN_BI = Entry("term", "的", (), ""), Entry("term", "比", (), "")  # joining words of the Chinese sentence


def _than_comparison(clause: str, terms: list[Entry], questions: list[Entry]) -> list[Entry] | None:
    """"How many more X does A have than B" reads "A的X比B多多少家", the form the answerer computes."""
    subjects = [e for e in terms if e.kind in SUBJECT_KINDS]
    if not (THAN.search(clause) and len(subjects) == 2 and questions and questions[0].zh.startswith(BY_HOW_MUCH)):
        return None
    a, b = subjects
    middle = [e for e in terms if e not in subjects]
    return [e for e in middle if e.kind in ("time", "number")] + [a, JOIN_DE] + \
        [e for e in middle if e.kind not in ("time", "number")] + [JOIN_BI, b] + questions


OF = re.compile(r"\bof\s+(?:(?:the|its|their|a|an)\s+)?$", re.IGNORECASE)  # "number of [its] little giants"


def _of_inverted(clause: str, found: list[Found]) -> list[Found]:
    """Terms and verbs in the English order (a verb before its object reads the same in Chinese), except
    that "the number of little giants" is 小巨人数量."""
    out = list(found)
    for i in range(len(out) - 1):
        gap = clause[out[i].end:out[i + 1].start]
        if OF.search(clause[out[i].start:out[i + 1].start]) and len(WORD.findall(gap)) <= 2:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


# "when" before a gerund is a conjunction; "it" before "is hard to" stands for nothing
NOT_ASKING = re.compile(r"\bwhen(?=\s+(?:\w+ing|it comes to)\b)|\bit(?=(?:\s+is|\s+was|'s)?\s+(?:hard|difficult|easy|possible|"
                        r"impossible|necessary|important|true|likely|common|worth)\b)", re.IGNORECASE)
YES_NO = re.compile(r"\s*(?:and\s+|so\s+|also\s+)?(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b",
                    re.IGNORECASE)  # "Did Guangzhou double its count?" asks 吗
DO_SUPPORT = re.compile(r"\b(?:do|does|did|has|have|had|can|could|will|would|should)\b", re.IGNORECASE)
AUXILIARY = re.compile(DO_SUPPORT.pattern.replace("do|", "do|is|are|was|were|"), re.IGNORECASE)
HAVE = {"多少": "有多少", "各多少": "各有多少"}  # a count reads "有多少家" before its noun
HAVE_UNITS = "家名项件台个批次"  # not 人: "员工有多少人", not "有多少人员工"
HOW_MANY = re.compile(r"how many\b", re.IGNORECASE)


def _asked_run(clause: str, found: list[Found]) -> list[Found]:
    """The content entries that follow the first question word, each at most a few words after the
    one before (a subject, year or clause break ends the run)."""
    q = next((i for i, f in enumerate(found) if f.entry.kind == "question"), None)
    if q is None:
        return []
    run: list[Found] = []
    last = found[q].end
    for f in found[q + 1:]:
        gap = len(WORD.findall(clause[last:f.start]))
        # "how many patents [does] a little giant hold": the subject clause begins ("what [is] the rate" does not)
        aux = (AUXILIARY if run else DO_SUPPORT).search(clause[last:f.start])
        if f.entry.kind not in CONTENT_KINDS or gap > (3 if not run else 2) or aux:
            break
        run.append(f)
        last = f.end
    return run


# ---------------------------------------------------------------- leads in the user's language

def english_lead(first_line: str, entries: list[Entry]) -> str:
    """One English line over the first sentence of a Chinese answer, with its citation markers.

    Values are copied verbatim from that sentence (so the verifier finds them in its quotes);
    names come from the glossary: "Shenzhen — listed little giants: 109家, 45% [1]"."""
    sentence = re.match(r"[^。！？!?\n]*[。！？!?]?(?:\s*\[\d{1,3}\])*", first_line).group()
    marks = "".join(re.findall(r"\[\d{1,3}\]", sentence))
    body = re.sub(r"\[\d{1,3}\]", "", sentence)
    values = [m.group().strip() for m in VALUE_TOKEN.finditer(body) if re.search(r"\d", m.group())][:4]
    subjects = list(dict.fromkeys(_name(e) for e in entries if e.kind in SUBJECT_KINDS + ("chinese",)))
    terms = list(dict.fromkeys(_name(e) for e in entries if e.kind in ("industry", "measure", "term")))
    asked = subjects + terms
    named = [f"{_name(e)} ({e.zh})" for e in glossary()[0]
             if e.kind in ("company", "agency", "person", "place", "board") and e.zh in body and _name(e) not in asked][:3]
    topic = " — ".join(x for x in (", ".join(subjects), " ".join(terms)) if x) or "The handbook"
    if values:
        return f"{topic}: {', '.join(values)} {marks}".rstrip()
    if named:
        return f"{topic}: {', '.join(named)} {marks}".rstrip()
    return f"{topic}: see the quoted handbook text below {marks}".rstrip()


def _name(e: Entry) -> str:
    """An English name without digits (a digit in the lead must be grounded in the quotes)."""
    return next((w for w in e.en if not re.search(r"\d", w)), e.zh)
