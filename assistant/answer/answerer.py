"""The extractive, cited answerer (the default; no generative model needed).

question -> (follow-up rewrite) -> frame (answer type, entity constraints) -> sub-questions
-> hybrid retrieval -> candidate units (sentences, table rows, dated events, highlights)
-> constraint check + scoring -> composed answer with [n] markers -> citation verifier.

The refusal is decided here, at the answer level, on explicit signals: a unit may support an
answer only if every named entity, year and listing board of the question appears in it or in
its section path, and it holds a value of the asked type (a count, an amount, a share, a date).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import jieba
import jieba.posseg as pseg
import numpy as np

from ..chunking import STOPWORDS, Unit, search_tokens
from ..citations import Citation, number_in, numbers, verify
from ..config import MAX_QUESTION_CHARS, REFUSAL
from ..index import Index
from ..ingest.profiles import asks_business, find_companies, lookup_milestones
from ..retrieval import Filters, Hit, HybridRetriever

CITIES = tuple("广州 深圳 佛山 东莞 珠海 惠州 中山 江门 肇庆 汕头 湛江 茂名 韶关 清远 揭阳 潮州 汕尾 阳江 云浮 河源 梅州 "
          "北京 上海 天津 重庆 苏州 南京 杭州 宁波 合肥 成都 无锡 绍兴 武汉 西安 长沙 青岛 厦门 郑州 济南 常州 嘉兴 温州 香港 澳门".split())
PROVINCES = tuple("广东 江苏 浙江 山东 安徽 福建 湖北 湖南 四川 河南 河北 安徽 江西 广西 海南 云南 贵州 陕西 辽宁 吉林 黑龙江 台湾".split())
REGIONS = ("珠三角", "长三角", "大湾区", "粤港澳", "粤东西北", "珠江西岸")
BOARDS = ("新三板", "科创板", "创业板", "北交所", "主板", "港股", "美股", "纳斯达克", "深交所", "上交所")
NAMED_FLAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng"}
CN_DIGITS = "一二三四五六七八九十"
GENERIC_NAMES = {"中国", "全国", "国家", "政府", "小巨人", "专精特新", "企业", "手册", "普华永道"}

QUANTITY = r"(多少|几|多大|多高|多快|多长|多久|是多少|有多|怎样的规模)"
# What the question asks for, from its wording (checked in this order).
ANSWER_TYPES = (
    ("date", re.compile(r"什么时候|何时|哪一?年|几几年|哪个?月|哪天|几月|什么时间|年份")),
    # asking for measures or advice ("有什么建议", "怎么帮") even when phrased as a list
    ("how", re.compile(r"建议|怎么(?!样)|如何|怎样(?!的)|措施|办法|对策|举措|该做什么|做些什么|可以做什么")),
    ("percent", re.compile(r"(比例|占比|几成|百分之|百分比|比重|份额|占有率|多少成|比率|上市率|增速|增长率|增幅|同比|涨了).{0,6}" + QUANTITY
                           + "|" + QUANTITY + r".{0,4}(比例|比重|份额|占比)|占.{0,8}(多少|几成|多大)|几成|(增长|增速|涨).{0,4}(多快|多少)")),
    ("list", re.compile(r"哪些|哪几|有什么|有哪|都有谁|都有哪|列举")),
    ("amount", re.compile(r"多少钱|(金额|年薪|工资|薪酬|薪水|奖励|补贴|补助|奖补|资金|基金规模|融资规模|投入|营收|收入|市值|花).{0,8}" + QUANTITY
                          + "|" + QUANTITY + r".{0,6}(钱|资金|补助|补贴|奖补|奖励|亿|万元)")),
    ("count", re.compile(r"多少家|几家|多少个|几个|多少项|几项|多少件|几件|多少名|多少人|(数量|总数).{0,4}" + QUANTITY
                         + r"|多少台|几类|多少类|多少批|几批|多少只|多少场|几场|几条")),
    ("number", re.compile(QUANTITY + r"|平均")),
    ("entity", re.compile(r"哪家|哪个|哪一|谁|什么机构|什么企业|什么公司|叫什么|在哪")),
    ("how", re.compile(r"怎么|怎样|如何|建议|措施|办法|做法|经验|对策|路径|举措|政策|支持|帮助|保障|应该|为什么|原因|看法|怎么看")),
)
_NUM = r"\d+(?:\.\d+)?\s*[万千百亿]?\s*(?:余|多)?\s*"
# Chinese numerals, but not a lone 一 ("一家研发…公司" is an article, not a count)
_CN_NUM = r"(?:[两二三四五六七八九十百千][一二三四五六七八九十两百千万]*|一[十百千万][一二三四五六七八九十两百千万]*)\s*(?:余|多)?\s*"
VALUE = {
    "date": re.compile(r"(19|20)\d{2}\s*(年|-\d{2}|—|–)|\d{1,2}月"),
    "percent": re.compile(r"\d+(\.\d+)?\s*[%％]|[一二三四五六七八九十]成|过半|一半|半壁|\d+:\d+|\d+/\d+|[几一二三四五六七八九十]分之"),
    "amount": re.compile(_NUM + r"(元|万|亿)|[百千万亿]元|\d+(\.\d+)?\s*[%％]"),
    "count": re.compile("(" + _NUM + "|" + _CN_NUM + r")(家|个|项|件|名|人|台|类|批|只|场|所|城|条|次|位)"),
    "number": re.compile(r"\d|[一二三四五六七八九十两百千万]+\s*(?:余|多)?\s*(家|个|项|件|成|倍|年|人|台)|一半|过半|三分之一"),
}
PLACES = CITIES + PROVINCES + REGIONS
DISTRICT = re.compile(r"[\u4e00-\u9fff]{2}(?:区|镇|县)(?!域)")
# Measures a question can ask about. When the question names one, the supporting sentence (or its
# section path) must name it too: "珠海有多少家上市小巨人" must not be answered by a count of all
# little giants in 珠海. (question cue, accepted wording in the support)
QUALIFIERS = (
    (r"上市|挂牌|IPO", r"上市|挂牌|IPO|登陆"),
    (r"新增|新晋", r"新增|新晋|第五批"),
    (r"融资|获投", r"融资|投资"),
    (r"专利", r"专利|知识产权"),
    (r"发明专利", r"发明"),
    (r"平均|人均|每家", r"平均|均|每家|/家"),
    (r"营收|营业收入|销售额|收入", r"营收|收入|销售额|营业"),
    (r"成立年限|年龄|多少年了|几年了|老", r"年限|成立|年龄|年以上|多年|资历"),
    (r"补助|补贴|奖补|资助", r"补助|补贴|奖补|奖励|资助|扶持资金"),
    (r"单项冠军", r"单项冠军"),
    (r"技术中心", r"技术中心"),
    (r"高新技术", r"高新技术"),
    (r"董事长|总经理|CEO|总裁|创始人|法人|负责人|董事", r"董事长|总经理|CEO|总裁|创始人|法人|负责人|董事"),
    (r"股票代码|证券代码", r"代码"),
    (r"注册资本", r"注册资本"),
    (r"员工|职工|雇员", r"员工|人员|职工"),
    (r"市值", r"市值"),
    (r"出口|海外|出海|国外", r"出口|海外|出海|国外|全球|国家和地区"),
    (r"省级", r"省级"),
    (r"市级", r"市级"),
    # a superlative ("最早", "最多") needs a sentence that ranks, not one that merely counts
    (r"最(?!近|新|终|后|好是)|之首", r"最|第一|首|之首|榜首|领先|排名"),
)
# Requests for a task rather than a question about the handbook: declined, whatever words follow.
TASK_REQUEST = re.compile(r"(写|作|编|创作|生成|翻译|续写|改写)(一|几)?(首|篇|个|段|份|句)?.{0,8}(诗|词|歌|文章|故事|小说|笑话|段子|代码|绝句|律诗|对联|口号|作文|邮件)")
# "多少台" asks for a count of 台: the value must carry the same measure word.
MEASURE_WORD = re.compile(r"(?<!哪)(?:多少|几)(家|台|项|件|个|名|次|场|条|类|批|只|所|座|位|倍|年|亩|片)")
META_HISTORY = re.compile(r"^(那|那么|还有|另外|再问|换成|如果是)?(.{1,12}?)(呢|的呢|怎么样|如何|情况呢)?[？?。！!]*$")

COMMON_WORD_FREQ = 1000  # jieba dictionary frequency above which an nr-tagged word is an ordinary word
SCORE_FLOOR = 0.887  # minimum score of the best unit (cosine scale); calibrated on eval/qa.jsonl (README)
TOP_CHUNKS = 8  # hybrid-retrieved chunks whose units become candidates
MAX_CONTEXT_UNITS = 4
ASKS_POINTS = re.compile(r"哪几(条|点|个方面|方面|项)|哪些(方面|经验|做法|措施|建议|举措)|几点|几条|几个方面")
LIST_MARGIN = 0.008  # further units within this of the best join a list answer
HOW_MARGIN = 0.024  # a prescriptive unit within this of the best match leads a how-answer


class BadInput(ValueError):
    """One-line Chinese message for input that cannot be a question."""


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


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    related: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    answered_question: str | None = None  # the rewritten question, for a follow-up
    answerer: str = "extractive"
    notice: str | None = None

    def as_json(self) -> dict:
        return {"question": self.question, "answer": self.answer, "refused": self.refused,
                "citations": [c.as_json() for c in self.citations],
                "timings_ms": {k: round(self.timings_ms.get(k, 0.0), 2) for k in ("retrieve", "answer", "total")}}


def check_question(question) -> str:
    """Normalise user input or raise BadInput with the message the CLI and UI show."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("无法识别的输入：请用中文文字提问。")
    if not isinstance(question, str):
        raise BadInput("无法识别的输入：请用中文文字提问。")
    if "\x00" in question or sum(1 for ch in question if ord(ch) < 32 and ch not in "\t\n\r") > max(3, len(question) // 10):
        raise BadInput("输入包含二进制或控制字符，请用中文文字提问。")
    q = re.sub(r"\s+", " ", "".join(ch for ch in question if ch.isprintable() or ch in "\t\n ")).strip()
    if not q:
        raise BadInput("问题为空：请输入一个关于《广东专精特新“小巨人”成长手册》的问题。")
    if len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"问题过长（{len(q)} 字）：请控制在 {MAX_QUESTION_CHARS} 字以内。")
    return q


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


