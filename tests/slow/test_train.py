"""`assistant train` reproduces the shipped confidence model from the bank and the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
    assert again["baseline"] == pytest.approx(shipped["baseline"], abs=1e-9)
    assert len(again["trees"]) == len(shipped["trees"])
    for a, b in zip(again["trees"], shipped["trees"]):
        shape = lambda tree: [(n[0], n[2], n[3], n[4]) for n in tree]  # noqa: E731 (feature, left, right, leaf)
        assert shape(a) == shape(b)
        np.testing.assert_allclose([n[1] for n in a] + [n[5] for n in a], [n[1] for n in b] + [n[5] for n in b], atol=1e-9)
    assert again["threshold"] == shipped["threshold"]
    assert again["follow_up_threshold"] == shipped["follow_up_threshold"]
    assert {k: v for k, v in again["provenance"].items() if k != "date"} == \
           {k: v for k, v in shipped["provenance"].items() if k != "date"}
    assert load(out).threshold == shipped["threshold"]


def test_doc2query_store_is_reproduced(index, tmp_path):
    from assistant.answer import doc2query

    exe = Path(sys.executable).parent / "assistant"
    out = tmp_path / "doc2query.npz"
    run = subprocess.run([str(exe), "doc2query", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    shipped, again = doc2query.load(index.cfg.doc2query), doc2query.load(out)
    assert again.writers == shipped.writers and again.questions == shipped.questions
    assert again.evidence == shipped.evidence and again.must_contain == shipped.must_contain
    assert (again.answerable == shipped.answerable).all()
    np.testing.assert_allclose(again.vecs, shipped.vecs, atol=2e-3)  # float16 storage
    assert {k: v for k, v in again.provenance.items() if k != "date"} == \
           {k: v for k, v in shipped.provenance.items() if k != "date"}
