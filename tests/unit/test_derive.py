"""Computed answers (answer/derive.py) over real handbook sentences, no index: which figure is each
compared name's operand, and the lead line stating the result with its arithmetic."""

from __future__ import annotations

import pytest

from assistant.answer.derive import asked_operation, bound_figures, lead_line, pick_operands
from assistant.chunking import Unit, init_jieba
from assistant.types import Span

SHENZHEN_TOTAL = "深圳贡献了广东超过一半的专精特新“小巨人”，达到752家。"
SECOND_TIER = "第二梯队是广州和东莞，分别为249家和172家，但两地“小巨人”数量与深圳、宁波、苏州等全国第一梯队城市拉开较大差距。"
TECH_CENTRES = "截至2023年三季度末，江苏省、浙江省及广东省“小巨人”获得认定的企业技术中心数量分别为1082家、614家及247家。"
MANUFACTURING = "长三角“小巨人”制造业含量更高，占比高达70%，珠三角制造业占比为61%。"
LISTED_SHENZHEN = "目前，深圳在全省拥有最多上市“小巨人”，高达109家，占广东上市“小巨人”企业的45%，在全国城市排名也仅次于北京。"
LISTED_GUANGZHOU = ("从上市情况来看，广州专精特新“小巨人”中上市企业为47家，其中数量前三的是新三板23家、创业板11家和科创板9家，"
                    "占比分别为51.06%、23.40%、19.15%，新三板仍然是“小巨人”上市的主要阵地。")
LISTED_THREE = ("数据显示，截至2023年三季度末，广东、江苏、浙江合计上市小巨人企业数量为284家，江苏上市“小巨人”数量领先，"
                "拥有284家，其次是浙江244家，广东241家略微落后。")
SHENZHEN_DISTRICTS = "在区域分布上，深圳“小巨人”最集中的区域是南山区和宝安区，均在200家以上，合计436家，占全市的59%。"
DELTA_TOTAL = "从企业数量分布来看，截至2023年8月，长三角7大核心城市共培育“小巨人”企业2386家，占全国总数的19.60%，城市间协同性、均衡性更优，释放了更显著更集中的城市群效应。"
DELTA_CHAMPIONS = "长三角城市群拥有制造业单项冠军219家，小巨人与单项冠军的培育比为13:1，而珠三角城市群拥有制造业单项冠军112家，这一比例为19:1。"
PEARL_GROWTH = "但从成长性来看，珠三角城市群近三年的“小巨人”数量增速均值达到128.47%，远甚于长三角城市群86.68%的增速，保持良好的发展势头。"
PEARL_TOTAL = "珠三角9大城市共培育“小巨人”企业1422家，占全国总数的11.68%，位于深圳的企业数量占到五成以上，江门、肇庆不足占比1%，城市之间比例不均衡问题凸显。"
DONGGUAN_OVER = "特别是东莞“小巨人”企业数量达到了超过170家，且制造业规模常年保持在50%左右，但单项冠军仅有3家，未来需着力锻造出在国际细分市场的独特竞争力，争取全球行业领先地位。"
FOSHAN_GOAL = "2023年3月，佛山出台《关于高质量推进制造业当家的行动方案》，明确到2025年，力争培育专精特新“小巨人”达到200家以上。"
FOSHAN_NOW = "截至目前，佛山共培育专精特新“小巨人”企业86家，剔除第二批未通过复核的有8家。"


@pytest.fixture(scope="module")
def unit(handbook_text):
    """A real answer unit of one handbook sentence (its true span), as the answerer would choose it."""
    init_jieba()  # the domain words ("小巨人") the answerer tokenizes with once an index is open
    made: dict[str, Unit] = {}

    def make(sentence: str, section: str = "二 广东“小巨人”企业画像") -> Unit:
        if sentence not in made:
            start = handbook_text.index(sentence)
            span = Span("handbook", start, start + len(sentence), sentence)
            made[sentence] = Unit(len(made), 0, (span,), sentence, "paragraph", section)
        return made[sentence]
    return make


