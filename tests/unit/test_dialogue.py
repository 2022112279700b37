"""Follow-up resolution against the dialogue state: every rule example of data/followups.toml, plus
the history formats the API, the UI and the terminal chat send."""

from __future__ import annotations

import pytest

from assistant.answer import Answer
from assistant.citations import Citation
from assistant.answer.dialogue import (answer_items, build_state, find_pronoun, history_pairs, note_line, organisations,
                                       place_level, present, resolve, rules, short_item, understand)
from assistant.config import Config
from assistant.ingest.corpus import load_corpus


@pytest.fixture(scope="module")
def companies() -> list[str]:
    """The profiled companies' names, from the real handbook (parsed, no index)."""
    return sorted({a for d in load_corpus(Config().corpus_dir) for p in d.profiles for a in p.aliases if len(a) >= 2})


def conversation(questions: list[str], answers: list[str]) -> list[dict]:
    msgs = []
    for k, q in enumerate(questions):
        msgs.append({"role": "user", "content": q})
        msgs.append({"role": "assistant", "content": answers[k] if k < len(answers) else ""})
    return msgs


@pytest.mark.parametrize("example", rules().examples, ids=lambda e: f"{e['rule']}:{e['question']}")
def test_rule_examples(example, companies):
    u = understand(example["question"], conversation(example["history"], example.get("answers", [])), companies)
    assert (u.standalone, u.rule) == (example["resolved"], example["rule"])


def test_every_rule_has_an_example():
    assert {"swap", "measure", "aspect", "time", "pronoun", "inherit", "subject", "ordinal", "standalone", "compute",
            "preamble"} <= {e["rule"] for e in rules().examples}


def test_second_follow_up_resolves_from_the_resolved_question(companies):
    state = build_state(conversation(["广州上市的小巨人有多少家？", "那东莞呢？"], []), companies)
    assert state[1].resolved == "东莞上市的小巨人有多少家？"
    assert resolve("佛山呢？", state, companies)[0] == "佛山上市的小巨人有多少家？"


def test_pronoun_resolves_to_the_company_the_previous_answer_named(companies):
    history = conversation(["东莞那家做工业RFID的小巨人叫啥名？"],
                           ["不同于国外的RFID企业，思谷智能紧随国内战略性新兴产业发展。[1]"])
    assert understand("这家公司是谁孵化出来的", history, companies).standalone == "思谷智能是谁孵化出来的"
    # a place named next to "那边" is no pronoun to resolve
    assert understand("佛山那边哪个区最多？", history, companies).rule != "pronoun"


def test_a_pronoun_keeps_the_company_a_question_was_about_when_its_answer_named_another(companies):
    history = conversation(["思谷智能是谁孵化出来的？"],
                           ["广东思谷智能技术有限公司：由广东华中科技大学工业技术研究院孵化。[1]"])
    assert understand("它有多少项核心技术专利？", history, companies).standalone == "思谷智能有多少项核心技术专利？"


def test_english_and_traditional_follow_ups(companies):
    history = conversation(["深圳有多少家上市小巨人？"], [])
    assert understand("What about Dongguan?", history, companies).standalone == "东莞有多少家上市小巨人？"
    assert understand("那東莞呢？", history, companies).standalone == "东莞有多少家上市小巨人？"
    english_history = conversation(["How many listed little giants does Shenzhen have?"], [])
    assert understand("那东莞呢？", english_history, companies).standalone.startswith("东莞")


def test_history_formats():
    parts = [{"role": "user", "content": [{"type": "text", "text": "深圳有多少家？"}]},
             {"role": "assistant", "content": [{"type": "text", "text": "752家[1]"}]}]
    assert history_pairs(parts) == [("深圳有多少家？", "752家[1]")]
    assert history_pairs([("问一", "答一"), "问二", {"role": "system", "content": "x"}, None, 3]) == [("问一", "答一"), ("问二", "")]
    assert history_pairs(None) == []


def test_answer_items_are_its_enumerated_points():
    answer = "（理解为：“x”）\n报告提出四条路径。[1]一是依托链主。[2]二是激活数据要素。[3]三是以投代招。[4]"
    assert answer_items(answer) == ["依托链主", "激活数据要素", "以投代招"]
    assert answer_items("深圳有752家。[1]广州有249家。[2]") == ["深圳有752家", "广州有249家"]


