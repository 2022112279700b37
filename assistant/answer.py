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

import jieba.posseg as pseg
import numpy as np

from .chunking import STOPWORDS, Unit, search_tokens
from .citations import Citation, verify
from .config import MAX_QUESTION_CHARS, REFUSAL
from .index import Index
from .profiles import find_companies, lookup_milestones
from .retrieval import Filters, Hit, HybridRetriever

CITIES = tuple("广州 深圳 佛山 东莞 珠海 惠州 中山 江门 肇庆 汕头 湛江 茂名 韶关 清远 揭阳 潮州 汕尾 阳江 云浮 河源 梅州 "
          "北京 上海 天津 重庆 苏州 南京 杭州 宁波 合肥 成都 无锡 绍兴 武汉 西安 长沙 青岛 厦门 郑州 济南 常州 嘉兴 温州 香港 澳门".split())
PROVINCES = tuple("广东 江苏 浙江 山东 安徽 福建 湖北 湖南 四川 河南 河北 安徽 江西 广西 海南 云南 贵州 陕西 辽宁 吉林 黑龙江 台湾".split())
REGIONS = ("珠三角", "长三角", "大湾区", "粤港澳", "粤东西北", "珠江西岸")
BOARDS = ("新三板", "科创板", "创业板", "北交所", "主板", "港股", "美股", "纳斯达克", "深交所", "上交所")
NAMED_FLAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng"}
GENERIC_NAMES = {"广东", "中国", "全国", "国家", "政府", "小巨人", "专精特新", "企业", "手册", "普华永道"}

# What the question asks for, from its wording (checked in this order).
ANSWER_TYPES = (
    ("date", re.compile(r"什么时候|何时|哪一?年|几几年|哪个?月|哪天|几月|什么时间|年份")),
    ("percent", re.compile(r"比例|占比|几成|百分之|百分比|多大比重|比重|份额|占有率|多少成|比率|上市率|增速|增长率|增幅|同比")),
    ("amount", re.compile(r"多少钱|金额|年薪|工资|薪酬|薪水|奖励|补贴|补助|奖补|资金|基金规模|规模多大|投入|营收|收入|市值|融资规模|亿元|万元|多少万|多少亿")),
    ("count", re.compile(r"多少家|几家|多少个|几个|多少项|几项|多少件|几件|多少名|多少人|数量|总数|多少台|几类|多少类|多少批|几批|多少只|多少场|几场")),
    ("number", re.compile(r"多少|几|多大|多高|多长|多久|平均")),
    ("list", re.compile(r"哪些|哪几|有什么|有哪|包括|分别|都有|列举")),
    ("entity", re.compile(r"哪家|哪个|哪一|谁|什么机构|什么企业|什么公司|是什么|叫什么")),
    ("how", re.compile(r"怎么|怎样|如何|建议|措施|办法|做法|经验|对策|路径|举措|政策|支持|帮助|保障|应该|该怎么|为什么|原因")),
)
VALUE = {
    "date": re.compile(r"(19|20)\d{2}\s*(年|-\d{2}|—|–)|\d{1,2}月"),
    "percent": re.compile(r"\d+(\.\d+)?\s*[%％]|[一二三四五六七八九十]成|过半|一半|半壁|超八成|近五成|\d+:\d+|\d+/\d+|比例|占比"),
    "amount": re.compile(r"\d+(\.\d+)?\s*(余|多)?\s*[万亿千百]?\s*(余|多)?元|\d+(\.\d+)?\s*[万亿]|[百千万亿]元"),
    "count": re.compile(r"\d+\s*(余|多)?\s*(家|个|项|件|名|人|台|类|批|只|场|所|城|余家|多家)|[一二三四五六七八九十两百千]+\s*(家|个|项|件|类|批)"),
    "number": re.compile(r"\d|[一二三四五六七八九十两百千万]+(家|个|项|件|成|倍|年)|一半|过半"),
}
META_HISTORY = re.compile(r"^(那|那么|还有|另外|再问|换成|如果是)?(.{1,12}?)(呢|的呢|怎么样|如何|情况呢)?[？?。！!]*$")

