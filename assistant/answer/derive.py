"""Computed answers over stated figures: which of the compared is larger, their difference, sum or ratio.

A comparison ("深圳和广州谁的小巨人多？") or a difference ("还差多少家？") is answered part by part with
quotes; this module states the result in one lead line placed first, with its arithmetic written out
so the verifier can check it: "深圳 752家，广州 249家：深圳更多，多 503家（752 − 249 = 503）[1][2]".

Each compared name's operand is the figure in the chosen units that (a) carries the asked unit (家, %,
项, 万元…), (b) is bound to that name: the subject of its clause, the nearest clause before it that
names a place, or a list matched by "分别", and (c) measures what the question asks (the question's
measure qualifiers and content words). When any name has no single clear operand, no line is made:
the quotes still stand, and a wrong computed answer is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..chunking import STOPWORDS, Unit, tokens
from ..citations import Citation
from ..index import Index
from .compose import OPERATIONS, cite_unit
from .followup import compared_names
from .frame import BOARDS, DISTRICT, GENERIC_NAMES, MEASURE_WORD, PLACES, QUALIFIERS, path_subjects
from .rules import RULES

PERCENT_MEASURE = RULES.patterns["percent_measure"].pattern
COUNT_MEASURE = RULES.patterns["count_measure"].pattern
COUNTED = "#"  # the asked unit of a count question that names none: any unit but a percentage or money
TARGET = RULES.patterns["target"].pattern
NEUTRAL = RULES.patterns["neutral_word"].pattern
WH_WORD = RULES.patterns["wh_word"].pattern
LARGER, SMALLER = "多高快大猛强", "少低慢小弱"
# measure qualifiers only: the superlative one ("最") is about ranking, which the operation handles
MEASURES = tuple((cue, support) for cue, support in QUALIFIERS if not re.search(support, "最"))

FIGURE = re.compile(r"(?P<pre>超过|逾|近|约|接近|不足|不到)?(?<![\d.\-~—–])(?P<num>\d+(?:\.\d+)?)\s*(?P<mag>[万亿千百]?)\s*"
                    r"(?P<more>余|多)?\s*(?P<word>%|％|元|家|件|项|个|次|台|人|名|倍|年|亩|类|批|所|位|只|场|条)"
                    r"(?P<post>以上|左右|以下|以内)?")
SENTENCES = re.compile(r"[^。！？!?]+[。！？!?]*")
CLAUSES = re.compile(r"[^，,；;：:]+")
LIST_GAP = re.compile(r"[省市、和及与跟以\s]{0,3}")  # between names listed together: "江苏省、浙江省及广东省"
SEPARATED = re.compile(r"(\w)[了过](\w)")  # a verb-object word split by an aspect particle: "上了市", "融过资"
FIGURE_GAP = re.compile(r"[、和及与,，\s]{1,3}")  # between figures listed together: "1082家、614家及247家"


@dataclass(frozen=True)
class Figure:
    """A stated figure with what it was read from: the operand of a computed answer."""

    value: Decimal
    unit: str  # "家", "%", "万元": figures are compared only within one unit
    text: str  # as written, without spaces: "752家", "200家以上"
    approximate: bool  # "超过170家", "200家以上", "1.5万余件"
    own: str  # the figure's own clause
    context: str  # from its subject's clause to the figure
    before: str  # the sentence up to the figure
    source: Unit

    @property
    def term(self) -> str:
        """The figure as the verifier reads it in a derivation: "752", "70%", "963万"."""
        return f"{self.value}{'%' if self.unit == '%' else _magnitude(self.unit)}"

    @property
    def lower_bound(self) -> bool:
        """"200家以上", "超过170家", "1.5万余件": at least the value."""
        return self.approximate and ("以上" in self.text or self.text.startswith(("超过", "逾")) or bool(re.search("余|多", self.text)))


@dataclass(frozen=True)
class Operation:
    kind: str  # ratio | difference | sum | more | less
    word: str  # the comparative word asked ("高" of "哪边更高"), "" if none
    asked: str  # the question without the operation's words: what it asks about ("还需新增多少" is no 新增)
    at: int  # where in `asked` the operation stood


def asked_operation(question: str) -> Operation | None:
    for kind, rx in OPERATIONS:
        m = rx.search(question)
        if m:
            # a comparison pattern spans from its question word to its comparative word: only the
            # word is the operation ("哪个上市小巨人最多" still asks about 上市 figures)
            g = next((g for g in ("word", "end", "pair") if m.groupdict().get(g)), None)
            word = (m.group(g) if g else m.group(1) if kind == "difference" else "") or ""
            start, end = m.span(g) if g else m.span()
            asked = question[:start] + "，" + (question[end:] if g else rx.sub("，", question[end:]))
            return Operation(kind, word.replace("超", "多"), asked, start)
    return None


# ---------------------------------------------------------------- figures bound to their subjects

def _mentions(sentence: str, names: Sequence[str]) -> list[tuple[int, int, str, bool]]:
    """Places, boards and compared names in a sentence (start, end, name, is_district), in order."""
    vocab = sorted(set(names) | set(PLACES) | set(BOARDS), key=len, reverse=True)
    found = [(m.start(), m.end(), m.group(), False) for m in re.finditer("|".join(map(re.escape, vocab)), sentence)]
    taken = [(s, e) for s, e, _, _ in found]
    found += [(m.start(), m.end(), m.group(), True) for m in DISTRICT.finditer(sentence)
              if m.group() not in names and not any(s < m.end() and m.start() < e for s, e in taken)]
    return sorted(found)


def _grouped(sentence: str, mentions: list) -> list[list]:
    """Mentions listed together ("广州和东莞", "江苏省、浙江省及广东省") form one group."""
    groups: list[list] = []
    for m in mentions:
        if groups and LIST_GAP.fullmatch(sentence[groups[-1][-1][1]:m[0]]):
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _respective(sentence: str, groups: list[list], figures: list[re.Match], k: int) -> str | None:
    """"江苏省、浙江省及广东省…分别为1082家、614家及247家": the k-th figure's name by position;
    "" when a 分别 list does not line up with its names; None when the figure is in no such list."""
    p = figures[k].start()
    lists = [g for g in groups if len(g) > 1 and g[-1][1] <= p and "分别" in sentence[g[-1][1]:p]]
    if not lists:
        return None
    g = lists[-1]
    after = sentence.index("分别", g[-1][1])
    run = [i for i, f in enumerate(figures) if f.start() > after]
    listed = run[:1]
    for i in run[1:]:
        if not FIGURE_GAP.fullmatch(sentence[figures[listed[-1]].end():figures[i].start()]):
            break
        listed.append(i)
    return g[listed.index(k)][2] if k in listed and len(listed) == len(g) else ""


def _subject(sentence: str, groups: list[list], p: int) -> tuple[str | None, int]:
    """The name a figure at p belongs to, and where its context starts: the first group of the nearest
    clause (this one or an earlier one) naming a place. None: a list, or a district (a figure near a
    district is the district's); "": no place before it in the sentence (the section's subject)."""
    clauses = [c for c in CLAUSES.finditer(sentence) if c.start() <= p]
    for c in reversed(clauses):
        inside = [g for g in groups if c.start() <= g[0][0] < min(c.end(), p)]
        if inside:
            if any(m[3] for g in inside for m in g) or len(inside[0]) > 1:
                return None, c.start()
            return inside[0][0][2], c.start()
    return "", 0


def bound_figures(unit: Unit, names: Sequence[str]) -> list[tuple[str, Figure]]:
    """(compared name, figure) for every figure of the unit bound to exactly one of the names."""
    out = []
    for s in SENTENCES.finditer(unit.text):
        sentence = s.group()
        groups = _grouped(sentence, _mentions(sentence, names))
        figures = [f for f in FIGURE.finditer(sentence) if not _is_year(f)]
        for k, f in enumerate(figures):
            name = _respective(sentence, groups, figures, k)
            start = next((g[0][0] for g in groups if name and g[0][0] <= f.start() and any(m[2] == name for m in g)), 0)
            if name is None:
                name, start = _subject(sentence, groups, f.start())
            if name == "":
                name = _section_subject(unit, names)
            if name in names:
                out.append((name, _figure(f, sentence, start, unit)))
    return out


def _is_year(f: re.Match) -> bool:
    return f.group("word") == "年" and not f.group("mag") and 1900 <= float(f.group("num")) <= 2100


def _section_subject(unit: Unit, names: Sequence[str]) -> str | None:
    """A sentence naming no place speaks of its company, if a profile's, else of its section's subject
    ("佛山篇 > …"): a profiled company's figures are not its city's."""
    if unit.company:
        found = [n for n in names if n not in PLACES and n in unit.company]
    else:
        found = [n for n in names if any(c.startswith(n) for c in path_subjects(unit.section))]
    return found[0] if len(found) == 1 else None


def _figure(f: re.Match, sentence: str, start: int, unit: Unit) -> Figure:
    clause = next((c.group() for c in CLAUSES.finditer(sentence) if c.start() <= f.start() < c.end()), f.group())
    word = "%" if f.group("word") in "%％" else f.group("word")
    return Figure(Decimal(f.group("num")), f.group("mag") + word, re.sub(r"\s+", "", f.group()).replace("％", "%"),
                  bool(f.group("pre") or f.group("more") or f.group("post")), clause, sentence[start:f.end()],
                  sentence[:f.end()], unit)


# ---------------------------------------------------------------- choosing the operands

def _measure_fits(f: Figure, asked: str) -> bool:
    """The figure measures what is asked: each measure the question names is in its sentence before it
    or in its clause ("江苏上市…领先，…其次是浙江244家", "99.8件专利授权量"), and its own context
    names no measure the question does not ("上市" figures for a question about all)."""
    joined = SEPARATED.sub(r"\1\2", asked)  # "上了市" names 上市
    for cue, support in MEASURES:
        in_question = re.search(cue, asked) or re.search(cue, joined)
        if (in_question and not re.search(support, f.before + f.own)) or (not in_question and re.search(cue, f.context)):
            return False
    return True


def _content_words(asked: str, names: Sequence[str]) -> list[str]:
    return [t for t in dict.fromkeys(tokens(asked)) if len(t) >= 2 and t not in STOPWORDS and re.search(r"\w", t)
            and not any(t in n or n in t for n in names)]


def _score(f: Figure, words: list[str]) -> int:
    """Question words in the figure's own clause count twice, in the rest of its context once."""
    return sum(2 * (w in f.own) + (w in f.context) for w in words)


