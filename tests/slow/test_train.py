"""`assistant train` reproduces the shipped confidence model from the bank and the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from assistant.answer.confidence import MODEL_PATH, load


def test_training_reproduces_the_shipped_model(index, tmp_path):
    # its own process, as a maintainer runs it: jieba's dictionary is process-global, and other tests
    # add the company names of their own small corpora to it
    exe = Path(sys.executable).parent / "assistant"
    out = tmp_path / "confidence.json"
    run = subprocess.run([str(exe), "train", "--out", str(out)], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    shipped = json.loads(MODEL_PATH.read_text("utf-8"))
    again = json.loads(out.read_text("utf-8"))
    assert again["features"] == shipped["features"]
    np.testing.assert_allclose(again["coef"], shipped["coef"], atol=1e-6)
    np.testing.assert_allclose(again["intercept"], shipped["intercept"], atol=1e-6)
    assert again["threshold"] == shipped["threshold"]
    assert {k: v for k, v in again["provenance"].items() if k != "date"} == \
           {k: v for k, v in shipped["provenance"].items() if k != "date"}
    assert load(out).threshold == shipped["threshold"]
