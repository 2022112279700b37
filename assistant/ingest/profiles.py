"""Look up the 12 company profiles (成长档案) as structured records.

A question naming a profiled company (by full name, core name or brand: "普渡科技", "普渡") and
asking for a dated milestone is answered from the record's timeline: the event whose wording
matches the asked milestone, with its date. Everything else about the company (what it does,
highlights) is answered by the general answerer restricted to that company's units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import CompanyProfile, Document, TimelineEvent

# Milestone asked for -> words that mark it in a timeline event. Domain vocabulary, not questions.
MILESTONES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (question cues, event cues)
    "founded": (("成立", "注册", "创立", "创办", "成立于", "建立"), ("注册成立", "成立")),
    "listed": (("上市", "挂牌", "IPO", "登陆", "板"), ("上市", "挂牌")),
    "little_giant": (("小巨人",), ("小巨人",)),
    "high_tech": (("高新技术", "高新企业", "高企"), ("高新技术",)),
    "champion": (("单项冠军",), ("单项冠军",)),
}
BUSINESS = re.compile(r"(是做什么|做什么的|干什么|做啥|干啥|(什么|啥)产品|主营|主要业务|是什么公司|什么样的公司|业务是什么|简介|介绍一下|是一家什么|做哪方面|从事什么|主要做)")
WHEN = re.compile(r"(什么时候|何时|哪一?年|几几年|哪个?月|时间|日期|多久|哪天|几月|年份|什么时间)")


@dataclass
class MilestoneAnswer:
    profile: CompanyProfile
    milestone: str
    events: list[TimelineEvent]  # empty: the record has no such milestone


def find_companies(question: str, docs: list[Document]) -> list[CompanyProfile]:
    """Profiled companies named in the question, longest alias first, in order of mention."""
    found: list[tuple[int, CompanyProfile]] = []
    for d in docs:
        for p in d.profiles:
            hits = [question.find(a) for a in sorted(p.aliases, key=len, reverse=True) if len(a) >= 2 and a in question]
            if hits:
                found.append((min(hits), p))
    return [p for _, p in sorted(found, key=lambda x: x[0])]


def asked_milestones(question: str) -> list[str]:
    """Milestones the question asks the date or fact of (e.g. 'when was it founded', 'which board')."""
    asks_when = bool(WHEN.search(question))
    out = []
    for name, (cues, _) in MILESTONES.items():
        if any(c in question for c in cues):
            if name == "listed" and ("哪个板" in question or "什么板" in question or "哪个板块" in question or asks_when or "上市了吗" in question or "是否上市" in question):
                out.append(name)
            elif name != "listed" and asks_when:
                out.append(name)
            elif name == "listed" and re.search(r"(在哪|哪里|哪儿).{0,3}(上市|挂牌)", question):
                out.append(name)
    # "小巨人" alone names the category of all these firms; only ask for it when no other milestone is asked.
    if "little_giant" in out and len(out) > 1:
        out.remove("little_giant")
    if "little_giant" in out and not re.search(r"(评为|认定|成为|入选|获评|评上|获得).{0,6}小巨人|小巨人.{0,4}(认定|称号|资质)", question):
        out.remove("little_giant")
    return out


def asks_business(question: str) -> bool:
    """What the company does: answered by the record's 简介."""
    return bool(BUSINESS.search(question))


def lookup_milestones(question: str, profile: CompanyProfile) -> list[MilestoneAnswer]:
    out = []
    for m in asked_milestones(question):
        cues = MILESTONES[m][1]
        events = [t for t in profile.timeline if any(c in t.event.text for c in cues)]
        out.append(MilestoneAnswer(profile, m, events))
    return out
