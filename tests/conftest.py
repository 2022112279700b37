"""Shared fixtures: the real handbook, the real embedder, the real index (built once per session)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# The suite runs as two xdist workers on two cores, and the embedder's OpenMP pool takes every core in each:
# two pools spinning on two cores halve the throughput (150 dev questions, two processes at once: 41 s each with
# the default, 20 s with one thread). Set before the engine loads; servers and `assistant train` inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from assistant import get_index
from assistant.config import ROOT, Config


def pytest_collection_modifyitems(items):
    """Tiers by folder: tests/unit (no index, seconds), tests/integration (the index), tests/slow."""
    for item in items:
        parts = item.path.parts
        for tier in ("integration", "slow"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def config() -> Config:
    return Config()


@pytest.fixture(scope="session")
def index(config):
    """The project's own index/ (built on first use, reused after): same as the CLI and UI use."""
    return get_index(config)


@pytest.fixture(scope="session")
def handbook_text() -> str:
    return (ROOT / "corpus" / "handbook.txt").read_text("utf-8")
