"""Conversations: a question asked with a history becomes a standalone one, and its answer is presented
in the user's terms.

The history (OpenAI-style messages, (question, answer) pairs or bare questions) is replayed into a
dialogue state (dialogue_state.py), each earlier turn resolved against the turns before it; the new
question is resolved against that state (resolution.py). The answer keeps saying how it was understood
("（理解为：…）"), its lead line in the user's script or language.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from ..citations import split_sentences
from ..config import REFUSAL
from ..retrieval import Filters
from .dialogue_state import (BATCH, ENTITY_KINDS, ENUMERATED, MARKER, META_LINE, YEAR, Turn, cn_number, answer_items,
                             make_turn, mentions, organisations, place_level, rules, with_answer)
from .evidence import quoted_units
from .items import ENUMERATION, point_indices, section_units
from .language import digit_years, english_follow_up, english_query, to_simplified
from .lexicon import forms_of
from .resolution import find_pronoun, resolve, short_item
from .thread import NO_THREAD, Thread

__all__ = ["Understood", "answer_items", "build_state", "find_pronoun", "history_pairs", "note_line", "organisations",
           "place_level", "present", "resolve", "rules", "short_item", "understand"]

SWAP_CHECKED = ("place", "board", "company")  # what a swapped-in subject's answer must name
REGISTERED = re.compile(r"(?:股份有限公司|有限公司|集团)$")
CITY_PREFIX = re.compile(r"^(?:广东省?|[\u4e00-\u9fff]{2}市)")
ENGLISH_REFUSAL = "The handbook does not answer this question."
HEADING_NUMBER = re.compile(r"^（([一二三四五六七八九十]+)）")
# Follow-ups that ask the previous question again of another place, board, company or time: the previous
# answer's quotes show the shape of the sentence that answers them (evidence.parallel_previous).
PARALLEL_RULES = ("swap", "time")


def history_pairs(history) -> list[tuple[str, str]]:
    """(user question, assistant answer) pairs from OpenAI-style messages (content a string or a list
    of {"type": "text", "text"} parts), (question, answer) pairs, or bare question strings."""
    pairs: list[list[str]] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):
                content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
            content = "" if content is None else str(content)
            if item.get("role") == "user":
                pairs.append([content, ""])
            elif item.get("role") == "assistant" and pairs:
                pairs[-1][1] = content
        elif isinstance(item, (list, tuple)) and item:
            pairs.append([str(item[0] or ""), str(item[1] or "") if len(item) > 1 else ""])
        elif isinstance(item, str):
            pairs.append([item, ""])
    return [(q, a) for q, a in pairs if q.strip()]


def standalone_chinese(question: str) -> tuple[str, str, list]:
    """(the question in the handbook's script and wording, the language code, glossary entries used)."""
    from .language import HAN, detect

    lang = detect(question).code
    if lang == "en":
        follow = english_follow_up(question)
        if follow:
            return follow, lang, []
        q = english_query(question)
        return q.query, lang, q.entries
    if HAN.search(question):  # 繁體, simplified or mixed: one normalisation (detect's zh-Hant implies Han)
        return digit_years(to_simplified(question)), lang, []
    return question, lang, []


def build_state(history, companies: list[str], outline=None) -> list[Turn]:
    """Every earlier turn, resolved in order against the turns before it."""
    state: list[Turn] = []
    for q, a in history_pairs(history):
        zh, _, _ = standalone_chinese(q)
        resolved, rule, source_turn = resolve(zh, state, companies, outline)
        turn = make_turn(q, resolved, rule, companies)
        turn.source_turn = source_turn
        state.append(with_answer(turn, a, companies))
    return state


@dataclass
class Understood:
    """The question as asked, in which language, and the standalone Chinese question to answer."""
    asked: str
    language: str
    standalone: str
    rule: str
    entries: list = field(default_factory=list)  # glossary entries of an English question
    swapped_in: list[str] = field(default_factory=list)  # the places, boards, companies a "那X呢？" asks about
    previous: str | None = None  # the previous turn's question as resolved (None: the first turn)
    thread: Thread = NO_THREAD  # the previous answer's quotes; parallel for a follow-up in PARALLEL_RULES

    @property
    def rewritten(self) -> bool:
        return self.language == "en" or self.rule not in ("first", "standalone")


def understand(question: str, history, companies: list[str], outline=None) -> Understood:
    state = build_state(history, companies, outline)
    zh, lang, entries = standalone_chinese(question)
    resolved, rule, _ = resolve(zh, state, companies, outline)
    if rule not in ("first", "standalone", "time", "ordinal"):  # "现在" asks nothing the handbook dates
        resolved = rules().rewrite_filler.sub("", resolved) or resolved
    thread = (Thread(quoted_sentences(state[-1].answer), rule in PARALLEL_RULES,
                     rule == "standalone" and bool(mentions(zh, ENTITY_KINDS, companies))) if state else NO_THREAD)
    return Understood(question, lang, resolved, rule, entries, swapped_in(zh, resolved, rule, state, companies),
                      state[-1].resolved if state else None, thread)


def quoted_sentences(answer: str) -> tuple[str, ...]:
    """The sentences an answer quoted: its lines without notes ("（理解为：…）") or markers, split at sentence ends."""
    from ..citations import split_sentences

    body = "\n".join(ln for ln in answer.split("\n") if not META_LINE.match(ln.strip()))
    return tuple(s for s in (MARKER.sub("", x).strip() for x in split_sentences(body)) if s)


def carried(turn: Understood, companies: list[str]) -> Understood | None:
    """A follow-up that no rule resolved and that the handbook does not answer as asked, asked again after
    the previous question: "在中山投了多少？" after "粤科金融那个创投联合体落在哪了" becomes
    "粤科金融那个创投联合体落在哪了，在中山投了多少？". None when the question names a place, company or
    other subject of its own, without an earlier question, or in English (its glossary query carries no context)."""
    if turn.rule not in ("standalone", "preamble") or turn.language == "en" or not turn.previous:
        return None
    if mentions(turn.standalone, ENTITY_KINDS, companies):  # "那长三角…有多少件？" says what it is about
        return None
    previous = re.sub(r"[？?。！!，,\s]+$", "", turn.previous)
    return dataclasses.replace(turn, standalone=f"{previous}，{turn.standalone}", rule="carried")


def says_more(answer, history) -> bool:
    """The answer cites a sentence the previous answer did not quote: a carried follow-up that only repeats
    the previous answer answers the previous question, not this one."""
    pairs = history_pairs(history)
    before = to_simplified(pairs[-1][1]) if pairs else ""
    return any(c.quote not in before for c in answer.citations)


def swapped_in(asked: str, resolved: str, rule: str, state: list[Turn], companies: list[str]) -> list[str]:
    """What a swap follow-up put in place of the previous question's: the places, boards, companies it
    names ("那惠州呢？"), or the time it moved to ("那2021年呢？", "第四批呢？", "五年前呢？")."""
    if rule == "swap":
        got = mentions(asked, SWAP_CHECKED, companies)
        return [n for k in SWAP_CHECKED for n in got.get(k, [])]
    if rule == "time" and state:
        before = state[-1].resolved
        times = [m.group() for rx in (YEAR, BATCH, rules().years_ago) for m in rx.finditer(resolved)]
        return [t for t in times if t not in before]
    return []


def handbook_outline(index, question: str, answer: str = "") -> list[str]:
    """The enumerated headings ("（一）…", "（二）…") of the part of the handbook a question is about:
    the parent section most of its best passages sit under, its numbered children in order. When the
    answer quoted a point of a passage ("首先，…"), that passage's points instead."""
    from ..retrieval import search

    points = quoted_passage_points(index, answer)
    if points:
        return points
    parents: dict[str, int] = {}
    for h in search(index, question, k=5).hits:
        path = h.chunk.section.split(" > ")
        for depth in range(len(path) - 1, 0, -1):
            if HEADING_NUMBER.match(path[depth]):
                key = " > ".join(path[:depth])
                parents[key] = parents.get(key, 0) + 1
                break
    if not parents:
        return []
    parent = max(parents, key=parents.get)
    points = _section_points(index, parent, question)
    if points:
        return points
    children: dict[int, str] = {}
    for c in index.chunks:
        path = c.section.split(" > ")
        if " > ".join(path[:-1] if len(path) > 1 else []).startswith(parent) and len(path) > parent.count(" > ") + 1:
            child = path[parent.count(" > ") + 1]
            m = HEADING_NUMBER.match(child)
            if m:
                children.setdefault(cn_number(m.group(1)), child[m.end():].strip())
    return [children[n] for n in sorted(children) if n > 0]


def quoted_passage_points(index, answer: str) -> list[str]:
    """The points of the passage an answer's first quote is one of ("首先，中国拥有超过14亿人口…" -> that
    column's 首先 / 其次 / 再者 / 最后): "第三点具体讲讲" then means the passage's third point, not the third
    heading of the topic. Empty when the first quote is no enumerated point."""
    quotes = [MARKER.sub("", s).strip() for s in split_sentences(answer or "")]
    first = next((q for q in quotes if q and not META_LINE.match(q)), "")
    if not ENUMERATION.match(first):
        return []
    unit = next((u for u in quoted_units(index, (first,)) if ENUMERATION.match(u.text)), None)
    if unit is None:
        return []
    body = section_units(unit.section, index, Filters())
    points = point_indices(body)
    if not any(body[i].text == unit.text for i in points):
        return []
    return [ENUMERATION.sub("", body[i].text).strip(" ：:。") for i in points]


def _section_points(index, parent: str, question: str) -> list[str]:
    """When the question names one numbered section ("“引进来和走出去”这一节"), that section's own
    enumerated points ("第一，…", "一是…"), in order."""
    named = next((c.section for c in index.chunks if c.section.startswith(parent + " > ")
                  and any(len(part) >= 4 and part in question
                          for part in re.split(r"[，,：:]", HEADING_NUMBER.sub("", c.section.split(" > ")[parent.count(" > ") + 1])))), None)
    if named is None:
        return []
    section = " > ".join(named.split(" > ")[:parent.count(" > ") + 2])
    starts: dict[int, str] = {}
    for u in index.units:
        if u.section.startswith(section) and ENUMERATED.match(u.text):
            starts.setdefault(u.spans[0].start, ENUMERATED.sub("", MARKER.sub("", u.text)).strip(" ：:。"))
    return [starts[k] for k in sorted(starts)]


def core_name(name: str) -> str:
    """A name as an answer may shorten it: "深圳市普渡科技有限公司" -> "普渡科技"; "南山区" -> "南山"."""
    core = REGISTERED.sub("", CITY_PREFIX.sub("", name)) if REGISTERED.search(name) else name
    return core[:-1] if len(core) >= 3 and core.endswith(("区", "市", "省", "镇")) else core


def about(answer, names: list[str]) -> bool:
    """The answer is about one of the names: its text names it or another form of it ("全省" is 广东), or it is the
    place of its first quote's section (a sentence inherits its section's scope: "紧随其后分别是半导体与集成电路…"
    under 东莞篇 is about 东莞)."""
    section = answer.citations[0].section if answer.citations else ""
    return any(any(core_name(f) in answer.answer for f in forms_of(n)) or n in section_places(section, place_level(n))
               for n in names)


def section_places(section: str, level: int) -> list[str]:
    """The places of the innermost heading that names one no finer than a city (or than `level`): "六 广东“小巨人”城市篇 >
    深圳篇 > …" is 深圳's, not 广东's, and a district swapped in needs the heading of its own district."""
    for heading in reversed(section.split(" > ")):
        places = mentions(heading, ("place",)).get("place", [])
        if any(place_level(p) <= max(level, 1) for p in places):
            return places
    return []


def note_line(standalone: str) -> str:
    """"（理解为：“…”）": user-derived text made safe for a meta line (no [n], no sentence break)."""
    safe = re.sub(r"[。！？!?\n]+", "，", standalone.replace("[", "［").replace("]", "］")).strip("，")
    return f"（理解为：“{safe}”）"


def present(answer, understood: Understood, sources: dict[str, str]):
    """The answer in the user's terms: a note for a rewritten question, the lead line in 繁體 for a
    繁體 question, a one-line English lead for an English one; then verified again."""
    from ..citations import verify
    from .language import english_lead, to_traditional

    answer.question = understood.asked
    if understood.rewritten:
        answer.answered_question = understood.standalone
    if not answer.refused and understood.swapped_in and not about(answer, understood.swapped_in):
        # the answer is about the earlier subject, not the one the follow-up swapped in
        answer.answer, answer.citations, answer.refused = REFUSAL, [], True
        answer.notice = f"手册中找到的内容没有提到{'、'.join(understood.swapped_in)}"
    if answer.refused:
        if understood.language == "en":
            answer.notice = answer.notice or ENGLISH_REFUSAL
        return answer
    lines = [ln for ln in answer.answer.split("\n") if not ln.startswith("（理解为：")]
    first = next((i for i, ln in enumerate(lines) if ln.strip() and not META_LINE.match(ln.strip())), None)
    if first is not None and understood.language == "zh-Hant":
        lines[first] = to_traditional(lines[first])  # digits and [n] markers are unchanged by s2t
    elif first is not None and understood.language == "en":
        lines.insert(first, english_lead(lines[first], understood.entries))
    if understood.rewritten:
        lines.insert(0, note_line(understood.standalone))
    v = verify("\n".join(lines), answer.citations, sources)
    answer.answer, answer.citations, answer.refused = v.answer, v.citations, v.answer == REFUSAL
    return answer