SCORE_FLOOR = 0.80  # minimum combined score for the best unit; calibrated on eval/qa.jsonl (see README)
LIST_MARGIN = 0.04


class BadInput(ValueError):
    """One-line Chinese message for input that cannot be a question."""


@dataclass
class Frame:
    question: str
    answer_type: str
    entities: list[str]  # named entities that must appear in the support
    unknown: list[str]  # named entities the corpus never mentions
    years: list[str]
    companies: list  # CompanyProfile
    content: list[str]  # content tokens for lexical coverage


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

def corpus_vocab(index: Index) -> str:
    return "\n".join(d.text for d in index.docs.values())


def frame(question: str, index: Index) -> Frame:
    answer_type = next((name for name, rx in ANSWER_TYPES if rx.search(question)), "fact")
    corpus = index.extra("corpus_text", lambda: corpus_vocab(index))
    companies = find_companies(question, list(index.docs.values()))
    company_words = {a for p in companies for a in p.aliases}
    entities, unknown = [], []
    for name in CITIES + PROVINCES + REGIONS + BOARDS:
        if name in question and name not in GENERIC_NAMES and not any(name in w and name != w for w in company_words):
            entities.append(name)
    for w in pseg.cut(question):
        word = w.word.strip()
        if w.flag in NAMED_FLAGS and len(word) >= 2 and word not in GENERIC_NAMES and not any(word in a for a in company_words):
            if word.lower() not in corpus.lower():
                unknown.append(word)
            elif w.flag != "eng" and word not in entities and not any(word in e for e in entities):
                entities.append(word)
    for m in re.finditer(r"[\u4e00-\u9fff]{2,4}(?:区|镇|县)", question):
        if m.group() in corpus and m.group() not in entities:
            entities.append(m.group())
    years = re.findall(r"(?:19|20)\d{2}", question)
    content = [t for t in dict.fromkeys(search_tokens(question)) if t not in STOPWORDS and len(t) >= 1]
    return Frame(question, answer_type, entities, unknown, years, companies, content)


def support_text(u: Unit) -> str:
    return f"{u.text}\n{u.section}\n{u.company or ''}"


def satisfies(u: Unit, f: Frame, index: Index) -> bool:
    """Every entity, year and company of the question is in the unit or its section path."""
    text = support_text(u)
    if any(e not in text for e in f.entities):
        return False
    if any(y not in text for y in f.years):
        return False
    if f.companies and not any(any(a in text for a in p.aliases) for p in f.companies):
        return False
    rx = VALUE.get(f.answer_type)
    return rx is None or bool(rx.search(u.text))


# ---------------------------------------------------------------- scoring

def idf(index: Index) -> dict[str, float]:
    def build():
        df: dict[str, int] = {}
        for u in index.units:
            for t in set(search_tokens(support_text(u))):
                df[t] = df.get(t, 0) + 1
        n = len(index.units)
        return {t: math.log(1 + n / c) for t, c in df.items()}
    return index.extra("idf", build)


def coverage(u: Unit, f: Frame, weights: dict[str, float]) -> float:
    if not f.content:
        return 0.0
    text = support_text(u).lower()
    default = max(weights.values()) if weights else 1.0
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


def score_units(f: Frame, qvec: np.ndarray, hits: list[Hit], index: Index, extra_units: list[int] = ()) -> list[Scored]:
    weights = idf(index)
    prior = {}
    for h in hits:
        for uid in h.chunk.units:
            prior.setdefault(uid, 1.0 / (h.rank + 1))
    for uid in extra_units:
        prior.setdefault(uid, 0.5)
    uids = [u for u in prior if index.units[u].kind != "chart" and index.units[u].kind != "toc"]
    if not uids:
        return []
    dense = index.unit_vecs[uids] @ qvec
    out = []
    for uid, d in zip(uids, dense):
        u = index.units[uid]
        lex = coverage(u, f, weights)
        s = 0.6 * float(d) + 0.35 * lex + 0.05 * prior[uid]
        out.append(Scored(u, s, float(d), lex, satisfies(u, f, index)))
    out.sort(key=lambda s: -s.score)
    return out


