"""Question analysis: what a question asks (answer type, measure) and about what (places, boards,
companies, years, figures), and the checks that bind a sentence's values to the asked place."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jieba
import jieba.posseg as pseg

from ..chunking import STOPWORDS, Unit, search_tokens
from ..citations import numbers
from ..index import Index
from ..ingest.profiles import find_companies

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
    for w in pseg.cut(masked):
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