def frame(question: str, index: Index) -> Frame:
    corpus = index.extra("corpus_lower", lambda: "\n".join(d.text for d in index.docs.values()).lower())
    companies = find_companies(question, list(index.docs.values()))
    aliases = sorted({a for p in companies for a in p.aliases}, key=len, reverse=True)
    masked = question
    for a in aliases:
        masked = masked.replace(a, "，")
    places = [n for n in PLACES if n in masked and n not in GENERIC_NAMES]
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
    figures = [n for n, _ in numbers(question) if n not in years]
    qualifiers = [support for cue, support in QUALIFIERS if re.search(cue, question)]
    mw = MEASURE_WORD.search(question)
    # single characters ("比", "高", "量") carry no topic; digits and Latin words do
    content = [t for t in dict.fromkeys(search_tokens(question)) if t not in STOPWORDS and (len(t) >= 2 or t.isascii())]
    return Frame(question, answer_type(question), entities, [p for p in places if p in entities], unknown, years,
                 figures, qualifiers, companies, content, mw.group(1) if mw else None)


def off_topic(f: Frame, index: Index) -> bool:
    """No word of the question, other than place names, occurs anywhere in the corpus."""
    corpus = index.extra("corpus_lower", lambda: "\n".join(d.text for d in index.docs.values()).lower())
    words = [t for t in f.content if len(t) >= 2 and not any(t in p or p in t for p in PLACES)]
    return bool(words) and not any(t in corpus for t in words)


