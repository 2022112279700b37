"""The confidence model's tree arithmetic and the threshold choice (no index, no model training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.answer.confidence import ModelError, from_json, load
from assistant.answer.evidence import FEATURES, Candidate
from assistant.devtools.train import choose_balanced_threshold, choose_threshold


def _model(trees: list, baseline: float = 0.0, threshold: float = 0.5, vetoes: tuple = ()):
    feats = list(FEATURES)
    return from_json({"kind": "boosted_trees", "features": feats, "baseline": baseline, "reference": [0.0] * len(feats),
                      "threshold": threshold, "trees": trees, "vetoes": list(vetoes)})


def _stump(feature: str, threshold: float, left: float, right: float) -> list:
    """One split: rows with feature <= threshold get `left`, the others `right` (children relative)."""
    return [[FEATURES.index(feature), threshold, 1, 2, 0, 0.0], [0, 0.0, 0, 0, 1, left], [0, 0.0, 0, 0, 1, right]]


def _cand(**values) -> Candidate:
    return Candidate(unit=None, features={f: values.get(f, 0.0) for f in FEATURES})


def test_probability_is_the_logistic_of_the_summed_leaves():
    m = _model([_stump("dense", 0.5, -1.0, 2.0), _stump("lexical", 0.3, 0.25, -0.5)], baseline=0.5)
    p = m.probabilities([_cand(dense=0.9, lexical=0.1), _cand(dense=0.2, lexical=0.8)])
    assert p[0] == pytest.approx(1 / (1 + math.exp(-(0.5 + 2.0 + 0.25))))
    assert p[1] == pytest.approx(1 / (1 + math.exp(-(0.5 - 1.0 - 0.5))))


def test_deeper_trees_walk_to_their_leaves():
    # dense <= 0.5 ? (lexical <= 0.3 ? -2 : 1) : 3
    tree = [[FEATURES.index("dense"), 0.5, 1, 4, 0, 0.0], [FEATURES.index("lexical"), 0.3, 2, 3, 0, 0.0],
            [0, 0.0, 0, 0, 1, -2.0], [0, 0.0, 0, 0, 1, 1.0], [0, 0.0, 0, 0, 1, 3.0]]
    m = _model([tree, _stump("dense", 10.0, 0.0, 0.0)])
    raw = np.log(m.probabilities([_cand(dense=0.1, lexical=0.1), _cand(dense=0.1, lexical=0.9), _cand(dense=0.6)]))
    raw -= np.log1p(-np.exp(raw))
    np.testing.assert_allclose(raw, [-2.0, 1.0, 3.0], atol=1e-9)


def test_score_orders_candidates_best_first():
    m = _model([_stump("dense", 0.3, -1.0, 0.0), _stump("dense", 0.7, 0.0, 1.0)])
    ranked = m.score([_cand(dense=0.1), _cand(dense=0.9), _cand(dense=0.5)])
    assert [round(c.features["dense"], 1) for c in ranked] == [0.9, 0.5, 0.1]
    assert ranked[0].p > ranked[1].p > ranked[2].p


def test_contributions_name_the_feature_that_moved_the_score():
    m = _model([_stump("dense", 0.5, -1.0, 2.0), _stump("lexical", 0.3, 0.0, 0.1)])
    top = m.contributions(_cand(dense=0.9, lexical=0.9), top=2)
    assert top[0] == ("dense", 3.0)  # back at its reference (0.0) the row would lose 2 and gain -1


def test_a_veto_rules_a_candidate_out_whatever_the_trees_say():
    m = _model([_stump("dense", 0.5, -1.0, 5.0)], vetoes=("year_conflict",))
    p = m.probabilities([_cand(dense=0.9, year_conflict=1.0), _cand(dense=0.9)])
    assert p[0] == 0.0 and p[1] > 0.99
    assert m.contributions(_cand(dense=0.9, year_conflict=1.0))[0][0] == "veto:year_conflict"


def test_a_veto_on_an_unknown_feature_is_refused():
    with pytest.raises(ModelError, match="assistant train"):
        _model([], vetoes=("no_such_feature",))


def test_model_with_unknown_features_is_refused():
    with pytest.raises(ModelError):
        from_json({"kind": "boosted_trees", "features": ["no_such_feature"], "baseline": 0, "reference": [0],
                   "threshold": 0.5, "trees": []})


def test_model_in_the_old_format_is_refused_with_a_hint():
    with pytest.raises(ModelError, match="assistant train"):
        from_json({"features": ["dense"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0, "threshold": 0.5})


def test_tree_pointing_at_a_missing_feature_is_refused():
    with pytest.raises(ModelError):
        _model([[[len(FEATURES), 0.5, 1, 2, 0, 0.0], [0, 0, 0, 0, 1, 1.0], [0, 0, 0, 0, 1, 0.0]]])


def test_shipped_model_loads_with_provenance():
    m = load()
    assert set(m.features) <= set(FEATURES)
    assert 0.0 < m.threshold < 1.0
    assert m.provenance["command"] == "assistant train" and m.provenance["train_files"]
    # every veto records what it cost in training: almost no candidate that held the answer
    for name in m.vetoes:
        cost = m.provenance["vetoes"][name]
        assert cost["positives"] <= 0.005 * m.provenance["positives"] and cost["candidates"] > 100


def test_shipped_model_never_gains_confidence_from_evidence_against():
    """Trained with monotonic constraints (devtools/train.py): a gate that holds never lowers p, a sign the
    sentence answers something else never raises it, whatever the other features are."""
    from assistant.devtools.train import monotonic

    m = load()
    assert m.provenance["monotonic"] == {n: d for n, d in zip(FEATURES, monotonic()) if d}
    rng = np.random.default_rng(0)
    rows = [_cand(**dict(zip(FEATURES, rng.random(len(FEATURES))))) for _ in range(60)]
    for name, direction in m.provenance["monotonic"].items():
        for c in rows:
            low, high = (Candidate(None, {**c.features, name: v}) for v in (0.0, 1.0))
            p_low, p_high = m.probabilities([low, high])
            assert direction * (p_high - p_low) >= -1e-12, (name, p_low, p_high)


def test_threshold_respects_the_false_refusal_cap():
    confs = [0.9, 0.8, 0.3, 0.2, 0.6, 0.1]
    answerable = [True, True, True, True, False, False]
    correct = [True, True, False, True, False, False]
    t, m = choose_threshold(confs, answerable, correct, max_false_refusal=0.25)
    assert m["false_refusal_rate"] <= 0.25
    assert t == 0.2  # refusing below 0.2 drops no answerable question and catches one unanswerable


def test_the_follow_up_threshold_balances_answers_and_refusals():
    confs = [0.9, 0.8, 0.7, 0.3, 0.5]
    answerable = [True, True, True, True, False]
    correct = [True, True, True, True, False]
    t, m = choose_balanced_threshold(confs, answerable, correct)
    # answering everything is right 4 turns in 5 here, but refuses no unanswerable: wrong for a user whose
    # follow-ups the handbook mostly cannot answer. Refusing below 0.7 answers 3 of 4 and refuses the 1.
    assert t == 0.7
    assert m == {"answer_accuracy": 0.75, "refusal_rate": 1.0, "turn_accuracy": 0.8, "turns": 5}


def test_hard_negatives_are_the_best_scoring_candidates_of_each_unanswerable_question():
    from assistant.devtools.train import TrainingRows, hard_negative_weights

    # question 1 (unanswerable): four candidates; question 2 (answerable): untouched; question 3: its only one
    rows = TrainingRows(x=np.zeros((7, 1)), y=np.array([0, 0, 0, 0, 1, 0, 0]),
                        weights=np.array([2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 2.0]), question=np.array([1, 1, 1, 1, 2, 2, 3]),
                        unanswerable=np.array([True, True, True, True, False, False, True]))
    p = np.array([0.1, 0.9, 0.5, 0.7, 0.8, 0.9, 0.2])
    assert hard_negative_weights(p, rows, per_question=2, weight=3.0).tolist() == [2.0, 6.0, 2.0, 6.0, 1.0, 1.0, 6.0]
    assert rows.weights.tolist() == [2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 2.0]  # a copy: the first fit's weights are kept
