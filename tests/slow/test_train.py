"""`assistant train` reproduces the shipped confidence model from the bank and the code."""

from __future__ import annotations

import json

import numpy as np

from assistant.answer.confidence import MODEL_PATH, load
from assistant.devtools.train import train


def test_training_reproduces_the_shipped_model(index, tmp_path):
    shipped = json.loads(MODEL_PATH.read_text("utf-8"))
    model = train(index, tmp_path / "confidence.json", log=lambda m: None)
    again = json.loads((tmp_path / "confidence.json").read_text("utf-8"))
    assert again["features"] == shipped["features"]
    np.testing.assert_allclose(again["coef"], shipped["coef"], atol=1e-6)
    np.testing.assert_allclose(again["intercept"], shipped["intercept"], atol=1e-6)
    assert again["threshold"] == shipped["threshold"]
    assert {k: v for k, v in again["provenance"].items() if k != "date"} == \
           {k: v for k, v in shipped["provenance"].items() if k != "date"}
    assert model.threshold == load(tmp_path / "confidence.json").threshold