def support_text(u: Unit) -> str:
    return f"{u.text}\n{u.section}\n{u.company or ''}"


def _place_mentions(text: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), m.group()) for m in re.finditer("|".join(PLACES), text)]
    found += [(m.start(), m.end(), m.group()) for m in DISTRICT.finditer(text)]
    return sorted(found)


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
            subject = {p for p in PLACES if any(c.startswith(p) for c in _path_subjects(u.section))} | {x[2] for x in mentions}
        else:
            subject = _group(before, len(before) - 1, forward=False) | first
        # the most specific place asked (a district over its city) is the one the value must belong to
        asked = [p for p in f.places if p[-1] in "区镇县"] or f.places
        if any(p in s or s in p for p in asked for s in subject):
            return True
        # a district of the asked city: "佛山篇 > … 南海区“小巨人”企业总量为37家"
        if asked is f.places and any(s[-1] in "区镇县" for s in subject) and any(p in u.section for p in f.places):
            return True
    return False


def _path_subjects(section: str) -> list[str]:
    """Section path components without their numbering: "深圳篇", "广东“小巨人”企业画像", ..."""
    return [re.sub(rf"^[{CN_DIGITS}]+\s+|^（[{CN_DIGITS}]+）", "", c) for c in section.split(" > ")]


def names_place(u: Unit, place: str) -> bool:
    """The sentence names the place, or its section is about it ("深圳篇 > …"); a heading that
    merely mentions it ("区域分布：南海区成为……") does not count."""
    return place in u.text or any(c.startswith(place) for c in _path_subjects(u.section))


