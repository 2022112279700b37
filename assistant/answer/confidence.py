"""The learned confidence: a logistic model over the evidence features of a candidate unit.

It is trained by `assistant train` (devtools/train.py) on the train split of the question bank:
a candidate is positive when it holds the answer (overlaps the reference evidence or contains every
required string). The same probability ranks the candidates and decides the refusal: the best
candidate below the threshold (chosen on the dev split) means the handbook does not answer.
The model file is plain JSON with its provenance, read once per process.
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


class ModelError(RuntimeError):
    """The model file is missing, unreadable or made for other features."""


@dataclass(frozen=True)
class ConfidenceModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    provenance: dict

    def probabilities(self, cands: list[Candidate]) -> np.ndarray:
        if not cands:
            return np.zeros(0)
        x = np.array([[c.features[n] for n in self.features] for c in cands], dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def score(self, cands: list[Candidate]) -> list[Candidate]:
        """Set each candidate's p and return them best first."""
        for c, p in zip(cands, self.probabilities(cands)):
            c.p = float(p)
        return sorted(cands, key=lambda c: -c.p)

    def contributions(self, c: Candidate, top: int = 4) -> list[tuple[str, float]]:
        """The features that moved this candidate's score most (for eval reports)."""
        x = np.array([c.features[n] for n in self.features])
        terms = ((x - self.mean) / self.scale) * self.coef
        order = np.argsort(-np.abs(terms))[:top]
        return [(self.features[i], round(float(terms[i]), 2)) for i in order]

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": [round(float(v), 8) for v in self.mean],
                "scale": [round(float(v), 8) for v in self.scale], "coef": [round(float(v), 8) for v in self.coef],
                "intercept": round(float(self.intercept), 8), "threshold": round(float(self.threshold), 6),
                "provenance": self.provenance}


def from_json(d: dict) -> ConfidenceModel:
    feats = tuple(d["features"])
    if set(feats) - set(FEATURES):
        raise ModelError(f"置信度模型使用了未知的特征：{sorted(set(feats) - set(FEATURES))[:3]}；请运行 assistant train")
    arr = lambda k: np.array(d[k], dtype=np.float64)  # noqa: E731
    scale = arr("scale")
    scale[scale == 0] = 1.0
    return ConfidenceModel(feats, arr("mean"), scale, arr("coef"), float(d["intercept"]), float(d["threshold"]),
                           dict(d.get("provenance", {})))


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> ConfidenceModel:
    try:
        return from_json(json.loads(Path(path).read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"无法读取置信度模型 {path}（{type(e).__name__}）：请运行 assistant train") from e


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
