"""Script and language detection, 繁體 normalisation and the bilingual glossary (every entry's example)."""

from __future__ import annotations

import re

import pytest

from assistant.answer.language import (detect, digit_years, english_follow_up, english_lead, english_query, glossary,
                                       is_traditional, question_patterns, to_simplified, to_traditional, units)
from assistant.citations import Citation, verify

ENTRIES, VARIANTS = glossary()


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind != "ignore"], ids=lambda e: f"{e.kind}:{e.en[0]}")
def test_every_glossary_entry_maps_its_example(entry):
    assert entry.zh in english_query(entry.example).query


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind == "ignore"], ids=lambda e: e.en[0])
def test_filler_words_add_nothing(entry):
    assert english_query(entry.example).query.strip("？") == ""


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.source)
def test_every_variant_wording_is_normalised(variant):
    assert variant.target in to_simplified(variant.example) or variant.target == ""
    assert variant.source not in to_simplified(variant.example)


@pytest.mark.parametrize("unit", units(), ids=lambda u: u.zh)
def test_every_unit_maps_its_example(unit):
    q = english_query(unit.example).query
    assert re.search(r"(多少|\d)" + unit.zh, q), q


def test_unit_words_are_unique():
    words = [w.lower() for u in units() for w in u.en]
    assert len(words) == len(set(words))


def test_glossary_entries_are_unique_and_complete():
    seen = set()
    for e in ENTRIES:
        assert e.en and e.example, e
        for w in e.en:
            assert w.lower() not in seen, f"English wording {w!r} maps to two entries"
            seen.add(w.lower())


@pytest.mark.parametrize("text,code", [
    ("深圳有多少家上市小巨人？", "zh-Hans"),
    ("廣州對新認定的國家級小巨人，一次過獎勵幾多錢？", "zh-Hant"),
    ("深圳同廣州的小巨人邊個多？", "zh-Hant"),
    ("How many listed little giants are in Shenzhen?", "en"),
    ("Which carmaker does 中贝能源 (Zhongbei Energy) work with?", "en"),
    ("深圳的IPO有多少家？", "zh-Hans"),
    ("Combien de petits géants à Shenzhen ?", "other"),
    ("Wie viele kleine Riesen gibt es in Shenzhen?", "other"),
    ("深圳の小巨人はいくつありますか", "other"),
    ("선전에는 작은 거인이 몇 개 있습니까?", "other"),
    ("Сколько маленьких гигантов в Шэньчжэне?", "other"),
])
def test_detect(text, code):
    assert detect(text).code == code


def test_traditional_round_trip_keeps_digits_and_markers():
    line = "广州市对认定的国家级专精特新“小巨人”企业，给予100万元一次性奖励。[1]"
    trad = to_traditional(line)
    assert trad != line and is_traditional(trad)
    assert "100" in trad and trad.endswith("[1]")
    assert to_simplified(trad) == line


def test_taiwan_and_cantonese_wording():
    assert to_simplified("廣東中小企業數位轉型") == "广东中小企业数字转型"
    assert to_simplified("邊個高啲？") == "哪个高？"
    assert to_simplified("國星半導體的LED晶片") == "国星半导体的LED芯片"


def test_english_query_keeps_chinese_names_and_splits_clauses():
    q = english_query("How many listed little giants are in Shenzhen, and what share of Guangdong's listed total is that?").query
    assert q.startswith("深圳") and "上市" in q and "小巨人" in q and "多少" in q
    assert q.count("？") == 2 and "占比多少" in q
    assert "中贝能源" in english_query("Which carmaker does 中贝能源 work with?").query


def test_english_follow_up():
    assert english_follow_up("What about Foshan?") == "那佛山呢？"
    assert english_follow_up("And Dongguan?") == "那东莞呢？"
    assert english_follow_up("How many little giants does Foshan have?") is None


def test_english_lead_numbers_are_grounded():
    source = "目前，深圳在全省拥有最多上市“小巨人”，高达109家，占广东上市“小巨人”企业的45%。"
    cite = Citation(1, "handbook", 0, len(source), "深圳篇", source)
    lead = english_lead(source + "[1]", english_query("How many listed little giants does Shenzhen have?").entries)
    assert re.search(r"109家", lead) and lead.endswith("[1]") and "Shenzhen" in lead
    v = verify(lead + "\n" + source + "[1]", [cite], {"handbook": source})
    assert v.ok and v.answer.startswith(lead)


def test_english_query_keeps_acronyms_and_product_names_as_written():
    q = english_query("How did CloudWalk's (云从科技) latest large model rank in the C-Eval benchmark?").query
    assert "C-Eval" in q and "云从科技" in q
    q = english_query("Which Dongguan firm runs F5G and ERP+PDM+MES?").query
    assert "F5G ERP+PDM+MES" in q  # two identifiers in a row stay two words
    q = english_query("How many little giants did an IPO in 2023?").query
    assert "IPO" not in q and "上市" in q  # the glossary's term wins over the identifier rule
    assert "Shenzhen" not in english_query("How many little giants does Shenzhen have?").query


