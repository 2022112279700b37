"""Follow-up resolution: a question asked in a conversation, rewritten as a standalone one against the
dialogue state (dialogue_state.py): "珠海呢？" after "那佛山呢？" starts from the resolved "佛山…" question.

resolve() tries each rule in turn (an item of an earlier answer, a pronoun, an elliptical swap of
entity, measure or time, a computation on a comparison, a comparison with another subject, an aspect,
a subset, an inherited measure or subject); every rule has examples in data/followups.toml that are tests.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .frame import answer_type
from .rules import RULES
from .dialogue_state import (BATCH, CN_ORDINALS, DOCUMENT_WORDS, ENTITY_KINDS, YEAR, Turn, cn_number, is_district,
                             join_subjects, mentions, place_level, rules, subjects_named)

MAX_INHERIT_CHARS = 20
PRONOUN_LEVEL = {"区": 2, "镇": 2, "市": 1, "城": 1, "省": 0}  # "该区" means a district, "该市" a city
ELLIPTICAL_END = re.compile(r"呢[？?。！!]*$")  # "…呢？": a follow-up that says only what is new
SHORT_FOLLOW_UP_CHARS = 8  # a follow-up this short says nothing of what it measures
NARROWING_KINDS = ("board", "industry", "ownership")  # names that narrow a population ("科创板上市小巨人")
SUBJECT_KINDS = ("place", "company", "agency", "board", "industry", "ownership")  # what a figure is of
MAX_ITEM_CHARS = 40  # an item quoted in a rewritten question
MAX_ITEM_REFERENCE_CHARS = 24  # "第二条…" longer than this is a question of its own
MIN_ITEM_ASK_CHARS = 2  # what a follow-up asks of an item beyond "具体说说" ("政府和国资该怎么做")
ITEM_ASKED = re.compile(r"^“(.+)”(?:，|具体|主要)")  # the item an item reference asked about (item_question)
HOW_TYPES = ("how", "fact", "list")  # a previous question about a way of doing things, not a figure or a date
HOW_LOOKBACK = 2  # "浙江又是怎么做的？" may follow a question about 江苏's funding that followed one about its approach
SPEECH = r"(?:所说的|说的|提到的|认为的|讲的|指出的|强调的)"  # a longer question says what it asks about


def resolve(question: str, state: list[Turn], companies: list[str] = (), outline=None) -> tuple[str, str, int | None]:
    """(standalone question, the rule that made it, the earlier turn it builds on).

    outline(question, answer) -> the handbook's enumerated headings on that question's topic, used when the
    answer a "第二条" refers to was not itself enumerated."""
    if not state:
        return question, "first", None
    rest = _question_after_opening(question, companies, state[-1])
    if rest is not None:
        resolved, rule, source = resolve(rest, state, companies, outline)
        return resolved, "preamble" if rule == "standalone" else rule, source
    for step in (_by_item, _by_company_ordinal, _by_pronoun, _by_ellipsis, _by_computation, _by_comparison, _by_aspect,
                 _by_subset, _by_inheritance):
        out = step(question, state, companies, outline)
        if out:
            return out
    return question, "standalone", None


def _question_after_opening(question: str, companies, prev: Turn) -> str | None:
    """The question after an opening that asks nothing itself, or None: a remark ("差距这么明显，那…"), an
    acknowledgement ("嗯，…"), or a subject said first ("那深圳呢 深圳奖多少"; "那我们江门呢，大概几家？" is about 江门)."""
    r = rules()
    pre = r.preamble.match(question) or r.interjection.match(question)
    if pre and not r.question_word.search(pre.group("pre")):
        return pre.group("rest")
    opener = r.subject_opener.match(question)
    named = mentions(opener.group("subject"), ENTITY_KINDS, companies) if opener else {}
    # (with a pronoun after it, "粤科集团呢？它直投的…", the pronoun rule joins the two)
    if not named or find_pronoun(opener.group("rest")):
        return None
    subject, rest = opener.group("subject"), opener.group("rest")
    names = [subject] + [n for ns in named.values() for n in ns]
    if r.bare_ask.match(re.sub("|".join(map(re.escape, names)) + r"|[，,？?。！!\s]", "", rest)) \
            and r.question_word.search(prev.resolved) and answer_type(subject + rest) in (answer_type(prev.resolved), "number"):
        # "那深圳呢？给多少？" asks the previous question of 深圳; "那湛江呢？有几家？" after a share asks its own
        return f"{subject}呢？"
    said = any(n in rest for n in names)
    return rest if said else subject + rest


def _by_item(question: str, state: list[Turn], companies, outline) -> tuple[str, str, int] | None:
    """"第二条具体说说", "资本那一条具体说说": an item of an earlier answer (or of the handbook's outline)."""
    r = rules()
    if len(question) > MAX_ITEM_REFERENCE_CHARS:
        return None
    if r.ordinal.search(question):
        out = resolve_ordinal(question, state, outline)
        return (out[0], "ordinal", out[1]) if out else None
    key = r.item_keyword.match(question)
    listed = key and item_list(state, outline)
    if not listed:
        return None
    items, k = listed
    item = next((it for it in items if key.group("key") in it), None)
    return (item_question(item, question[key.end():]), "ordinal", k) if item else None


def _by_company_ordinal(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    """"最后那家是做什么的": the company the previous answer named at that place in its order."""
    m = rules().company_ordinal.search(question)
    named = state[-1].named.get("company", []) if m else []
    if len(named) < 2:
        return None
    n = m.group("n")
    k = len(named) - 1 if m.group("last") else (int(n) if n.isdigit() else cn_number(n)) - 1
    if not 0 <= k < len(named):
        return None
    return question[:m.start()] + named[k] + question[m.end():], "pronoun", None


def _by_pronoun(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    pronoun = find_pronoun(question)
    if not pronoun:
        return None
    at = question.find(pronoun[0])
    before = subjects_named(question[:at], companies)
    # "佛山那边…", "这里面深圳占多少" name their place: "那边", "这里" is no reference; a company named after
    # the pronoun is another one ("它跟华为是什么关系？")
    if pronoun[1] in (subjects_named(question, companies) if pronoun[1] == "place" else before):
        return None
    if pronoun[1] == "pair" and any(len(set(before.get(k, []))) >= 2 for k in PAIR_KINDS):
        return None  # "广东与江苏两者相差多少？": the pair is named right before it
    if _described(question, pronoun[0]):
        return None  # "做熔断器那家…": the description says which one, retrieval finds it
    if pronoun[1] == "figure":  # "这个数据是哪年的？": the previous question, and this of its figure
        noun = re.sub(r"^(?:这个|这一|这组|该)", "", pronoun[0])  # "这个比例是多少" asks the 比例
        rest = question.replace(pronoun[0], noun if noun != "数" else "", 1).lstrip("的，, ")
        return f"{frame_turn(state).resolved.rstrip('？?。！! ')}，{rest}", "pronoun", None
    own = _named_before(question, pronoun, companies)
    if own:  # "粤科金融呢？它投的项目里…": 它 is the 粤科金融 just named, not an entity of the last turn
        resolved = question.replace(pronoun[0], own, 1)
        opener = re.match(r"(?:那么|那)?" + re.escape(own) + r"呢[，,？?\s]*", resolved)
        return (resolved[opener.end():] if opener else resolved), "pronoun", None
    after = re.split(r"[，,。？?！!]", question[at + len(pronoun[0]):])[0]
    document = find_referent("document", state) if pronoun[1] == "company" and rules().document_verb.search(after) else None
    referent = document or find_referent(pronoun[1], state, pronoun[0])
    if referent:
        resolved = question.replace(pronoun[0], referent, 1)
        if pronoun[1] == "pair" or rules().ranks.search(question):
            # "两者相差多少？", "它在全国排第几？": compared or ranked on the previous measure
            resolved = inherit_measure(resolved, state, companies, len(resolved), SUBJECT_KINDS) or resolved
        ellipsis = _by_ellipsis(resolved, state, companies, None) if ELLIPTICAL_END.search(question) else None
        if ellipsis:  # "那它的估值呢？" -> "普渡科技的估值是多少？"
            return ellipsis[0], "pronoun", None
        return _second_pronoun(resolved, resolved.find(referent) + len(referent), pronoun[1], state), "pronoun", None
    said = re.search(re.escape(pronoun[0]) + SPEECH, question)
    if said:  # "他说的“人和”指什么" with no name to give: what was said is in the handbook's text
        return question[:said.start()] + question[said.end():], "pronoun", None
    return None


def _named_before(question: str, pronoun: tuple[str, str], companies) -> str | None:
    """The entity the question itself names before the pronoun, of a kind the pronoun may mean."""
    if pronoun[1] not in REFERENT_KINDS:
        return None
    named = subjects_named(question[:question.find(pronoun[0])], companies)
    return next((n for k in REFERENT_KINDS[pronoun[1]] if k != "place" for n in named.get(k, [])), None)


def _described(question: str, pronoun: str) -> bool:
    """The pronoun is part of a demonstrative that carries its own description ("做熔断器那家", "那家做锂电的")."""
    return any(pronoun in m.group() for m in rules().described_reference.finditer(question))


def _second_pronoun(question: str, after: int, first_kind: str, state: list[Turn]) -> str:
    """A second reference of another kind after the first ("他觉得西方在这点上…": 他 and 这点). It never means
    what the first one did ("他们跟那家车企…": 那家 is not 他们 again)."""
    first = question[:after]
    while (pronoun := find_pronoun(question[after:])) is not None:
        at = question.find(pronoun[0], after)
        referent = None if pronoun[1] in (first_kind, "figure") else find_referent(pronoun[1], state, pronoun[0])
        if referent and referent in first:
            referent = None
        if referent:
            return question[:at] + referent + question[at + len(pronoun[0]):]
        after = at + len(pronoun[0])  # "那边" with nothing to mean: the next one
    return question


def _by_ellipsis(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    r = rules()
    when = r.time_only.match(question)
    if when and r.relative_past.match(when.group("when")):  # "那五年前是多少？"
        return resolve_elliptical(when.group("when"), frame_turn(state), companies)
    same = r.same_question.match(question)  # "同样的问题，东莞呢？"
    if same:
        return resolve_elliptical(same.group("new"), frame_turn(state), companies)
    how = r.elliptical_how.match(question)
    asked_how = next((t for t in reversed(state[-HOW_LOOKBACK:]) if answer_type(t.resolved) in HOW_TYPES), None)
    if how and asked_how and not _asks_own_topic(how.group(1), companies):
        # "浙江又是怎么做的？" after 江苏's approach (and perhaps a question about its figures)
        return resolve_elliptical(how.group(1), asked_how, companies)
    m = r.elliptical.match(question)
    if m and (r.opening.match(question) or len(question) <= 18):
        return resolve_elliptical(m.group(1), frame_turn(state), companies)
    return None


def frame_turn(state: list[Turn]) -> Turn:
    """The question a follow-up varies: the last one, or for a computation ("差了多少？") the question it
    was asked of ("浙江呢？" after "江苏和广东各有多少？差了多少？" asks 浙江's figure, not a difference)."""
    prev = state[-1]
    return state[prev.source_turn] if prev.rule == "compute" and prev.source_turn is not None else prev


def _by_computation(question: str, state: list[Turn], companies, outline) -> tuple[str, str, int] | None:
    """"差了多少？", "差不多是几倍？" after a comparison: the compared figures, asked again with the computation."""
    r = rules()
    if (not r.compute.search(question) or len(question) > r.max_continuation_chars
            or any(k in subjects_named(question, companies) for k in ENTITY_KINDS)):
        return None
    prev = state[-1]
    k = prev.source_turn if prev.rule == "compute" and prev.source_turn is not None else len(state) - 1
    base = state[k]
    if not (r.compared.search(base.resolved) or sum(len(base.about.get(x, [])) for x in ENTITY_KINDS) >= 2):
        return None
    return f"{base.resolved.rstrip('？?。！! ')}，{r.opening.sub('', question)}", "compute", k


def _by_comparison(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    """"比广州多多少？" after "深圳有多少家小巨人？": the previous subject compared with the one named."""
    r = rules()
    m = r.comparative.match(question) or r.compared_with.match(question)
    if not m or len(question) > MAX_INHERIT_CHARS:
        return None
    named = mentions(m.group("other"), companies=companies)
    kinds = [k for k in SUBJECT_KINDS if k in named]  # the previous subject of the same kind first
    other = [n for k in kinds for n in named[k]]
    prev = state[-1]
    subject = next((n for k in kinds + list(SUBJECT_KINDS) for n in prev.about.get(k, []) if n not in other), None)
    if not other or subject is None:
        return None
    when, counted = _time_of(prev, question), _measure_words(question, state)
    if m.re is r.comparative:  # "深圳上市小巨人比广州多多少？"
        return f"{when}{subject}{counted}比{m.group('other')}{m.group('rest')}", "inherit", None
    return f"{when}{subject}和{m.group('other')}{counted}{m.group('rest')}", "inherit", None  # "科创板和创业板…哪个多？"


def _time_of(prev: Turn, question: str) -> str:
    """The previous question's year and batch, when the follow-up names no time of its own."""
    if YEAR.search(question) or BATCH.search(question):
        return ""
    return "".join(m.group() for rx in (YEAR, BATCH) for m in rx.finditer(prev.resolved))


def _by_aspect(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    """"原因是什么？" after "东莞有几家单项冠军？": that question, and its cause."""
    r = rules()
    asked = r.opening.sub("", question)
    if (len(asked) > r.max_continuation_chars
            or not (any(asked.startswith(a) for a in r.aspect_tails) or r.enumerate.match(asked))
            or any(k in subjects_named(asked, companies) for k in ENTITY_KINDS)):
        return None  # "具体是哪几家？" after "…有几家？": the same question, and its list
    return f"{frame_turn(state).resolved.rstrip('？?。！! ')}，{asked}", "aspect", None


def _by_subset(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    """"其中科创板有几家？" after "广州上市小巨人有多少家？": among the previous subjects' population."""
    m = rules().subset.match(question)
    prev = state[-1]
    subjects = [n for k in ("place", "company", "agency", "person", "board", "industry", "ownership") for n in prev.about.get(k, [])]
    if not m or not subjects or len(question) > MAX_INHERIT_CHARS:
        return None
    rest = m.group("rest")
    subjects = [n for n in subjects if n not in rest]
    return f"{join_subjects(subjects)}{_previous_population(prev, rest)}中{rest}", "subject", None


def _previous_population(prev: Turn, question: str) -> str:
    return carried_population(prev, question, "小巨人" in prev.resolved)


def carried_population(prev: Turn, question: str, about_giants: bool) -> str:
    """What the previous question counted, as far as the follow-up does not say it: its qualifiers
    before "小巨人" ("上市小巨人"), its attribute after it only for a short follow-up ("全国排第几？" ->
    "…小巨人平均成立年限全国排第几？"). A follow-up naming a measure of its own asks that one."""
    r = rules()
    own = "measure" in mentions(question, ("measure",))
    measures = [] if own else [x for x in prev.about.get("measure", []) if x not in question]
    short = len(re.sub(r"[？?。！!，,\s]", "", question)) <= SHORT_FOLLOW_UP_CHARS
    qualifiers = "".join(x for x in measures if x in r.lexicon["qualifier"])
    attributes = "".join(x for x in measures if x not in r.lexicon["qualifier"]) if short else ""
    return qualifiers + ("小巨人" if about_giants and "小巨人" not in question else "") + attributes


def _by_inheritance(question: str, state: list[Turn], companies, outline) -> tuple[str, str, None] | None:
    inherited = inherit_measure(question, state, companies)
    if inherited:
        return inherited, "inherit", None
    continued = inherit_subject(question, state[-1], companies)
    return (continued, "subject", None) if continued else None


# the kinds of entity a pronoun of each kind may mean, in order of preference
PAIR_KINDS = ("place", "company", "agency")  # what "两者" / "两地" / "两家" can mean
REFERENT_KINDS = {"company": ("company", "agency", "place"), "agency": ("agency", "company"),
                  "person": ("person", "company", "agency"), "place": ("place",), "document": ("document",)}


def find_pronoun(question: str) -> tuple[str, str] | None:
    """(the pronoun, the kind it refers to) at its first occurrence, or None."""
    r = rules()
    masked = question
    for w in r.not_pronoun:
        masked = masked.replace(w, "\0" * len(w))
    best = None
    for kind, words in r.pronouns.items():
        for w in sorted(words, key=len, reverse=True):
            i = masked.find(w)
            while i >= 0 and r.asked_name.match(masked[i + len(w):]):
                i = masked.find(w, i + len(w))  # "那家公司叫啥" asks the name: no reference
            if i >= 0 and (best is None or i < best[0] or (i == best[0] and len(w) > len(best[1]))):
                best = (i, w, kind)
    return (best[1], best[2]) if best else None


def find_referent(kind: str, state: list[Turn], word: str = "") -> str | None:
    """What a pronoun means: the entity the previous answer gave when the question asked for one,
    else the entity of that kind in the previous question, else in its answer; then further back.
    "它" may also mean a place a question was about ("东莞有多少家？" + "它在全省排第几？")."""
    if kind == "pair":
        return _last_pair(state)
    if kind == "districts":
        return _last_districts(state)
    if kind == "item":
        return _last_item(state)
    if kind in ("former", "latter"):
        pair = last_two(state)
        return pair[kind == "latter"] if pair else None
    any_place = word in rules().lexicon["pronoun_any"]
    kinds = REFERENT_KINDS[kind]
    if kind == "person":  # "他" is a person named in the last turns before it is any company
        person = next((n for t in reversed(state[-3:]) for src in (t.about, t.named) for n in src.get("person", [])), None)
        if person:
            return person
    echoed = _echoed(state[-1], kinds + ("document",)) if state and kind != "place" else None
    if echoed:
        return echoed
    level = next((lv for ch, lv in PRONOUN_LEVEL.items() if ch in word), None) if kind == "place" else None
    found = (level is not None and _first_named(state, kind, kinds, lambda n: place_level(n) == level)
             or _first_named(state, kind, kinds, lambda n: True))  # "该区" means a district first
    if found:
        return found
    places = state[-1].about.get("place", [])
    return places[0] if any_place and places else None


def _first_named(state: list[Turn], kind: str, kinds: tuple[str, ...], fits) -> str | None:
    for turn in reversed(state[-3:]):
        # the answer's entity first when the question asked which one ("哪家…最多？" + "这家公司…"); but
        # a question already about its own company asked for another of its attributes ("思谷智能是谁
        # 孵化的？" + "它有多少项专利？" is still 思谷智能, not the incubator the answer named)
        own = any(turn.about.get(k) for k in kinds if k != "place")
        sources = ([turn.named, turn.about] if turn.asks_entity and not own else [turn.about, turn.named])
        for src in sources:
            for k in kinds:
                names = [n for n in src.get(k, []) if (k != "place" or kind == "place" or turn.asks_entity) and fits(n)
                         # the entity an answer gives is one its question did not name
                         and not (src is turn.named and turn.asks_entity and n in turn.resolved)]
                if names:
                    return names[0]
    return None


ECHO_CHARS = 4  # a shared run this long is a part of the name, not a common word
ECHO_GENERIC = r"中小企业|专精特新|小巨人|企业|公司|有限"  # the handbook's subject: in every other name


def _echoed(turn: Turn, kinds: tuple[str, ...]) -> str | None:
    """The answer's full name of what a question called by a part of it, when the question named no entity
    (a country or province is only its scope): "那个梯度培育管理办法是什么时候出的" + "…印发了《优质中小企业
    梯度培育管理办法》" + "它分了哪几个层级" means the document, whatever else the answer names (工信部)."""
    if any(n for k in kinds for n in turn.about.get(k, []) if k != "place" or place_level(n) >= 1):
        return None  # "佛山定的目标是多少" + "它累计培育了几家": 它 is 佛山, not the plan the answer names
    return next((n for k in kinds for n in turn.named.get(k, []) if _echoes(n, turn.resolved)), None)


def _echoes(name: str, question: str) -> bool:
    """The question names a part of the longer name, though not the whole: a run of ECHO_CHARS characters of
    the name beyond its generic ending ("梯度培育" of 《优质中小企业梯度培育管理办法》)."""
    core = re.sub(ECHO_GENERIC, "\0", re.sub(DOCUMENT_WORDS, "", name.strip("《》")))
    runs = (core[i:i + ECHO_CHARS] for i in range(len(core) - ECHO_CHARS + 1))
    return name not in question and any("\0" not in r and r in question for r in runs)


def _last_item(state: list[Turn]) -> str | None:
    """"这一点": the item the last item reference was about, by its first clause ("“政府的政策和扶持”")."""
    turn = next((t for t in reversed(state[-2:]) if t.rule == "ordinal"), None)
    m = turn and ITEM_ASKED.match(turn.resolved)
    return f"“{re.split(r'[，,；;]', m.group(1))[0]}”" if m else None


def _last_districts(state: list[Turn]) -> str | None:
    """"这两个区": the districts the last answer naming two or more gave, after their city ("深圳南山区和宝安区")."""
    for turn in reversed(state[-2:]):
        places = [*turn.about.get("place", []), *turn.named.get("place", [])]
        districts = list(dict.fromkeys(n for n in turn.named.get("place", []) if is_district(n)))
        if len(districts) >= 2:
            city = next((n for n in places if place_level(n) == 1), None)
            return join_subjects([city, *districts] if city else districts)
    return None


def _last_pair(state: list[Turn]) -> str | None:
    """"两者"/"两地": the last two places (or companies) the conversation asked about."""
    pair = last_two(state)
    return f"{pair[0]}和{pair[1]}" if pair else None


def last_two(state: list[Turn]) -> tuple[str, str] | None:
    """The last two places (or companies) asked about, in the order they were asked ("前者", "后者")."""
    for kind in ("place", "company", "agency"):
        names: list[str] = []
        for turn in reversed(state):
            for n in reversed(turn.about.get(kind, [])):
                if n not in names:
                    names.append(n)
        if len(names) >= 2:
            return names[1], names[0]
    return None


def item_list(state: list[Turn], outline=None) -> tuple[list[str], int] | None:
    """(the items an item reference means, the turn they belong to): the last answer that listed
    some, the same list as the last item reference, or the handbook's outline of that turn's topic."""
    k = next((i for i in range(len(state) - 1, -1, -1) if state[i].rule != "ordinal" and len(state[i].items) >= 2), None)
    prev = state[-1]
    if prev.rule == "ordinal" and prev.source_turn is not None:
        k = prev.source_turn  # "那第四条呢？" after "第二条具体说说": the same list
    if k is None and prev.rule != "ordinal":
        k = len(state) - 1  # the answer listed nothing (it was refused): the topic's own outline may
    if k is None:
        return None
    items = state[k].items
    if not state[k].enumerated and outline is not None:
        items = outline(state[k].resolved, state[k].answer) or items  # the handbook's points on that topic
    return items, k


def short_item(item: str) -> str:
    """An item as quoted in a question: its whole clauses up to MAX_ITEM_CHARS, else its first characters."""
    clauses = re.split(r"(?<=[，,；;])", item)
    out = ""
    for c in clauses:
        if len(out) + len(c) > MAX_ITEM_CHARS:
            break
        out += c
    return (out or item[:MAX_ITEM_CHARS]).strip("，,；; ")


def item_question(item: str, rest: str) -> str:
    """The question about one item: what the follow-up asks of it when it says more than "具体说说"
    ("…，政府和国资该怎么做？"), else its details ("具体怎么做？", "具体指什么？")."""
    r = rules()
    item = short_item(item)
    said = r.item_filler.sub("", rest).strip("，,。？?！! ")
    if len(r.ordinal_ask_words.sub("", said)) >= MIN_ITEM_ASK_CHARS and r.question_word.search(said):
        return f"“{item}”，{said}？"
    ask = next((tail for rx, tail in r.ordinal_ask if rx.search(rest)), r.ordinal_default)
    return f"“{item}”{ask}"


def resolve_ordinal(question: str, state: list[Turn], outline=None) -> tuple[str, int] | None:
    r = rules()
    m = r.ordinal.search(question)
    listed = item_list(state, outline)
    if listed is None:
        return None
    items, k = listed
    if len(items) < 2:
        topic = re.split(r"[？?]", state[k].resolved)[0]
        ask = next((tail for rx, tail in r.ordinal_ask if rx.search(question)), r.ordinal_default)
        return f"{topic}，{m.group()}{ask}", k
    word = m.group(1)
    if word.startswith(("最后", "倒数")):
        pos = len(items)
    else:
        n = word[1:]
        pos = int(n) if n.isdigit() else cn_number(n)
    if not 1 <= pos <= len(items):
        return None
    return item_question(items[pos - 1], question[m.end():]), k


# A clause about the asker ("我们在想佛山小巨人往哪些赛道培育") is context of the question it comes with.
FIRST_PERSON = RULES.patterns["first_person"].pattern
ASKS = RULES.patterns["wh_word"].pattern
CLAUSE_END = re.compile(r"[，,。？?！!；;\s]+")
SENTENCE_END = re.compile(r"[。？?！!；;]+")


def asking_part(question: str) -> str:
    """The question without the asker's context before it: clauses about the asker, and after one of
    them clauses naming no place, time or question word ("我们在想佛山小巨人往哪些赛道培育 先看看别人
    广州小巨人最多的两个赛道是啥" -> "广州小巨人最多的两个赛道是啥"): a follow-up ("那东莞呢") varies what
    was asked, not the asker's context. Unchanged when no later clause asks, or when a clause before the
    asking one is not the asker's ("小巨人的企业技术中心，江苏和广东各有多少？")."""
    start, asker = 0, False
    for end in [*CLAUSE_END.finditer(question), None]:
        clause = question[start:end.start() if end else len(question)]
        own = bool(FIRST_PERSON.search(clause))
        if ASKS.search(clause) and not own:
            return question[start:]
        if not own and (not asker or YEAR.search(clause) or mentions(clause, ("place",))):
            return question
        asker = asker or own
        if end is None:
            break
        start = end.end()
    return question


OWN_TOPIC_CHARS = 4  # "在服务小微企业方面" says what about; "又", "那边" say nothing


def _asks_own_topic(new: str, companies) -> bool:
    """The part before "怎么做的" says more than whom it is about ("浙江在服务小微企业方面" names its own topic):
    a question of its own, not the previous one asked of another subject."""
    rest = new
    for names in subjects_named(new, companies).values():
        for name in names:
            rest = rest.replace(name, "")
    return len(re.sub(r"[^\u4e00-\u9fff]|[的又都也那这边里在呢]", "", rest)) >= OWN_TOPIC_CHARS


def resolve_elliptical(new: str, prev: Turn, companies: list[str]) -> tuple[str, str, None] | None:
    r = rules()
    prev = replace(prev, resolved=asking_part(prev.resolved))
    new = re.sub(r"^(?:和|跟|与|同)(.+?)(?:比|相比|对比|比较)?$", r"\1", new.strip("，, 的"))  # "和上一年比"
    base = prev.resolved.rstrip("？?。 ")
    for word, shift in sorted(r.relative_time.items(), key=lambda x: -len(x[0])):
        if word in new:
            shifted = shift_time(prev.resolved, shift)
            return (shifted, "time", None) if shifted else (f"{base}，{word}是多少？", "time", None)
    if r.relative_past.match(new):  # "五年前呢？": the previous question, then
        now = r.present_time.search(prev.resolved)
        return (prev.resolved[:now.start()] + new + prev.resolved[now.end():] if now else new + prev.resolved), "time", None
    when = YEAR.search(new) or BATCH.search(new)
    if when and len(new) <= len(when.group()) + 1:  # "那2022年呢？", "第四批呢？": another time
        return swap_time(prev.resolved, when.group()), "time", None
    got = subjects_named(new, companies)
    # the kind the previous question named first: "那珠海金智维呢？" after a question about 速腾聚创 swaps the
    # company (珠海 only says where 金智维 is)
    entity = next((k for k in ENTITY_KINDS if k in got and prev.about.get(k)), None) \
        or next((k for k in ENTITY_KINDS if k in got), None)
    if entity and "measure" in got and got[entity] != prev.about.get(entity):
        # "那东莞的融资呢？": a new subject and a new measure; "那东莞的单项冠军有几家呢？" asks its own way
        return (f"{new}？" if r.question_word.search(new) else f"{new}是多少？"), "swap", None
    if entity and not ("measure" in got and got[entity] == prev.about.get(entity)):
        return swap_entity(prev, entity, got[entity], companies), "swap", None
    if "measure" in got:
        return swap_measure(prev, new), "measure", None
    if "aspect" in got:
        aspect = got["aspect"][0]
        return f"{base}，{new}{r.aspect_tails.get(aspect, '是什么')}？", "aspect", None
    return None


def swap_entity(prev: Turn, kind: str, new: list[str], companies: list[str]) -> str:
    """Replace the previous question's entities of this kind; a compared pair ("深圳和广州谁的…多")
    replaced by one entity loses its comparison wording."""
    r = rules()
    q = prev.resolved
    old = prev.about.get(kind, [])
    levels = {place_level(n) for n in new}
    same = [o for o in old if place_level(o) in levels]  # a city replaces a city ("南山" is not what 佛山 varies)
    at = next((a for a in _asking_starts(q) if any(o in q[a:] for o in same)), 0)
    others = "".join(c for c in CLAUSE_END.split(q[:at]) if not FIRST_PERSON.search(c))
    if at and not any(o in others for o in same):
        # the asking sentence's names are varied, not those of the asker's own context ("我在广州和东莞做
        # 小五金的，…深圳一个市就占了多少？" + "广州和东莞呢？" -> "…广州和东莞一个市就占了多少？")
        return q[:at] + swap_entity(replace(prev, resolved=q[at:]), kind, new, companies)
    if not old:  # a narrowing name goes before what was counted: "深圳有多少家科创板上市小巨人？"
        counted = next((q.find(x) for x in prev.about.get("measure", []) if x in r.lexicon["qualifier"]), -1)
        at = counted if kind in NARROWING_KINDS and counted >= 0 else 0
        return q[:at] + "和".join(new) + q[at:]
    alt = "|".join(map(re.escape, sorted(old, key=len, reverse=True)))
    run = re.search(rf"(?:{alt})(?:\s*(?:和|与|跟|及|、|，|,|还是|以及|对比|比)\s*(?:{alt}))+", q)
    joined = "和".join(new)
    if run and len(new) == 1:
        rest = r.comparison.sub("", q[run.end():])
        rest = re.sub(r"[？?。！!]+$", "", rest)
        if not r.question_word.search(rest):  # "谁的…多": the compared amount is what is asked
            rest = re.sub(r"(多|高|大|快|少|低|强|靠前|领先)$", "", rest) + "有多少"
        rest = "的" + re.sub(r"^[的，,\s]+", "", rest)
        return f"{q[:run.start()]}{joined}{rest}？"
    if run:
        return q[:run.start()] + joined + q[run.end():]
    return _swap_by_level(q, [o for o in old if o in q] or old, new)


def _asking_starts(q: str) -> list[int]:
    """Where the last clause with a question word starts, then the sentence it is in (0 where none asks)."""
    body = q.rstrip("？?。！! ")
    clauses = [0] + [m.end() for m in CLAUSE_END.finditer(body)]
    clause = next((a for a in reversed(clauses) if ASKS.search(q[a:])), 0)
    sentence = max([0] + [m.end() for m in SENTENCE_END.finditer(body[:clause])])
    return [clause, sentence]


def _swap_by_level(q: str, old: list[str], new: list[str]) -> str:
    """Each new name replaces the earlier name of its level: a city a city ("广东上市的小巨人里，深圳
    有多少家？" + "那广州呢？" -> "…广州有多少家？"), a district a district ("佛山南海区…" + "三水呢？" ->
    "佛山三水…"); a name of a level the question lacks goes after the name before it."""
    by_level: dict[int, list[str]] = {}
    for n in new:
        by_level.setdefault(place_level(n), []).append(n)
    anchor = None  # the end of the last name put in
    for level in sorted(by_level):
        joined = "和".join(by_level[level])
        target = next((o for o in old if place_level(o) == level and o in q), None)
        if target is None and anchor is None:
            target = old[0] if old[0] in q else None
        if target is not None:
            i = q.find(target)
            q, anchor = q[:i] + joined + q[i + len(target):], i + len(joined)
            districts = [o for o in old if place_level(o) == 2 and o != target]
            if level < 2 and 2 not in by_level and districts:
                # another city: the old city's district goes too ("广州黄埔区…" + "东莞呢？" -> "东莞…")
                tail = re.match(r"的?(?:%s)" % "|".join(map(re.escape, districts)), q[anchor:])
                q = q[:anchor] + q[anchor + tail.end():] if tail else q
        else:
            anchor = anchor or 0
            q, anchor = q[:anchor] + joined + q[anchor:], anchor + len(joined)
    return q


def swap_measure(prev: Turn, new: str) -> str:
    """The same subjects, another measure: "珠三角和长三角的培育比各是多少？"."""
    subjects = ([n for k in ("place", "company", "agency", "person", "board") for n in prev.about.get(k, [])]
                or prev.about.get("industry", []))
    if not subjects:
        old = prev.about.get("measure", [])
        base = prev.resolved.replace(old[0], new, 1) if old else f"{new}：{prev.resolved}"
        return base
    for name in subjects:  # "普渡科技的专利" after a question about 普渡科技: the measure is "专利"
        new = new.replace(name, "")
    new = new.strip("的 ，,")
    if new in rules().lexicon["relative_measure"]:  # "培育比" of the previous measure (单项冠军)
        new = "".join(m for m in prev.about.get("measure", []) if m not in new) + new
    time = "".join(f"{y}年" for y in YEAR.findall(prev.resolved))
    each = "各是多少？" if len(subjects) > 1 else "是多少？"
    return f"{time}{'和'.join(subjects)}的{new}{each}"


def swap_time(q: str, when: str) -> str:
    """The previous question at another year or batch (prefixed when it named none)."""
    rx = YEAR if YEAR.fullmatch(when) else BATCH
    m = rx.search(q)
    return q[:m.start()] + when + q[m.end():] if m else when + q


def shift_time(q: str, shift: int) -> str | None:
    m = YEAR.search(q)
    if m:
        return q[:m.start(1)] + str(int(m.group(1)) + shift) + q[m.end(1):]
    b = BATCH.search(q)
    if b:
        n = CN_ORDINALS.index(b.group(1)) + 1 + shift
        if 1 <= n <= 10:
            return q[:b.start(1)] + CN_ORDINALS[n - 1] + q[b.end(1):]
    return None


def inherit_measure(question: str, state: list[Turn], companies: list[str], max_chars: int = MAX_INHERIT_CHARS,
                    kinds: tuple[str, ...] = ("place", "board")) -> str | None:
    """A short question naming a subject but no measure takes the previous question's measure:
    "深圳占了多少？" after "广东现在上市的小巨人累计有多少家？" -> "深圳上市小巨人占了多少？". The
    subject is a place or board (a company named on its own is asked about itself: "普渡科技累计出货多少台？")."""
    got = subjects_named(question, companies)
    if "measure" in got or "tier" in got or len(question) > max_chars:
        return None
    question = rules().opening.sub("", question)  # "那深圳是多少？" -> "深圳上市小巨人是多少？"
    subjects = [n for k in kinds for n in got.get(k, [])]
    if not subjects:
        return None
    insert = _measure_words(question, state)
    if not insert:
        return None
    last = subjects[-1] if question.find(subjects[-1]) > question.find(subjects[0]) else subjects[0]
    i = question.find(last) + len(last)
    i += bool(re.match(r"[市区省县镇]", question[i:]))  # after "东莞市", not inside it
    rest = re.sub(r"^(?:那边|这边|那里|这里)", "", question[i:])  # "佛山那边哪个区最多"
    return question[:i] + insert + rest


def _measure_words(question: str, state: list[Turn]) -> str:
    """What the previous question counted; "小巨人" when the conversation is about them."""
    return carried_population(state[-1], question, any("小巨人" in t.resolved for t in state))


def inherit_subject(question: str, prev: Turn, companies: list[str]) -> str | None:
    """A short question that goes on about the previous subjects without naming any ("其中上市的有几家？"
    after "广州有多少家小巨人？") is asked about them: "广州小巨人其中上市的有几家？"."""
    r = rules()
    got = subjects_named(question, companies)
    # without a word that goes on ("其中", "那"), a question naming its population or topic is one of its own
    own = "小巨人" in question or "tier" in got or r.own_topic.search(question)
    if not (r.continues.match(question) or (len(question) <= r.max_continuation_chars and not own)):
        return None
    kinds = ("place", "company", "agency", "person", "board", "industry", "ownership")
    if _only_located(question, got):
        # "在中山投了多少" after a question about 粤科金融: the place says where, the organisation is still the subject
        kinds = ("company", "agency")
    elif any(k in got for k in ENTITY_KINDS):
        return None
    subjects = [n for k in kinds for n in prev.about.get(k, [])]
    if not subjects or not r.question_word.search(question):
        return None
    question = r.opening.sub("", question)
    question = next((question[len(w):] for w in r.lexicon["pronoun_population"] if question.startswith(w)), question)
    return _time_of(prev, question) + join_subjects(subjects) + _previous_population(prev, question) + question


def _only_located(question: str, got: dict[str, list[str]]) -> bool:
    """The question names no entity but places, each where something happens ("在中山…")."""
    named = [k for k in ENTITY_KINDS if k in got]
    return named == ["place"] and all(re.search("在" + re.escape(p), question) for p in got["place"])
