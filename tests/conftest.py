"""Shared fixtures: the real handbook, the real embedder, the real index (built once per session)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

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