def test_the_asked_measure_stands_next_to_the_question_word():
    # Chinese puts what is asked right before the question word: "广州…一次性奖励多少钱"
    q = english_query("What one-off reward does Guangzhou give a firm newly recognised as a national little giant?").query
    assert q.startswith("广州") and q.endswith("一次性奖励多少钱？")
    q = english_query("What was the average government subsidy received by a listed Guangdong little giant in 2022?").query
    assert q.startswith("2022年广东") and q.endswith("平均政府补助多少钱？")
    assert english_query("What target did Foshan set?").query.endswith("目标多少？")  # a bare "what" before a quantity


def test_counted_nouns_give_the_measure_word():
    assert "多少家" in english_query("How many national-level 'little giant' companies does Guangzhou have?").query
    assert "多少件" in english_query("How many patent applications has Pudu Robotics filed?").query
    assert "多少人" in english_query("One micro or small firm for every how many residents in Zhejiang?").query
    assert "占比多少" in english_query("What share of the number of firms is listed?").query  # a share is not counted


def test_figures_are_kept_in_the_handbooks_notation():
    q = english_query("Shenzhen's little giants are 14.4 years old on average. What about their patents?").query
    assert "14.4年" in q
    assert "45%" in english_query("Is it true that 45 percent of listed little giants are in Shenzhen?").query
    assert "2023年" in english_query("How many were added in 2023?").query and "2023年家" not in english_query("2023 firms").query


def test_millions_and_billions_in_the_handbooks_units():
    assert "1亿元" in english_query("Did it spend over 100 million yuan on R&D?").query
    assert "14亿" in english_query("Does he cite a market of 1.4 billion people?").query
    assert "2000万元" in english_query("Is the reward 20 million yuan?").query


def test_number_words_before_a_counted_noun():
    assert "五年" in english_query("How did a super unicorn grow in five years?").query
    assert "300亩" in english_query("Does each park offer 300 mu?").query


def test_question_forms_in_the_handbooks_wording():
    assert english_query("Did Guangzhou double its little giants?").query.endswith("吗？")  # yes/no
    assert english_query("What does Robustel do?").query == "鲁邦通主营业务是什么？"
    assert english_query("What is the listing rate of Guangdong's little giants?").query.endswith("上市率是多少？")
    assert english_query("What measures did Dongguan take?").query.endswith("有哪些措施？")


@pytest.mark.parametrize("form", question_patterns(), ids=lambda q: q.zh)
def test_every_question_pattern_maps_its_example(form):
    assert form.zh in english_query(form.example).query


def test_comparisons_read_as_the_answerer_computes_them():
    assert english_query("How many more little giants does Shenzhen have than Guangzhou?").query == "深圳的小巨人比广州多多少家？"
    assert "哪个更多" in english_query("Which has more little giants, Guangzhou or Dongguan?").query
    assert "合计" in english_query("How many do Jiangsu and Zhejiang have combined?").query


def test_the_first_word_index_finds_every_match_the_full_scan_finds():
    from assistant.answer.language import _english_patterns, _patterns_for

    clauses = [e.example for e in ENTRIES] + ["R&D spending of the 1+1+N model in the U.S. and 'fine' management",
                                             "new-generation information technology, Bao'an, little-giant firms"]
    for clause in clauses:
        full = {(m.start(), e.zh) for rx, e in _english_patterns() for m in rx.finditer(clause)}
        assert full == {(m.start(), e.zh) for rx, e in _patterns_for(clause) for m in rx.finditer(clause)}, clause


def test_when_and_it_that_ask_nothing():
    assert "什么时候" not in english_query("What does Jiangsu do when selecting seed firms?").query
    assert "它" not in english_query("Why is it hard for small firms to get bank loans?").query
    assert english_query("When was it founded?").query == "它成立什么时候？"  # a real question and a real pronoun


@pytest.mark.parametrize("traditional, simplified", [
    ("浙江在保護小微企業智慧財產權方面", "浙江在保护小微企业知识产权方面"),  # a Taiwan phrase the handbook words otherwise
    ("資訊科技企業", "信息技术企业"),  # two changes one character apart are one word
    ("這家公司的核心技術", "这家公司的核心技术"),  # tw2sp's 内核: the handbook says 核心
    ("今年新增了幾家", "今年新增了几家"),  # tw2sp's 添加: the handbook says 新增
])
def test_taiwan_phrases_are_taken_only_where_the_handbook_agrees(traditional, simplified):
    assert to_simplified(traditional) == simplified


@pytest.mark.parametrize("written, digits", [
    ("二零二零年的时候广东上市小巨人平均拿了多少补助", "2020年的时候广东上市小巨人平均拿了多少补助"),
    ("二〇二二年出台的", "2022年出台的"),
    ("广东上市小巨人二三年平均拿了多少", "广东上市小巨人2023年平均拿了多少"),
    ("一九年那批", "2019年那批"),
    ("成立十二年了", "成立十二年了"),  # a duration
    ("做了二十年", "做了二十年"),
    ("再过一两年", "再过一两年"),
    ("九零年代", "九零年代"),
    ("第二二年", "第二二年"),
])
def test_years_written_in_characters_become_digits(written, digits):
    assert digit_years(written) == digits
