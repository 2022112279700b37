"""The confidence model's arithmetic and the threshold choice (no index, no model training)."""

from __future__ import annotations

import math

import pytest

from assistant.answer.confidence import ModelError, from_json, load
from assistant.answer.evidence import FEATURES, Candidate
from assistant.devtools.train import choose_threshold


def _model(coef: dict[str, float], intercept: float = 0.0):
    feats = list(FEATURES)
    return from_json({"features": feats, "mean": [0.0] * len(feats), "scale": [1.0] * len(feats),
                      "coef": [coef.get(f, 0.0) for f in feats], "intercept": intercept, "threshold": 0.5})


def _cand(**values) -> Candidate:
    return Candidate(unit=None, features={f: values.get(f, 0.0) for f in FEATURES})


def test_probability_is_the_logistic_of_the_weighted_features():
    m = _model({"dense": 2.0, "lexical": -1.0}, intercept=0.5)
    p = m.probabilities([_cand(dense=1.0, lexical=0.5)])[0]
    assert p == pytest.approx(1 / (1 + math.exp(-(2.0 - 0.5 + 0.5))))


def test_score_orders_candidates_best_first():
    m = _model({"dense": 1.0})
    ranked = m.score([_cand(dense=0.1), _cand(dense=0.9), _cand(dense=0.5)])
    assert [round(c.features["dense"], 1) for c in ranked] == [0.9, 0.5, 0.1]
    assert ranked[0].p > ranked[1].p > ranked[2].p


def test_model_with_unknown_features_is_refused():
    with pytest.raises(ModelError):
        from_json({"features": ["no_such_feature"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0, "threshold": 0.5})


def test_shipped_model_loads_with_provenance():
    m = load()
    assert set(m.features) <= set(FEATURES)
    assert 0.0 < m.threshold < 1.0
    assert m.provenance["command"] == "assistant train" and m.provenance["train_files"]


def test_threshold_respects_the_false_refusal_cap():
    confs = [0.9, 0.8, 0.3, 0.2, 0.6, 0.1]
    answerable = [True, True, True, True, False, False]
    correct = [True, True, False, True, False, False]
    t, m = choose_threshold(confs, answerable, correct, max_false_refusal=0.25)
    assert m["false_refusal_rate"] <= 0.25
    assert t == 0.2  # refusing below 0.2 drops no answerable question and catches one unanswerable
