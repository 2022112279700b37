"""The store and insights tests (tests/unit/test_store.py, test_insights.py) against a real PostgreSQL
server; several writer processes on one store (PostgreSQL and a SQLite file)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from _postgres import postgres_database
from assistant.store import Store

SQLITE_ONLY = {"test_unusable_database_is_one_chinese_line", "test_default_store_is_outside_the_source_tree",
               "test_empty_store_and_page", "test_cli_insights", "test_insights_panel_builds_and_refreshes",
               "test_lazy_store_retries_a_database_that_was_down"}


def _unit_tests(name: str):
    spec = importlib.util.spec_from_file_location(f"pg_{name}", Path(__file__).parents[1] / "unit" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_contract = _unit_tests("test_store")
# The store and insights tests run here too, with the fixture below (the SQLite-only ones are left out).
for _module in (_contract, _unit_tests("test_insights")):
    globals().update({k: v for k, v in vars(_module).items() if k.startswith("test_") and k not in SQLITE_ONLY})


@pytest.fixture(scope="module")
def database_url():
    with postgres_database() as url:
        yield url


@pytest.fixture
def store(database_url):
    s = Store(database_url)
    assert s.dialect == "postgresql"
    yield s
    with s.engine.begin() as c:  # each test starts from empty tables
        c.exec_driver_sql("TRUNCATE votes, turns")
    s.close()


def test_several_processes_share_the_store(store):
    _contract.several_processes_share(store)


def test_several_processes_share_a_sqlite_store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    _contract.several_processes_share(s)
    s.close()


def test_unreachable_server_is_one_chinese_line():
    from assistant.store import StoreError

    with pytest.raises(StoreError) as e:
        Store("postgresql+psycopg://nobody:x@127.0.0.1:1/none?connect_timeout=2")
    assert str(e.value).startswith("无法打开数据库") and "\n" not in str(e.value)