def cite_in_order():
    seen: list[int] = []

    def cite(u: Unit) -> str:
        if u.id not in seen:
            seen.append(u.id)
        return f"[{seen.index(u.id) + 1}]"
    return cite


def lead(question: str, names: list[str], units: list[Unit]) -> str | None:
    found = lead_line(question, names, units, cite_in_order())
    return found.text if found else None


@pytest.mark.parametrize("question,kind,word", [
    ("深圳和广州谁的小巨人多？", "more", "多"),
    ("长三角和珠三角哪边制造业的比重更高？", "more", "高"),
    ("广州和东莞谁的小巨人少？", "less", "少"),
    ("深圳比广州多出多少家？", "difference", "多"),
    ("东莞上市的小巨人比广州少几家？", "difference", "少"),
    ("至少还需新增多少家“小巨人”？", "difference", ""),
    ("广州和东莞一共有多少家？", "sum", ""),
    ("江苏大概是广东的几倍？", "ratio", ""),
])
def test_the_asked_operation(question, kind, word):
    op = asked_operation(question)
    assert op is not None and (op.kind, op.word) == (kind, word)


def test_a_plain_count_question_asks_no_operation():
    assert asked_operation("深圳有多少家上市小巨人？") is None


def test_comparison_over_two_sentences(unit):
    text = lead("深圳和广州谁的小巨人多？", ["深圳", "广州"], [unit(SHENZHEN_TOTAL), unit(SECOND_TIER)])
    assert text == "深圳 752家，广州 249家：深圳更多，多 503家（752 − 249 = 503）[1][2]"


def test_subject_is_the_clause_subject_not_a_place_named_later(unit):
    # "深圳贡献了广东超过一半…，达到752家": 752 is 深圳's, although 广东 stands nearer
    assert [(n, f.text) for n, f in bound_figures(unit(SHENZHEN_TOTAL), ["深圳", "广东"])] == [("深圳", "752家")]


def test_a_figure_near_a_district_is_not_the_city_s(unit):
    assert bound_figures(unit(SHENZHEN_DISTRICTS), ["深圳", "广州"]) == []


def test_respective_lists_bind_by_position(unit):
    got = [(n, f.text) for n, f in bound_figures(unit(TECH_CENTRES), ["江苏", "浙江", "广东"])]
    assert got == [("江苏", "1082家"), ("浙江", "614家"), ("广东", "247家")]


def test_percent_comparison_in_one_sentence(unit):
    text = lead("长三角和珠三角哪边制造业的比重更高？", ["长三角", "珠三角"], [unit(MANUFACTURING), unit(DELTA_TOTAL)])
    assert text == "长三角 70%，珠三角 61%：长三角更高，高 9个百分点（70% − 61% = 9个百分点）[1]"


def test_a_count_question_compares_counts_not_the_percentages_beside_them(unit):
    # "数量" names no unit, yet a share (19.60%) against a growth rate (128.47%) does not answer it
    question = "长三角和珠三角比 小巨人数量谁多"
    assert lead(question, ["长三角", "珠三角"], [unit(DELTA_TOTAL), unit(PEARL_GROWTH)]) is None
    assert lead(question, ["长三角", "珠三角"], [unit(DELTA_TOTAL), unit(PEARL_GROWTH), unit(PEARL_TOTAL)]) == \
        "长三角 2386家，珠三角 1422家：长三角更多，多 964家（2386 − 1422 = 964）[1][2]"