# ---------------------------------------------------------------- composition

def _cite(u: Unit, index: Index, cites: list[Citation]) -> str:
    """Citation markers for a unit's spans, reusing numbers for spans already cited."""
    marks = []
    for sp in u.spans:
        existing = next((c for c in cites if (c.doc, c.start, c.end) == (sp.doc, sp.start, sp.end)), None)
        if existing is None:
            existing = Citation(len(cites) + 1, sp.doc, sp.start, sp.end, u.section, sp.text)
            cites.append(existing)
        marks.append(f"[{existing.n}]")
    return "".join(dict.fromkeys(marks))


def compose(units: list[Unit], index: Index, cites: list[Citation]) -> str:
    """Each sentence of each unit gets the unit's markers, so every sentence carries a citation."""
    lines = []
    for u in units:
        marks = _cite(u, index, cites)
        parts = [p for p in re.findall(r"[^。！？!?]+[。！？!?]*[”’」）)]*", u.text) if p.strip()]
        text = "".join((p.rstrip() if re.search(r"[。！？!?]", p) else p.rstrip() + "。") + marks for p in parts)
        lines.append(text)
    return "\n".join(lines)


def pick_units(scored: list[Scored], f: Frame, index: Index) -> list[Unit]:
    ok = [s for s in scored if s.ok]
    if not ok or ok[0].score < SCORE_FLOOR:
        return []
    best = ok[0]
    chosen = [best.unit]
    # A sentence split at ；continues in the next unit: keep both halves when both match.
    nxt = index.units[best.unit.id + 1] if best.unit.id + 1 < len(index.units) else None
    if best.unit.joins_next and nxt is not None and nxt.chunk == best.unit.chunk:
        chosen.append(nxt)
    prev = index.units[best.unit.id - 1] if best.unit.id > 0 else None
    if prev is not None and prev.joins_next and prev.chunk == best.unit.chunk and any(s.unit.id == prev.id and s.ok for s in scored):
        chosen.insert(0, prev)
    limit = 4 if f.answer_type in ("how", "list") else 2
    for s in ok[1:]:
        if len(chosen) >= limit:
            break
        if s.score >= best.score - LIST_MARGIN and s.unit.id not in {u.id for u in chosen}:
            if s.unit.text in {u.text for u in chosen}:
                continue
            chosen.append(s.unit)
    return sorted(chosen, key=lambda u: (u.spans[0].doc, u.spans[0].start))


# ---------------------------------------------------------------- sub-questions and follow-ups

def split_comparison(question: str, index: Index) -> list[str]:
    """'深圳和广州谁的上市小巨人多？各多少？' -> one question per compared entity."""
    names = CITIES + PROVINCES + REGIONS + BOARDS
    companies = find_companies(question, list(index.docs.values()))
    mentioned = sorted({(question.find(n), n) for n in names if n in question} |
                       {(question.find(next(a for a in p.aliases if a in question)), next(a for a in p.aliases if a in question)) for p in companies})
    mentioned = [n for _, n in mentioned]
    if len(mentioned) < 2:
        return [question]
    joined = re.search("(" + "|".join(map(re.escape, mentioned)) + r")\s*(和|与|跟|及|、|还是|以及|对比|vs|VS|比)\s*(" + "|".join(map(re.escape, mentioned)) + ")", question)
    if not joined:
        return [question]
    a, b = joined.group(1), joined.group(3)
    base = question[: joined.start()] + "{X}" + question[joined.end():]
    base = re.sub(r"(谁的|谁|哪个|哪一个|哪家)(更|比较)?", "", base)
    base = re.sub(r"(各|分别)(是)?", "", base)
    return [base.replace("{X}", a), base.replace("{X}", b)]


def split_two_part(question: str) -> list[str]:
    parts = [p for p in re.split(r"[？?；;]\s*", question) if len(p.strip()) >= 4]
    if len(parts) < 2:
        return [question]
    return [p if i == 0 else parts[0].split("，")[0] + "，" + p for i, p in enumerate(parts)]


