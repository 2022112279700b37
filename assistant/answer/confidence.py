"""The learned confidence: gradient-boosted trees over the evidence features of a candidate unit.

It is trained by `assistant train` (devtools/train.py) on the train split of the question bank:
a candidate is positive when it holds the answer (overlaps the reference evidence or contains every
required string). The same probability ranks the candidates and decides the refusal: the best
candidate below the threshold (chosen on the dev split) means the handbook does not answer. A question that
follows an answer has its own threshold, chosen on the dev split's follow-up turns for turn accuracy.
Trees rather than one weighted sum because evidence interacts: a high dense score means little when
the asked place is missing, and an earlier writer's near-identical question means much. On the dev
split, trees refused more unanswerable questions than the logistic model at the same false-refusal cap.
The model file is plain JSON (every node of every tree) with its provenance, read once per process and
evaluated with numpy: no scikit-learn at run time.
A veto is a feature that rules a candidate out whatever the trees say (p = 0): one so rare among the
positives that trees with large leaves never isolate it, such as a sentence dated to another year than
the asked one. train.py names the vetoes and records how many training positives each would have lost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .evidence import FEATURES, Candidate

MODEL_PATH = Path(__file__).parent / "data" / "confidence.json"
NODE_FIELDS = ("feature", "threshold", "left", "right", "leaf", "value")  # one node, as stored


class ModelError(RuntimeError):
    """The model file is missing, unreadable or made for other features."""


@dataclass(frozen=True)
class Forest:
    """Every tree's nodes in flat arrays; children are absolute node indices. A row goes left when its
    feature value is <= the node's threshold; its score is the sum of the leaves it reaches."""

    feature: np.ndarray  # int
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray  # bool
    value: np.ndarray  # a leaf's share of the score (learning rate applied)
    roots: np.ndarray  # the first node of each tree

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The summed leaf values for each row of x (all trees walked at once, level by level)."""
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        while True:
            inner = ~self.leaf[node]
            if not inner.any():
                return self.value[node].sum(axis=1)
            go_left = x[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)

    def to_json(self) -> list[list[list]]:
        trees, bounds = [], list(self.roots) + [len(self.feature)]
        for a, b in zip(bounds, bounds[1:]):
            trees.append([[int(self.feature[i]), float(self.threshold[i]), int(self.left[i] - a), int(self.right[i] - a),
                           int(self.leaf[i]), float(self.value[i])] for i in range(a, b)])
        return trees


def forest(trees: list[list[list]]) -> Forest:
    """Trees as stored (children relative to their tree) -> one flat Forest."""
    nodes, roots = [], []
    for t in trees:
        roots.append(len(nodes))
        nodes += [(f, th, l + roots[-1], r + roots[-1], bool(leaf), v) for f, th, l, r, leaf, v in t]
    cols = list(zip(*nodes)) if nodes else [()] * len(NODE_FIELDS)
    return Forest(np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.float64),
                  np.array(cols[2], dtype=np.int64), np.array(cols[3], dtype=np.int64),
                  np.array(cols[4], dtype=bool), np.array(cols[5], dtype=np.float64), np.array(roots, dtype=np.int64))


@dataclass(frozen=True)
class ConfidenceModel:
    features: tuple[str, ...]
    trees: Forest
    baseline: float  # the score before any tree (log-odds of a positive in training)
    reference: np.ndarray  # each feature's training mean: what a contribution is measured against
    threshold: float
    provenance: dict
    vetoes: tuple[str, ...] = ()  # features that, at 1, rule a candidate out
    follow_up_threshold: float | None = None  # for a question that follows an answer (None: `threshold`)

    def matrix(self, cands: list[Candidate]) -> np.ndarray:
        return np.array([[c.features[n] for n in self.features] for c in cands], dtype=np.float64)

    def probabilities(self, cands: list[Candidate]) -> np.ndarray:
        if not cands:
            return np.zeros(0)
        x = self.matrix(cands)
        p = _sigmoid(self.trees.raw(x) + self.baseline)
        for name in self.vetoes:
            p[x[:, self.features.index(name)] >= 1.0] = 0.0
        return p

    def vetoed_by(self, c: Candidate) -> str | None:
        return next((n for n in self.vetoes if c.features.get(n, 0.0) >= 1.0), None)

    def score(self, cands: list[Candidate]) -> list[Candidate]:
        """Set each candidate's p and return them best first."""
        for c, p in zip(cands, self.probabilities(cands)):
            c.p = float(p)
        return sorted(cands, key=lambda c: -c.p)

    def contributions(self, c: Candidate, top: int = 4) -> list[tuple[str, float]]:
        """The features that moved this candidate's score most (for eval reports): how much the
        log-odds drop when one feature is set back to its training mean. A veto is named first."""
        veto = self.vetoed_by(c)
        if veto:
            return [(f"veto:{veto}", -30.0)]  # the clipped log-odds of p = 0
        x = self.matrix([c])
        probes = np.repeat(x, len(self.features), axis=0)
        probes[np.arange(len(self.features)), np.arange(len(self.features))] = self.reference
        terms = self.trees.raw(x)[0] - self.trees.raw(probes)
        order = np.argsort(-np.abs(terms))[:top]
        return [(self.features[i], round(float(terms[i]), 2)) for i in order]

    def to_json(self) -> dict:
        return {"kind": "boosted_trees", "features": list(self.features), "baseline": float(self.baseline),
                "reference": [round(float(v), 8) for v in self.reference], "threshold": round(float(self.threshold), 6),
                **({"follow_up_threshold": round(float(self.follow_up_threshold), 6)} if self.follow_up_threshold is not None else {}),
                "vetoes": list(self.vetoes), "provenance": self.provenance, "trees": self.trees.to_json()}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def from_json(d: dict) -> ConfidenceModel:
    feats = tuple(d["features"])
    if set(feats) - set(FEATURES):
        raise ModelError(f"置信度模型使用了未知的特征：{sorted(set(feats) - set(FEATURES))[:3]}；请运行 assistant train")
    if d.get("kind") != "boosted_trees":
        raise ModelError("置信度模型的格式已过时；请运行 assistant train")
    vetoes = tuple(d.get("vetoes", ()))
    if set(vetoes) - set(feats):
        raise ModelError(f"置信度模型的否决特征不在特征表中：{sorted(set(vetoes) - set(feats))[:3]}；请运行 assistant train")
    trees = forest(d["trees"])
    if len(trees.feature) and (trees.feature.min() < 0 or trees.feature.max() >= len(feats)):
        raise ModelError("置信度模型的树引用了不存在的特征；请运行 assistant train")
    return ConfidenceModel(feats, trees, float(d["baseline"]), np.array(d["reference"], dtype=np.float64),
                           float(d["threshold"]), dict(d.get("provenance", {})), vetoes,
                           float(d["follow_up_threshold"]) if "follow_up_threshold" in d else None)


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> ConfidenceModel:
    try:
        return from_json(json.loads(Path(path).read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"无法读取置信度模型 {path}（{type(e).__name__}）：请运行 assistant train") from e


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