def satisfies(u: Unit, f: Frame, index: Index) -> bool:
    """The unit can support an answer: it names every entity, year, measure and company of the
    question (in its text or section path) and holds a value of the asked type bound to the asked place."""
    text = support_text(u)
    if any(e not in text for e in f.entities if e not in f.places):
        return False
    if any(not names_place(u, p) for p in f.places):
        return False
    if any(y not in text for y in f.years):
        return False
    if any(not number_in(n, "", u.text) for n in f.figures):
        return False
    if any(not re.search(q, u.text) for q in f.qualifiers):  # the measure must be in the sentence itself
        return False
    if f.companies and not any(any(a in text for a in p.aliases) for p in f.companies):
        return False
    rx = VALUE.get(f.answer_type)
    if rx is not None and not rx.search(u.text) and not (u.kind == "table" and re.search(r"\d", u.text)):
        return False
    if f.measure and f.answer_type in ("count", "number") and u.kind != "table" and not re.search(r"(\d|[一二三四五六七八九十两百千万])\s*(余|多)?\s*" + f.measure, u.text):
        return False
    if f.places and f.answer_type in VALUE and not value_bound(u, f):
        return False
    return True


# ---------------------------------------------------------------- scoring

ENUMERATION = re.compile(r"^(一是|二是|三是|四是|五是|第[一二三四五六]，|首先|其次|再者|最后|[1-9][.、])")
PRESCRIPTIVE = re.compile(r"建议|应当|应该|(?<![必])需(?!要|求)|(?<![主重需])要(?!求|素|点|是|么)|鼓励|支持|推动|加强|完善|探索|可以|可考虑|可依托|借鉴|予以|保障|一是|二是|三是|第[一二三四五]，")
ADVICE_SECTION = re.compile(r"路径|建议|经验|做法|措施|启示|赋能|举措|对策")
CONTINUES = re.compile(r"^(这|此|其中|具体|例如|比如|包括|一是|即|该|为此|因此|这要求|同时)")


def idf(index: Index) -> dict[str, float]:
    def build():
        df: dict[str, int] = {}
        for u in index.units:
            for t in set(search_tokens(support_text(u))):
                df[t] = df.get(t, 0) + 1
        n = len(index.units)
        table = {t: math.log(1 + n / c) for t, c in df.items()}
        table[""] = max(table.values(), default=1.0)
        return table
    return index.extra("idf", build)