def rewrite_followup(question: str, history: list, index: Index) -> str | None:
    """'那东莞呢？' after a question about 广州 -> the previous question with the entity replaced."""
    prev = _last_user_question(history)
    if not prev:
        return None
    m = META_HISTORY.match(question)
    if not m or len(question) > 20 or (not question.startswith(("那", "那么", "还有", "另外", "换成", "如果是")) and not m.group(3)):
        return None
    new = m.group(2).strip("，, 的")
    names = CITIES + PROVINCES + REGIONS + BOARDS
    docs = list(index.docs.values())
    for group in (names, None):
        if group is None:
            new_c = find_companies(new, docs)
            old_c = find_companies(prev, docs)
            if new_c and old_c:
                old_alias = next(a for a in sorted(old_c[0].aliases, key=len, reverse=True) if a in prev)
                return prev.replace(old_alias, new, 1)
            continue
        if new in group:
            old = next((n for n in group if n in prev and n != new), None)
            if old:
                return prev.replace(old, new)
    if any(n in new for n in names):
        return None
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

def answer_one(question: str, index: Index, filters: Filters, timings: dict) -> tuple[list[Unit], list[Hit], Frame]:
    f = frame(question, index)
    t0 = time.perf_counter()
    r = HybridRetriever(index, top_k=8, filters=filters).retrieve_timed(question)
    timings["retrieve"] = timings.get("retrieve", 0.0) + (time.perf_counter() - t0) * 1e3
    for k, v in r.timings_ms.items():
        timings[k] = timings.get(k, 0.0) + v
    if f.unknown:
        return [], r.hits, f
    # A profiled company: dated milestones come straight from its record.
    if f.companies:
        for ma in lookup_milestones(question, f.companies[0]):
            if not ma.events:
                return [], r.hits, f
            units = [u for u in index.units if u.company == ma.profile.name and u.kind == "profile"
                     and any(sp.start == ev.event.start for ev in ma.events for sp in u.spans)]
            if units:
                return units, r.hits, f
    extra = [u.id for u in index.units if f.companies and u.company in {p.name for p in f.companies}]
    t1 = time.perf_counter()
    scored = score_units(f, r.query_vec, r.hits, index, extra)
    chosen = pick_units(scored, f, index)
    timings["select"] = timings.get("select", 0.0) + (time.perf_counter() - t1) * 1e3
    return chosen, r.hits, f


def ask(question, index: Index, history: list | None = None, filters: Filters | None = None) -> Answer:
    t_start = time.perf_counter()
    q = check_question(question)
    filters = filters or Filters()
    timings: dict[str, float] = {}
    rewritten = rewrite_followup(q, history or [], index)
    effective = rewritten or q
    subs = split_comparison(effective, index)
    if len(subs) == 1:
        subs = split_two_part(effective)
    chosen: list[Unit] = []
    related: list[Hit] = []
    missing = False
    for sq in subs:
        units, hits, _ = answer_one(sq, index, filters, timings)
        related.extend(h for h in hits if h.chunk.id not in {x.chunk.id for x in related})
        if not units:
            missing = True
        chosen.extend(u for u in units if u.id not in {c.id for c in chosen})
    t_compose = time.perf_counter()
    cites: list[Citation] = []
    if not chosen or (missing and len(subs) > 1 and len(chosen) < 2):
        text, refused = REFUSAL, True
    else:
        text, refused = compose(chosen, index, cites), False
        if rewritten:
            text = f"（理解为：“{rewritten}”）\n{text}"
    t_verify = time.perf_counter()
    timings["compose"] = (t_verify - t_compose) * 1e3
    if not refused:
        v = verify(text, cites, {d: doc.text for d, doc in index.docs.items()})
        text, cites, refused = v.answer, v.citations, v.answer == REFUSAL
    timings["verify"] = (time.perf_counter() - t_verify) * 1e3
    timings["total"] = (time.perf_counter() - t_start) * 1e3
    timings["answer"] = timings["total"] - timings.get("retrieve", 0.0)
    return Answer(q, text, refused, cites, related[:5], timings, rewritten)
