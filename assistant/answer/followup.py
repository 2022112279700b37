"""Sub-questions and follow-ups: a comparison asked once per compared name, a two-part question
split with the second part inheriting the first's subject, "那东莞呢？" rewritten from the last question."""

from __future__ import annotations

import re

from ..chunking import Unit
from ..index import Index
from ..ingest.profiles import find_companies
from .frame import BOARDS, META_HISTORY, PLACES, named_places
from .rules import RULES

REQUEST_ONLY = RULES.patterns["request_only"].pattern
COMPUTED = tuple(RULES.patterns[f"asks_{k}"].pattern for k in ("difference", "sum"))
COMPARES = re.compile(r"各|分别|谁|哪个|哪边|相比|比较|对比|高还是|多还是|快还是|大还是|差距|差多少")
CONNECTOR = r"\s*(?:和|与|跟|及|、|，|还是|以及|对比|vs|VS|比)\s*"
COLLECTIVE = re.compile(r"(这)?[两二三四五六七八九十]+(个)?(省|市|城|地|区|个城市|座城市|家公司|家企业|家)|(谁的|谁|哪个|哪一个|哪家|哪边)(更|比较)?|各自|各|分别|都|(快|多|高|大)还是(慢|少|低|小)?")


def compared_names(question: str, index: Index) -> list[str]:
    """The places, boards and profiled companies a question names, longest first."""
    companies = find_companies(question, list(index.docs.values()))
    names = [n for n in PLACES + BOARDS if n in question]
    names += [next(a for a in sorted(p.aliases, key=len, reverse=True) if a in question) for p in companies]
    return sorted(set(names), key=len, reverse=True)


def split_comparison(question: str, index: Index) -> list[str]:
    """'深圳和广州谁的上市小巨人多？各多少？' -> one question per compared entity."""
    names = compared_names(question, index)
    if len(names) < 2:
        return [question]
    alt = "|".join(map(re.escape, names))
    run = re.search(f"(?:{alt})(?:{CONNECTOR}(?:{alt}))+", question)
    if not run:
        # "东莞上市的小巨人和广州上市的各多少家", "东莞上市的小巨人比广州少几家": the compared names
        # stand apart; ask once per name, dropping the others (with the 比 that introduces them)
        if not (COMPARES.search(question) or COMPUTED[0].search(question)):
            return [question]
        mentioned = sorted(dict.fromkeys(re.findall(alt, question)), key=question.find)
        return [_own_figure(re.sub(f"(?:比|跟|和|与)?({alt})", lambda m: m.group() if m.group(1) == keep else "", question))
                for keep in mentioned]
    members = re.findall(alt, run.group())
    base = question[: run.start()] + "{X}" + question[run.end():]
    base = _own_figure(COLLECTIVE.sub("", base))
    return [base.replace("{X}", m) for m in dict.fromkeys(members)]


def _own_figure(part: str) -> str:
    """Each part asks its own figure; the difference or sum is computed from the parts (answer/derive.py):
    "深圳多出多少家" -> "深圳多少家"."""
    for rx in COMPUTED:
        part = rx.sub(lambda m: "多少" if re.search("多少|几", m.group()) else "", part)
    return part


MAX_PARTS = 4  # sub-questions answered per question (comparisons, two-part questions)


def split_two_part(question: str) -> list[str]:
    """"…挂牌？研发投入占多少？" is two questions; "…哪几条？简单列一下" is one (the second part only asks how)."""
    parts = [p for p in re.split(r"[？?；;]\s*", question) if len(p.strip()) >= 4 and not REQUEST_ONLY.match(p.strip())]
    return parts if len(parts) >= 2 else [question]


PRONOUN = re.compile(r"^(那么|那)?(它|其|该企业|该公司|这家公司|这家企业|这家|那家|他们|它们)")
ORG = re.compile(r"[\u4e00-\u9fff（）()]{2,20}?(?:股份有限公司|有限公司|集团)")


def resolve_part(part: str, first: str, first_units: list[Unit], index: Index) -> str:
    """A later part of a two-part question inherits its subject, not its question: the company the
    first part names ("鲁邦通…挂牌？研发投入占多少？" -> "鲁邦通研发投入占多少"), or the organisation its
    answer named for a pronoun ("它从哪一年…"), or the places it names; else the first part's topic."""
    docs = list(index.docs.values())
    m = PRONOUN.match(part)
    rest = part[m.end():] if m else part
    if find_companies(part, docs) or (not m and any(p in part for p in PLACES)):
        return part  # the part names its own subject
    named = find_companies(first, docs)
    if named:
        alias = next(a for a in sorted(named[0].aliases, key=len, reverse=True) if a in first)
        return alias + rest
    orgs = [o.group() for u in first_units for o in ORG.finditer(u.text)]
    if m and orgs:
        return orgs[0] + rest
    places = named_places(first)
    if places:
        return "".join(dict.fromkeys(places)) + rest
    if m or len(part) < 12:
        return first.split("，")[0] + "，" + rest
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