def _single(figs: list[Figure], words: list[str], head: str | None = None) -> Figure | None:
    """The one value among the best-scoring figures, or None when they disagree. A tie is settled by the
    asked measure's head word in a figure's own clause ("珠三角制造业占比为61%" over "…数量增速均值达到128.47%"
    for a question about the share of manufacturing)."""
    if not figs:
        return None
    best = max(_score(f, words) for f in figs)
    top = [f for f in figs if _score(f, words) == best]
    if len({f.value for f in top}) > 1 and head:
        top = [f for f in top if head in f.own] or top
    return top[0] if len({f.value for f in top}) == 1 else None


def _asked_unit(question: str) -> str | None:
    """The unit the compared figures carry: "多少家" -> 家, a share -> %, "数量" -> a count (COUNTED);
    None for any ("几倍" asks a ratio of figures in any unit)."""
    mw = next((m for m in MEASURE_WORD.finditer(question) if m.group(1) != "倍"), None)
    if mw:
        return mw.group(1)
    if PERCENT_MEASURE.search(question):
        return "%"
    return COUNTED if COUNT_MEASURE.search(question) else None


def _in_unit(f: Figure, unit: str | None) -> bool:
    if unit == COUNTED:
        return f.unit != "%" and not f.unit.endswith("元")
    return unit is None or f.unit.endswith(unit)