def coverage(u: Unit, f: Frame, weights: dict[str, float]) -> float:
    if not f.content:
        return 0.0
    text = support_text(u).lower()
    default = weights.get("", 1.0)  # unseen words weigh as much as the rarest seen one
    total = sum(weights.get(t, default) for t in f.content)
    got = sum(weights.get(t, default) for t in f.content if t in text)
    return got / total if total else 0.0


@dataclass
class Scored:
    unit: Unit
    score: float
    dense: float
    lexical: float
    ok: bool


# Weights of the unit score: dense cosine (1.0), IDF-weighted term coverage, rank of the unit's
# chunk in hybrid retrieval, advice wording/sections for how-questions. Chosen by a grid search on
# eval/qa.jsonl (README, "Tuning"): the chunk rank adds nothing once every unit is a candidate.
W_DENSE, W_LEX, W_RANK, W_HOW, W_ADVICE = 1.0, 0.07, 0.0, 0.01, 0.02
UNIT_CANDIDATES = 30


def score_units(f: Frame, qvec: np.ndarray, hits: list[Hit], index: Index, extra_units: list[int] = (),
                filters: Filters | None = None) -> list[Scored]:
    weights = idf(index)
    prior: dict[int, float] = {}
    for h in hits:
        for uid in h.chunk.units:
            prior.setdefault(uid, 1.0 / h.rank)
    for uid in extra_units:
        prior.setdefault(uid, 0.0)
    # Sentence-level dense search over every unit: a second path to facts whose chunk ranked low.
    all_dense = index.unit_vecs @ qvec
    for uid in np.argsort(-all_dense)[:UNIT_CANDIDATES]:
        prior.setdefault(int(uid), 0.0)
    allowed = filters.allows if filters else (lambda c: True)
    uids = [u for u in prior if index.units[u].kind not in ("chart", "toc", "byline") and len(index.units[u].text) >= 8
            and allowed(index.chunks[index.units[u].chunk])]
    if not uids:
        return []
    dense = all_dense[uids]
    out = []
    for uid, d in zip(uids, dense):
        u = index.units[uid]
        lex = coverage(u, f, weights)
        s = W_DENSE * float(d) + W_LEX * lex + W_RANK * prior[uid]
        if f.answer_type == "how":
            # recommendations live in prescriptive sentences and in the handbook's advice sections
            s += W_HOW * bool(PRESCRIPTIVE.search(u.text)) + W_ADVICE * bool(ADVICE_SECTION.search(u.section))
        if f.places and any(p in u.text for p in f.places):
            s += W_HOW  # the place is named in the sentence itself, not only inherited from its section
        out.append(Scored(u, s, float(d), lex, satisfies(u, f, index)))
    out.sort(key=lambda s: -s.score)
    return out


# ---------------------------------------------------------------- composition

def _cite(u: Unit, cites: list[Citation]) -> str:
    """Citation markers for a unit's spans, reusing numbers for spans already cited."""
    marks = []
    for sp in u.spans:
        existing = next((c for c in cites if (c.doc, c.start, c.end) == (sp.doc, sp.start, sp.end)), None)
        if existing is None:
            existing = Citation(len(cites) + 1, sp.doc, sp.start, sp.end, u.section, sp.text)
            cites.append(existing)
        marks.append(f"[{existing.n}]")
    return "".join(dict.fromkeys(marks))


def compose(units: list[Unit], cites: list[Citation], notes: list[str] = ()) -> str:
    """One line per unit; every sentence of it carries the unit's markers."""
    lines = []
    for u in units:
        marks = _cite(u, cites)
        text = re.sub(r"[；;，,、\s]+$", "", u.text)
        parts = [p for p in re.findall(r"[^。！？!?]+[。！？!?]*[”’」）)]*", text) if p.strip()]
        lines.append("".join((p.rstrip() if re.search(r"[。！？!?]", p) else p.rstrip() + "。") + marks for p in parts))
    return "\n".join(list(lines) + list(notes))


