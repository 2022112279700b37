"""Every rule of assistant/answer/data/rules.toml against its own examples (no index needed)."""

from __future__ import annotations

import re

import pytest

from assistant.answer.frame import answer_type
from assistant.answer.rules import RULES

TYPE_CASES = [(r.name, ex) for r in RULES.answer_types for ex in r.examples]
TYPE_NEGATIVES = [(r.name, ex) for r in RULES.answer_types for ex in r.not_examples]
PATTERN_CASES = [(name, ex, True) for name, r in RULES.patterns.items() for ex in r.examples] + \
                [(name, ex, False) for name, r in RULES.patterns.items() for ex in r.not_examples]
QUALIFIER_CASES = [(q.cue.pattern, question, sentence) for q in RULES.qualifiers for question, sentence in q.examples]
VALUE_CASES = [(kind, ex) for kind, exs in RULES.value_examples.items() for ex in exs]


@pytest.mark.parametrize("name,question", TYPE_CASES)
def test_answer_type_examples(name, question):
    """The first matching rule decides: an example must be typed as its own rule, not an earlier one."""
    assert answer_type(question) == name


@pytest.mark.parametrize("name,question", TYPE_NEGATIVES)
def test_answer_type_counter_examples(name, question):
    assert answer_type(question) != name


@pytest.mark.parametrize("name,text,matches", PATTERN_CASES)
def test_pattern_examples(name, text, matches):
    assert bool(RULES.patterns[name].pattern.search(text)) == matches


@pytest.mark.parametrize("cue,question,sentence", QUALIFIER_CASES)
def test_qualifier_examples(cue, question, sentence):
    q = next(q for q in RULES.qualifiers if q.cue.pattern == cue)
    assert q.cue.search(question), "the cue must fire on the example question"
    assert re.search(q.support, sentence), "the support pattern must accept the example sentence"


@pytest.mark.parametrize("cue,question", [(q.cue.pattern, ex) for q in RULES.qualifiers for ex in q.not_examples])
def test_qualifier_counter_examples(cue, question):
    assert not re.search(cue, question)


@pytest.mark.parametrize("kind,sentence", VALUE_CASES)
def test_value_examples(kind, sentence):
    assert RULES.value[kind].search(sentence)


@pytest.mark.parametrize("sentence", ["截至第五批名单公示", "第12批企业", "第十五批"])
def test_an_ordinal_is_not_a_count(sentence):
    assert not RULES.value["count"].search(sentence)


def test_every_rule_has_an_example():
    assert all(r.examples for r in RULES.answer_types)
    assert all(r.examples for r in RULES.patterns.values())
    assert all(q.examples for q in RULES.qualifiers)
    assert set(RULES.value_examples) == set(RULES.value)


def test_word_lists_have_no_duplicates():
    for words in (RULES.cities, RULES.provinces, RULES.regions, RULES.boards):
        assert len(words) == len(set(words))


# ---------------------------------------------------------------- references and entity names (lead lines)

ANAPHOR_CASES = [(a.name, ex, True) for a in RULES.anaphors for ex in a.examples] + \
                [(a.name, ex, False) for a in RULES.anaphors for ex in a.not_examples]
REFERENT_CASES = [(a.name, ex, True) for a in RULES.anaphors for ex in a.referent_examples] + \
                 [(a.name, ex, False) for a in RULES.anaphors for ex in a.referent_not_examples]


@pytest.mark.parametrize("name,text,matches", ANAPHOR_CASES)
def test_anaphor_examples(name, text, matches):
    """A reference is recognised at the start of a unit only (a name before it in the same unit resolves it)."""
    a = next(a for a in RULES.anaphors if a.name == name)
    assert bool(a.pattern.match(text)) == matches


@pytest.mark.parametrize("name,text,names", REFERENT_CASES)
def test_anaphor_referent_examples(name, text, names):
    a = next(a for a in RULES.anaphors if a.name == name)
    assert bool(a.referent.search(text)) == names


@pytest.mark.parametrize("kind,text,name", [(k, t, n) for k, exs in RULES.entity_name_examples.items() for t, n in exs])
def test_entity_name_examples(kind, text, name):
    """The pattern finds the name with the words that introduce it ("例如", "成立于……的") trimmed."""
    found = [m.group()[RULES.entity_name_trim.match(m.group()).end():] for m in RULES.entity_names[kind].finditer(text)]
    assert name in found


@pytest.mark.parametrize("name,question,matches", [(r.name, ex, True) for r in RULES.entity_slots for ex in r.examples]
                         + [(r.name, ex, False) for r in RULES.entity_slots for ex in r.not_examples])
def test_entity_slot_examples(name, question, matches):
    """The first matching [[entity_slot]] rule decides, as for answer types."""
    from assistant.answer.slots import asked_kind

    assert (asked_kind(question) == name) == matches


def test_every_reference_rule_has_examples():
    assert all(a.examples and a.not_examples and a.referent_examples for a in RULES.anaphors)
    assert all(r.examples for r in RULES.entity_slots)
    assert set(RULES.entity_name_examples) <= set(RULES.entity_names)