def _focus(words: list[str]) -> list[str]:
    """The question's words that name its measure ("制造业" of "制造业的比例", "增速"): not a generic
    name (小巨人, 企业), a question word or a word that names no measure (数量, 比重)."""
    return [w for w in words if w not in GENERIC_NAMES and not WH_WORD.search(w) and not NEUTRAL.search(w)
            and not any(w in g for g in GENERIC_NAMES)]


def _candidates(unit: str | None, asked: str, figs: list[Figure]) -> list[Figure]:
    return [f for f in figs if _in_unit(f, unit) and _measure_fits(f, asked)]


def _head(op: Operation, names: Sequence[str]) -> str | None:
    """The word naming the compared measure: the measure word nearest before the operation
    ("培育比…哪边效率更高" -> 效率), else the first after it ("一共有多少家…"); None if the question
    names no particular measure ("谁的小巨人多")."""
    before = _focus(_content_words(op.asked[: op.at], names))
    after = _focus(_content_words(op.asked[op.at:], names))
    return before[-1] if before else after[0] if after else None


def _on_focus(figs: list[Figure], head: str | None) -> bool:
    """The operands' sentences (to the end of each figure's clause) name the asked measure: growth
    rates do not answer a question about the share of manufacturing, nor counts of champions one about
    their ratio. Checked over the operands together: a descriptor may qualify one name ("长三角7个核心城市")."""
    return head is None or any(head in f.before + f.own for f in figs)