def test_the_asked_measure_decides_between_figures(unit):
    units = [unit(SHENZHEN_TOTAL), unit(SECOND_TIER), unit(LISTED_SHENZHEN), unit(LISTED_GUANGZHOU)]
    assert lead("深圳和广州谁的上市小巨人多？", ["深圳", "广州"], units) == \
        "深圳 109家，广州 47家：深圳更多，多 62家（109 − 47 = 62）[1][2]"
    # a verb-object word split by an aspect particle still names its measure
    assert lead("深圳和广州上了市的小巨人谁多？", ["深圳", "广州"], units) == \
        "深圳 109家，广州 47家：深圳更多，多 62家（109 − 47 = 62）[1][2]"
    assert lead("深圳和广州上了市的小巨人谁多？", ["深圳", "广州"], units[:2]) is None
    # without 上市 in the question, the listed counts are not its operands
    assert lead("深圳和广州谁的小巨人多？", ["深圳", "广州"], units) == \
        "深圳 752家，广州 249家：深圳更多，多 503家（752 − 249 = 503）[1][2]"


def test_a_listed_measure_carries_over_within_the_sentence(unit):
    text = lead("江苏浙江广东三个省，哪个上市小巨人最多？", ["江苏", "浙江", "广东"], [unit(LISTED_THREE)])
    assert text == "江苏 284家，浙江 244家，广东 241家：江苏最多[1]"


def test_less_and_sum_and_ratio(unit):
    tier = [unit(SECOND_TIER)]
    assert lead("广州和东莞谁的小巨人少？", ["广州", "东莞"], tier) == \
        "广州 249家，东莞 172家：东莞更少，少 77家（249 − 172 = 77）[1]"
    assert lead("广州和东莞一共有多少家小巨人？", ["广州", "东莞"], tier) == \
        "广州 249家，东莞 172家：合计 421家（249 + 172 = 421）[1]"
    assert lead("江苏的企业技术中心大概是广东的几倍？", ["江苏", "广东"], [unit(TECH_CENTRES)]) == \
        "江苏 1082家，广东 247家：江苏约为广东的 4.4 倍（1082 ÷ 247 ≈ 4.4）[1]"


def test_difference_between_two_regions(unit):
    units = [unit(DELTA_TOTAL, "四 长三角"), unit(PEARL_TOTAL, "四 长三角")]
    assert lead("长三角7个核心城市比珠三角9个城市多出多少家小巨人？", ["长三角", "珠三角"], units) == \
        "长三角 2386家，珠三角 1422家：长三角更多，多 964家（2386 − 1422 = 964）[1][2]"
    # "相差" names no direction: the larger is stated
    assert lead("珠三角和长三角的小巨人相差多少家？", ["珠三角", "长三角"], units) == \
        "珠三角 1422家，长三角 2386家：长三角更多，多 964家（2386 − 1422 = 964）[1][2]"


def test_shortfall_against_a_goal(unit):
    units = [unit(FOSHAN_GOAL, "城市篇 > 佛山篇"), unit(FOSHAN_NOW, "城市篇 > 佛山篇")]
    assert lead("佛山到2025年的目标，至少还需新增多少家小巨人？", ["佛山"], units) == \
        "佛山 2025年目标 200家以上，现有 86家：还差至少 114家（200 − 86 = 114）[1][2]"


def test_ambiguous_operands_give_no_line(unit):
    # no measure in the question, and 长三角 has a count of little giants and one of champions
    units = [unit(DELTA_TOTAL), unit(DELTA_CHAMPIONS), unit(PEARL_TOTAL)]
    op = asked_operation("长三角和珠三角谁多？")
    assert pick_operands("长三角和珠三角谁多？", op, ["长三角", "珠三角"], units) is None
    assert lead("长三角和珠三角谁多？", ["长三角", "珠三角"], units) is None


def test_a_missing_operand_gives_no_line(unit):
    assert lead("深圳和广州谁的小巨人多？", ["深圳", "广州"], [unit(SHENZHEN_TOTAL)]) is None


def test_an_approximate_operand_gives_no_winner(unit):
    # 752家 against "超过170家": the difference is not exact, so no line rather than a guess
    units = [unit(SHENZHEN_TOTAL), unit(DONGGUAN_OVER)]
    op = asked_operation("深圳和东莞谁的小巨人多？")
    assert [f.text for f in pick_operands("深圳和东莞谁的小巨人多？", op, ["深圳", "东莞"], units)] == ["752家", "超过170家"]
    assert lead("深圳和东莞谁的小巨人多？", ["深圳", "东莞"], units) is None