def test_pronoun_words_that_are_not_pronouns():
    assert find_pronoun("其中上市的有几家？") is None
    assert find_pronoun("它从哪年开始布局车用的？") == ("它", "company")
    assert find_pronoun("他之前在广汽待了多少年？") == ("他", "person")


def test_note_line_cannot_forge_a_citation():
    line = note_line("深圳[1]有多少家？真的吗！")
    assert line.startswith("（理解为：") and "[1]" not in line and "？" not in line and "！" not in line


def test_organisation_names_lose_the_words_before_them():
    text = "去年我加入总部位于绍兴的芯联集成电路制造股份有限公司，此前我曾服务广汽集团16年"
    assert [name for _, name in organisations(text)] == ["芯联集成电路制造股份有限公司", "广汽集团"]
    assert organisations("有限公司") == []
    # a known company's name inside it is kept whole ("云从" is no word before the name)
    assert organisations("云从科技集团股份有限公司：科创板上市", ["云从", "云从科技"]) == [(0, "云从科技集团")]


def test_no_place_inside_another_word():
    from assistant.answer.dialogue import mentions

    assert "place" not in mentions("以产业集群和都市圈的建设，辐射带动珠江西岸发现“小巨人”")
    assert mentions("佛山西部的小巨人")["place"] == ["佛山"]
    # a district is two characters before 区/镇, neither a function word
    assert mentions("深圳市南山区和光明区")["place"] == ["深圳", "南山区", "光明区"]
    assert "place" not in mentions("最集中的区是哪个？这个区呢？")


def test_place_levels():
    assert [place_level(n) for n in ("广东", "长三角", "深圳", "苏州", "南山区", "松山湖", "三水")] == [0, 0, 1, 1, 2, 2, 2]


def _present_quoting(source: str, understood):
    """An answer that quotes the whole one-line source once, presented as `understood`."""
    cited = [Citation(1, "handbook", 0, len(source), "x", source)]
    return present(Answer(understood.asked, source + "[1]", False, cited), understood, {"handbook": source})


def test_a_swapped_in_place_the_answer_never_names_is_refused(companies):
    history = conversation(["佛山小巨人平均专利拥有量是多少？"], [])
    source = "东莞专精特新“小巨人”平均专利拥有量为136项。"
    u = understand("那惠州呢？", history, companies)
    assert (u.rule, u.swapped_in) == ("swap", ["惠州"])
    a = _present_quoting(source, u)
    assert a.refused and not a.citations and "惠州" in a.notice
    kept = _present_quoting(source, understand("那东莞呢？", history, companies))
    assert not kept.refused and "136项" in kept.answer and kept.citations


def test_a_swapped_in_place_named_in_another_form_is_kept(companies):
    # the handbook's "全省" is 广东 (lexicon.toml): an answer naming 广东 answers "那全省平均呢？"
    history = conversation(["全国小巨人平均有多少专利？"], [])
    source = "东莞专精特新“小巨人”平均专利拥有量为136项，低于广东平均水平（139项）。"
    u = understand("那全省平均呢？", history, companies)
    assert (u.rule, u.swapped_in) == ("swap", ["全省"])
    assert not _present_quoting(source, u).refused
    assert _present_quoting("东莞专精特新“小巨人”平均专利拥有量为136项。", u).refused