def pick_operands(question: str, op: Operation, names: Sequence[str], units: Sequence[Unit]) -> list[Figure] | None:
    """One figure per compared name, all in one unit; None when any name's figure is ambiguous."""
    asked = op.asked
    words, head = _content_words(asked, names), _head(op, names)
    bound: dict[str, list[Figure]] = {n: [] for n in names}
    for u in units:
        for name, f in bound_figures(u, names):
            bound[name].append(f)
    unit = _asked_unit(question)  # "多出多少家" asks in 家 though the operation's words are gone from `asked`
    per_name = {n: _candidates(unit, asked, figs) for n, figs in bound.items()}
    common = set.intersection(*({f.unit for f in figs} for figs in per_name.values()))
    resolved = []
    for common_unit in sorted(common):
        picked = [_single([f for f in per_name[n] if f.unit == common_unit], words, head) for n in names]
        if all(picked) and _on_focus(picked, head):
            resolved.append((sum(_score(f, words) for f in picked), picked))
    resolved.sort(key=lambda r: -r[0])
    if not resolved or (len(resolved) > 1 and resolved[0][0] == resolved[1][0]):
        return None
    return _fewest_sources(resolved[0][1], [per_name[n] for n in names])


def _fewest_sources(picked: list[Figure], options: list[list[Figure]]) -> list[Figure]:
    """Each name's value, read where most operands stand: one sentence stating both is cited once."""
    same = [[f for f in figs if f.value == p.value and f.unit == p.unit] for p, figs in zip(picked, options)]
    shared = {u: sum(any(f.source.id == u for f in opts) for opts in same) for opts in same for u in (f.source.id for f in opts)}
    return [max(opts, key=lambda f: shared[f.source.id]) for opts in same]


def pick_target(question: str, op: Operation, names: Sequence[str], units: Sequence[Unit]) -> tuple[Figure, Figure] | None:
    """"还差多少家": a goal figure ("到2025年，力争…200家以上") and the current one, in the asked unit."""
    asked, unit = op.asked, _asked_unit(question)
    if unit is None or len(names) > 1:
        return None
    words = _content_words(asked, names)
    if names:
        figs = [f for u in units for _, f in bound_figures(u, names)]
    else:
        figs = [f for u in units for f in _all_figures(u)]
    figs = _candidates(unit, asked, figs)
    goal = _single([f for f in figs if TARGET.search(f.context)], words)
    now = _single([f for f in figs if not TARGET.search(f.context)], words)
    if not goal or not now or goal.value <= now.value or now.approximate or (goal.approximate and not goal.lower_bound):
        return None  # "约200家" leaves the shortfall unknown; "200家以上" makes it "at least"
    return goal, now


def _all_figures(u: Unit) -> list[Figure]:
    return [_figure(f, s.group(), 0, u) for s in SENTENCES.finditer(u.text) for f in FIGURE.finditer(s.group()) if not _is_year(f)]


# ---------------------------------------------------------------- the lead line

def _amount(value: Decimal, like: Figure) -> str:
    """A computed value written like its operands: "503家", "414万元", "9个百分点"."""
    return f"{value}个百分点" if like.unit == "%" else f"{value}{like.unit}"


def _result_term(value: Decimal, like: Figure) -> str:
    """The result as the verifier reads it: a magnitude kept ("414万"), percentage points named."""
    return f"{value}个百分点" if like.unit == "%" else f"{value}{_magnitude(like.unit)}"


def _magnitude(unit: str) -> str:
    return unit[0] if unit[:1] and unit[0] in "万亿千百" else ""


def _difference(big: Figure, small: Figure) -> tuple[str, str]:
    d = big.value - small.value
    return _amount(d, big), f"{big.term} − {small.term} = {_result_term(d, big)}"