def test_no_operation_no_line(unit):
    assert lead("深圳和广州各有多少家小巨人？", ["深圳", "广州"], [unit(SHENZHEN_TOTAL), unit(SECOND_TIER)]) is None


GROWTH = "但从成长性来看，珠三角城市群近三年的“小巨人”数量增速均值达到128.47%，远甚于长三角城市群86.68%的增速，保持良好的发展势头。"


def test_figures_of_another_measure_give_no_line(unit):
    # the only percentages at hand are growth rates: they do not answer a question about manufacturing
    assert lead("长三角跟珠三角，做制造业的比例哪边高？", ["长三角", "珠三角"], [unit(GROWTH)]) is None
    assert lead("珠三角和长三角近三年的增速谁更快？", ["珠三角", "长三角"], [unit(GROWTH)]) == \
        "珠三角 128.47%，长三角 86.68%：珠三角更快，高 41.79个百分点（128.47% − 86.68% = 41.79个百分点）[1]"


CHAMPIONS_RATIO_Q = "小巨人跟单项冠军的培育比，长三角和珠三角哪边效率更高？"
PATENTS = "珠三角城市群和长三角核心城市群的创新能力均优于全国均值，其中，珠三角“小巨人”企业均拥有99.8件专利授权量，14.9件高价值发明专利量，高价值专利占比达到14.92%；长三角“小巨人”企业均拥有93.9件专利授权量，13.7件高价值发明专利量，珠三角“小巨人”体现出更强的创新能力。"


def test_the_measure_named_next_to_the_comparison_must_be_the_operands(unit):
    # the sentence counts champions (219家, 112家); the question compares a ratio ("效率") it does not state as a figure
    assert lead(CHAMPIONS_RATIO_Q, ["长三角", "珠三角"], [unit(DELTA_CHAMPIONS)]) is None
    assert lead("长三角和珠三角的单项冠军谁多？", ["长三角", "珠三角"], [unit(DELTA_CHAMPIONS)]) == \
        "长三角 219家，珠三角 112家：长三角更多，多 107家（219 − 112 = 107）[1]"


def test_the_figure_whose_clause_names_the_measure(unit):
    # 99.8件专利授权量 and 14.9件高价值发明专利量 are both 珠三角's, in one unit
    assert lead("珠三角和长三角的小巨人，哪边平均专利授权量多点？", ["珠三角", "长三角"], [unit(PATENTS)]) == \
        "珠三角 99.8件，长三角 93.9件：珠三角更多，多 5.9件（99.8 − 93.9 = 5.9）[1]"
    assert lead("长三角和珠三角的小巨人，谁的高价值发明专利更多？", ["长三角", "珠三角"], [unit(PATENTS)]) == \
        "长三角 13.7件，珠三角 14.9件：珠三角更多，多 1.2件（14.9 − 13.7 = 1.2）[1]"


def test_a_profiled_company_s_figures_are_not_its_city_s(unit, handbook_text):
    sentence = "近三年公司每年的研发投入都超过1亿，研发人员占比近50%。"
    start = handbook_text.index(sentence)
    profile = Unit(99, 0, (Span("handbook", start, start + len(sentence), sentence),), sentence, "profile",
                   "六 广东“小巨人”城市篇 > 深圳篇 > 深圳“小巨人”成长档案", company="影石创新科技股份有限公司")
    assert bound_figures(profile, ["深圳", "广州"]) == []
    assert [f.text for _, f in bound_figures(profile, ["影石", "深圳"])] == ["近50%"]
    # a plain paragraph of the 深圳 section speaks of 深圳
    paragraph = Unit(98, 0, profile.spans, sentence, "paragraph", "六 广东“小巨人”城市篇 > 深圳篇 > 经验与观察")
    assert [n for n, _ in bound_figures(paragraph, ["深圳", "广州"])] == ["深圳"]