def _neighbour(index: Index, u: Unit, step: int) -> Unit | None:
    """The next/previous unit in the same section (chunks may overlap or split a section)."""
    k = u.id + step
    while 0 <= k < len(index.units) and index.units[k].section == u.section:
        if index.units[k].spans[0].start != u.spans[0].start:
            nb = index.units[k]
            return nb if (nb.spans[0].start > u.spans[0].start) == (step > 0) else None
        k += step
    return None


def _prescriptive(u: Unit) -> bool:
    return bool(PRESCRIPTIVE.search(u.text))


def with_context(unit: Unit, f: Frame, index: Index) -> list[Unit]:
    """The unit of an answer is a fact with its context: the rest of a sentence split at ；, a next
    sentence that elaborates ("这要求…"), the items of an enumeration it opens ("一是…；二是…"), the
    body of a short enumerated heading ("第二，搭建……平台。" + how), or for a how-question the
    recommendation that follows a description of the problem."""
    out, cur = [unit], unit
    while len(out) < MAX_CONTEXT_UNITS:
        nxt = _neighbour(index, cur, 1)
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


def pick_units(scored: list[Scored], f: Frame, index: Index) -> list[Unit]:
    ok = [s for s in scored if s.ok]
    if not ok or ok[0].score < SCORE_FLOOR:
        return []
    best = ok[0]
    if f.answer_type == "how":
        # Lead with the measures: the best prescriptive unit unless it is far behind the best match.
        pres = [s for s in ok if _prescriptive(s.unit)]
        if pres and pres[0].score >= max(SCORE_FLOOR, best.score - HOW_MARGIN) and not _prescriptive(best.unit):
            nxt = _neighbour(index, best.unit, 1)
            if nxt is None or not _prescriptive(nxt):
                best = pres[0]
    if ENUMERATION.match(best.unit.text) and ASKS_POINTS.search(f.question):
        # "袁锋总结了哪几条经验": the whole enumeration the best unit belongs to, in order
        siblings = [u for u in index.units if u.section == best.unit.section and ENUMERATION.match(u.text)
                    and u.kind == best.unit.kind]
        seen: set[int] = set()
        chosen = [u for u in siblings if not (u.spans[0].start in seen or seen.add(u.spans[0].start))][:6]
        return sorted(chosen, key=lambda u: (u.spans[0].doc, u.spans[0].start))
    chosen = with_context(best.unit, f, index)
    prev = _neighbour(index, best.unit, -1)
    if prev is not None and prev.joins_next and any(s.unit.id == prev.id and s.ok for s in scored):
        chosen.insert(0, prev)
    limit = len(chosen) + (3 if f.answer_type in ("how", "list") else 1)
    for s in ok[1:]:
        if len(chosen) >= limit:
            break
        if s.score >= best.score - LIST_MARGIN and s.unit.id not in {u.id for u in chosen} \
                and s.unit.text not in {u.text for u in chosen}:
            chosen.append(s.unit)
    return sorted(chosen, key=lambda u: (u.spans[0].doc, u.spans[0].start))


# ---------------------------------------------------------------- sub-questions and follow-ups

COMPARES = re.compile(r"各|分别|谁|哪个|哪边|相比|比较|对比|高还是|多还是|快还是|大还是|差距|差多少")
CONNECTOR = r"\s*(?:和|与|跟|及|、|，|还是|以及|对比|vs|VS|比)\s*"
COLLECTIVE = re.compile(r"(这)?[两二三四五六七八九十]+(个)?(省|市|城|地|区|个城市|座城市|家公司|家企业|家)|(谁的|谁|哪个|哪一个|哪家|哪边)(更|比较)?|各自|各|分别|都|(快|多|高|大)还是(慢|少|低|小)?")