def test_a_swapped_in_place_the_quoted_section_names_is_kept(companies):
    # a sentence inherits its section's place: "紧随其后…" under 东莞篇 is about 东莞, not under 深圳篇
    history = conversation(["广州小巨人里哪个产业赛道占比最大？"], [])
    source = "紧随其后分别是半导体与集成电路、先进材料四个赛道，占比分别为11.5%、10.9%。"
    u = understand("东莞呢？", history, companies)

    def presented(section):
        cited = [Citation(1, "handbook", 0, len(source), section, source)]
        return present(Answer(u.asked, source + "[1]", False, cited), u, {"handbook": source})

    assert not presented("六 广东“小巨人”城市篇 > 东莞篇 > 东莞“小巨人”画像 > （二）产业赛道：电子制造+高端装备双赛道支撑").refused
    assert presented("六 广东“小巨人”城市篇 > 深圳篇 > 深圳“小巨人”画像").refused
    # the innermost place of the path is the scope: a sentence under 深圳篇 is not about 广东 as a whole
    u = understand("那广东呢？", history, companies)
    assert u.swapped_in == ["广东"]
    assert presented("六 广东“小巨人”城市篇 > 深圳篇 > 深圳“小巨人”画像").refused
    assert not presented("二 广东“小巨人”企业画像 > （二）产业赛道：新一代信息技术领跑").refused
    # a district swapped in needs its own heading, not its city's
    u = understand("松山湖呢？", conversation(["东莞小巨人最集中在哪？"], []), companies)
    assert not presented("六 广东“小巨人”城市篇 > 东莞篇 > 东莞“小巨人”画像 > （一）区域分布：以松山湖为中心辐射周边镇街").refused
    assert presented("六 广东“小巨人”城市篇 > 东莞篇 > 东莞“小巨人”画像").refused


def test_an_item_is_quoted_by_whole_clauses():
    item = "政府的政策和扶持绝对不容忽视，特别是创新驱动发展，“小巨人”都具备了科技创新的要素获得国家政策支持"
    assert short_item(item) == "政府的政策和扶持绝对不容忽视，特别是创新驱动发展"
    assert short_item("一" * 50) == "一" * 40


def test_a_time_the_answer_never_names_is_refused(companies):
    history = conversation(["2023年广东新增多少家小巨人？"], [])
    source = "2023年广东新增“小巨人”企业数量为428家。"
    u = understand("那2021年呢？", history, companies)
    assert (u.rule, u.swapped_in) == ("time", ["2021年"])
    a = _present_quoting(source, u)
    assert a.refused and "2021年" in a.notice
    assert understand("五年前呢？", conversation(["东莞CIO现在年薪多少？"], []), companies).swapped_in == ["五年前"]


def test_a_name_as_an_answer_may_shorten_it():
    from assistant.answer.dialogue import core_name

    assert core_name("深圳市普渡科技有限公司") == "普渡科技"
    assert core_name("广东创兴精密制造股份有限公司") == "创兴精密制造"
    assert [core_name(n) for n in ("南山区", "东莞", "黄埔", "深圳市", "新三板")] == ["南山", "东莞", "黄埔", "深圳", "新三板"]


@pytest.mark.parametrize("question,asked", [
    ("我们在想佛山小巨人往哪些赛道培育 先看看别人 广州小巨人最多的两个赛道是啥", "广州小巨人最多的两个赛道是啥"),
    ("我们是东莞做模具的小厂，想冲专精特新，手册建议怎么做？", "手册建议怎么做？"),
    ("截至2023年7月，广东有多少家？", "截至2023年7月，广东有多少家？"),  # a clause that scopes the question
    ("小巨人的企业技术中心，江苏和广东各有多少？", "小巨人的企业技术中心，江苏和广东各有多少？"),  # its topic
    ("我们厂在佛山", "我们厂在佛山"),  # nothing asks
])
def test_the_asking_part_leaves_out_the_askers_context(question, asked):
    from assistant.answer.resolution import asking_part

    assert asking_part(question) == asked


def test_a_follow_up_that_names_its_own_subject_is_decided_as_a_question_asked_alone(companies):
    history = conversation(["佛山的小巨人平均有多少专利？"], ["佛山专精特新“小巨人”平均专利拥有量为160项。[1]"])
    for question in ("那东莞小巨人的发明专利占比是多少？", "江门对新认定的小巨人奖多少？"):
        alone = understand(question, history, companies)
        assert (alone.rule, alone.thread.self_contained, alone.thread.follow_up) == ("standalone", True, False)
    leaning = understand("那比例呢？", history, companies)
    assert (leaning.thread.self_contained, leaning.thread.follow_up) == (False, True)
    # a question that names nothing leans on the conversation even when no rule rewrote it
    bare = understand("手册里还提了哪些难处？", history, companies)
    assert (bare.rule, bare.thread.self_contained, bare.thread.follow_up) == ("standalone", False, True)