def _comparison(op: Operation, names: Sequence[str], figs: list[Figure]) -> str | None:
    """"深圳 752家，广州 249家：深圳更多，多 503家（752 − 249 = 503）"; three or more: the largest."""
    larger = op.kind != "less" and not (op.word and op.word in SMALLER)
    word = op.word or ("高" if figs[0].unit == "%" else "多")
    if larger != (word in LARGER):
        word = {**dict(zip(LARGER, SMALLER)), **dict(zip(SMALLER, LARGER))}.get(word, word)
    pairs = list(zip(names, figs))
    if len(pairs) > 2:
        pairs.sort(key=lambda p: p[1].value, reverse=True)
    ends = sorted(pairs, key=lambda p: p[1].value, reverse=larger)
    if any(f.approximate for f in figs) or ends[0][1].value == ends[1][1].value:
        return None  # "超过170家" against "172家", or a tie: no safe winner
    listing = "，".join(f"{n} {f.text}" for n, f in pairs)
    line = f"{listing}：{ends[0][0]}{'最' if len(pairs) > 2 else '更'}{word}"
    if len(pairs) == 2:
        big, small = sorted(figs, key=lambda f: f.value, reverse=True)
        amount, derivation = _difference(big, small)
        by = ("高" if larger else "低") if big.unit == "%" else ("多" if larger else "少")  # "更快，高 41.79个百分点"
        line += f"，{by} {amount}（{derivation}）"
    return line


def _sum_or_ratio(op: Operation, names: Sequence[str], figs: list[Figure]) -> str | None:
    if any(f.approximate for f in figs) or (op.kind == "ratio" and (len(figs) != 2 or not figs[1].value)):
        return None
    listing = "，".join(f"{n} {f.text}" for n, f in zip(names, figs))
    if op.kind == "sum":
        total = sum((f.value for f in figs), Decimal(0))
        return f"{listing}：合计 {_amount(total, figs[0])}（{' + '.join(f.term for f in figs)} = {_result_term(total, figs[0])}）"
    a, b = figs
    r = (a.value / b.value).quantize(Decimal("0.01") if a.value < b.value else Decimal("0.1"), ROUND_HALF_UP)
    return f"{listing}：{names[0]}约为{names[1]}的 {r} 倍（{a.term} ÷ {b.term} ≈ {r}）"


def _shortfall(name: str, goal: Figure, now: Figure) -> str:
    """"佛山 2025年目标 200家以上，现有 86家：还差至少 114家（200 − 86 = 114）"."""
    year = re.search(r"到\s*((?:19|20)\d{2})\s*年", goal.context)
    amount, derivation = _difference(goal, now)
    label = f"{name} " if name else ""
    return (f"{label}{year.group(1) + '年' if year else ''}目标 {goal.text}，现有 {now.text}："
            f"还差{'至少 ' if goal.lower_bound else ' '}{amount}（{derivation}）")


@dataclass(frozen=True)
class Lead:
    text: str  # the line, with its citation markers
    names: tuple[str, ...]  # the compared names it answers for


def lead_line(question: str, names: Sequence[str], units: Sequence[Unit], cite: Callable[[Unit], str]) -> Lead | None:
    """The computed answer to the question over the chosen units, first line of the answer; None
    when the question asks no operation or an operand is not clear."""
    op = asked_operation(question)
    if op is None:
        return None
    if len(names) >= 2:
        figs = pick_operands(question, op, names, units)
        if figs is None or (op.kind in ("difference", "ratio") and len(figs) != 2):
            return None
        text = _sum_or_ratio(op, names, figs) if op.kind in ("sum", "ratio") else _comparison(op, names, figs)
    elif op.kind == "difference":
        found = pick_target(question, op, names, units)
        figs = list(found or [])
        text = _shortfall(names[0] if names else "", *found) if found else None
    else:
        return None
    if not text:
        return None
    marks = "".join(dict.fromkeys(cite(f.source) for f in figs))
    return Lead(text + marks, tuple(names))


def lead(question: str, parts: Sequence[tuple[str, list[Unit]]], cites: list[Citation], index: Index) -> Lead | None:
    """The answerer's hook: the lead line over every part's chosen units; its operands are cited
    first, so the line's markers come first."""
    found = compared_names(question, index)
    # in order of mention; a name inside a longer one named there ("深圳" of a company) is not compared
    names = sorted((n for n in found if not any(n != o and n in o and question.find(n) >= question.find(o) >= 0
                                                  and question.find(n) < question.find(o) + len(o) for o in found)),
                   key=question.find)
    units = list({u.id: u for _, us in parts for u in us}.values())
    return lead_line(question, names, units, lambda u: cite_unit(u, cites))