def split_comparison(question: str, index: Index) -> list[str]:
    """'深圳和广州谁的上市小巨人多？各多少？' -> one question per compared entity."""
    companies = find_companies(question, list(index.docs.values()))
    names = [n for n in PLACES + BOARDS if n in question]
    names += [next(a for a in sorted(p.aliases, key=len, reverse=True) if a in question) for p in companies]
    names = sorted(set(names), key=len, reverse=True)
    if len(names) < 2:
        return [question]
    alt = "|".join(map(re.escape, names))
    run = re.search(f"(?:{alt})(?:{CONNECTOR}(?:{alt}))+", question)
    if not run:
        # "东莞上市的小巨人和广州上市的各多少家": the compared names stand apart; ask once per name,
        # dropping the others
        if not COMPARES.search(question):
            return [question]
        mentioned = sorted(dict.fromkeys(re.findall(alt, question)), key=question.find)
        return [re.sub(alt, lambda m: m.group() if m.group() == keep else "", question) for keep in mentioned]
    members = re.findall(alt, run.group())
    base = question[: run.start()] + "{X}" + question[run.end():]
    base = COLLECTIVE.sub("", base)
    return [base.replace("{X}", m) for m in dict.fromkeys(members)]


MAX_PARTS = 4  # sub-questions answered per question (comparisons, two-part questions)


def split_two_part(question: str) -> list[str]:
    parts = [p for p in re.split(r"[？?；;]\s*", question) if len(p.strip()) >= 4]
    return parts if len(parts) >= 2 else [question]


PRONOUN = re.compile(r"^(那么|那)?(它|其|该企业|该公司|这家公司|这家企业|这家|那家|他们|它们)")
ORG = re.compile(r"[\u4e00-\u9fff（）()]{2,20}?(?:股份有限公司|有限公司|集团)")


def resolve_part(part: str, first: str, first_units: list[Unit], index: Index) -> str:
    """A later part of a two-part question inherits its subject: the company the first part names,
    or else the organisation its answer named ("它从哪一年…" -> "广东创兴精密制造股份有限公司从哪一年…"),
    else the first part's topic."""
    m = PRONOUN.match(part)
    named = find_companies(first, list(index.docs.values()))
    names = [named[0].name] if named else [o.group() for u in first_units for o in ORG.finditer(u.text)]
    if m and names:
        return names[0] + part[m.end():]
    if m or len(part) < 12:
        return first.split("，")[0] + "，" + part[m.end() if m else 0:]
    return part


def rewrite_followup(question: str, history: list, index: Index) -> str | None:
    """'那东莞呢？' after a question about 广州 -> the previous question with the entity replaced."""
    prev = _last_user_question(history)
    if not prev:
        return None
    m = META_HISTORY.match(question)
    if not m or len(question) > 20 or (not question.startswith(("那", "那么", "还有", "另外", "换成", "如果是")) and not m.group(3)):
        return None
    new = m.group(2).strip("，, 的")
    docs = list(index.docs.values())
    for group in (PLACES, BOARDS):
        if new in group:
            old = next((n for n in group if n in prev and n != new), None)
            if old:
                return prev.replace(old, new)
    new_c, old_c = find_companies(new, docs), find_companies(prev, docs)
    if new_c and old_c:
        old_alias = next(a for a in sorted(old_c[0].aliases, key=len, reverse=True) if a in prev)
        return prev.replace(old_alias, new, 1)
    return None


def _last_user_question(history: list) -> str | None:
    for item in reversed(history or []):
        if isinstance(item, dict):
            if item.get("role") == "user":
                content = item.get("content")
                if isinstance(content, list):
                    content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
                return str(content) if content else None
        elif isinstance(item, (list, tuple)) and item:
            return str(item[0])
        elif isinstance(item, str):
            return item
    return None


# ---------------------------------------------------------------- the answerer

def units_of(index: Index, company: str) -> list[Unit]:
    """A profiled company's units, from a table built once per index (not a scan per question)."""
    table = index.extra("company_units", lambda: _by_company(index.units))
    return table.get(company, [])


def _by_company(units: list[Unit]) -> dict[str, list[Unit]]:
    out: dict[str, list[Unit]] = {}
    for u in units:
        if u.company:
            out.setdefault(u.company, []).append(u)
    return out


