"""Measures shared by eval, tuning and bench: retrieval rank metrics and latency percentiles."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..retrieval import Hit
from ..types import Span

RETRIEVE_K = 10  # mrr@10: ranks beyond this count as misses


def first_hit(hits: list[Hit], spans: list[Span]) -> int | None:
    """Rank of the first retrieved chunk that overlaps an evidence span."""
    return next((h.rank for h in hits if any(s.overlaps(h.chunk.doc, h.chunk.start, h.chunk.end) for s in spans)), None)


def share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def rank_metrics(ranks: Sequence[int | None]) -> dict[str, float | None]:
    """hit@1, hit@5 and mrr@10 over the first-hit ranks of answerable questions (None: no hit)."""
    return {
        "hit@1": share([k == 1 for k in ranks]),
        "hit@5": share([k is not None and k <= 5 for k in ranks]),
        "mrr@10": sum(1 / k for k in ranks if k is not None and k <= RETRIEVE_K) / len(ranks) if ranks else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95)}