def answer_one(question: str, index: Index, filters: Filters, timings: dict) -> tuple[list[Unit], list[Hit], Frame]:
    f = frame(question, index)
    t0 = time.perf_counter()
    r = HybridRetriever(index, top_k=TOP_CHUNKS, filters=filters).retrieve_timed(question)
    timings["retrieve"] = timings.get("retrieve", 0.0) + (time.perf_counter() - t0) * 1e3
    for k, v in r.timings_ms.items():
        timings[k] = timings.get(k, 0.0) + v
    if f.unknown or off_topic(f, index) or TASK_REQUEST.search(question):
        return [], r.hits, f
    t1 = time.perf_counter()
    company_units = units_of(index, f.companies[0].name) if f.companies else []
    # A profiled company: dated milestones and what it does come straight from its record.
    if f.companies:
        asked = lookup_milestones(question, f.companies[0])
        if asked:
            found = [u for u in company_units if any(sp.start == ev.event.start for ma in asked for ev in ma.events for sp in u.spans)
                     and filters.allows(index.chunks[u.chunk])]
            timings["select"] = timings.get("select", 0.0) + (time.perf_counter() - t1) * 1e3
            return found, r.hits, f  # empty: the record has no such milestone -> refuse
        if asks_business(question):
            intro = f.companies[0].intro
            found = [u for u in company_units if intro and u.spans[0].start == intro.start and filters.allows(index.chunks[u.chunk])]
            if found:
                return found, r.hits, f
    scored = score_units(f, r.query_vec, r.hits, index, [u.id for u in company_units], filters)
    chosen = pick_units(scored, f, index)
    timings["select"] = timings.get("select", 0.0) + (time.perf_counter() - t1) * 1e3
    return chosen, r.hits, f



def _echo(user_text: str) -> str:
    """User text quoted inside a note line: no citation-like [n], no sentence break, one line."""
    return re.sub(r"[。！？!?\n]+", "，", user_text.replace("[", "［").replace("]", "］")).strip("，")


def ask(question, index: Index, history: list | None = None, filters: Filters | None = None) -> Answer:
    t_start = time.perf_counter()
    q = check_question(question)
    filters = filters or Filters()
    timings: dict[str, float] = {}
    rewritten = rewrite_followup(q, history or [], index)
    if rewritten and len(rewritten) > MAX_QUESTION_CHARS:
        rewritten = None  # the length cap holds after a rewrite too: a huge earlier question is not reused
    effective = rewritten or q
    subs = split_comparison(effective, index)
    two_part = len(subs) == 1
    if two_part:
        subs = split_two_part(effective)
    subs = subs[:MAX_PARTS]  # a question of 100 "？"-separated parts would cost 100 retrievals
    chosen: list[Unit] = []
    related: list[Hit] = []
    notes: list[str] = []
    for i, sq in enumerate(subs):
        if two_part and i > 0:
            sq = resolve_part(sq, subs[0], chosen, index)
        units, hits, _ = answer_one(sq, index, filters, timings)
        related.extend(h for h in hits if h.chunk.id not in {x.chunk.id for x in related})
        if not units and len(subs) > 1:
            notes.append(f"（手册中没有找到“{_echo(sq)}”的答案。）")
        chosen.extend(u for u in units if u.id not in {c.id for c in chosen})
    t_compose = time.perf_counter()
    cites: list[Citation] = []
    if not chosen:
        text, refused = REFUSAL, True
    else:
        text, refused = compose(chosen, cites, notes), False
        if rewritten:
            text = f"（理解为：“{_echo(rewritten)}”）\n{text}"
    t_verify = time.perf_counter()
    timings["compose"] = (t_verify - t_compose) * 1e3
    if not refused:
        v = verify(text, cites, {d: doc.text for d, doc in index.docs.items()})
        text, cites, refused = v.answer, v.citations, v.answer == REFUSAL
    timings["verify"] = (time.perf_counter() - t_verify) * 1e3
    timings["total"] = (time.perf_counter() - t_start) * 1e3
    timings["answer"] = timings["total"] - timings.get("retrieve", 0.0)
    return Answer(q, text, refused, cites, related[:5], timings, rewritten)
