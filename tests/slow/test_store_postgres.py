"""The store's tests (tests/unit/test_store.py) against a real PostgreSQL server; several writer
processes on one store (PostgreSQL and a SQLite file)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from _postgres import postgres_database
from assistant.store import Store

_spec = importlib.util.spec_from_file_location("store_contract", Path(__file__).parents[1] / "unit" / "test_store.py")
_contract = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_contract)
# Every store test runs here too, with the fixture below (the SQLite-only ones are left out).
globals().update({k: v for k, v in vars(_contract).items()
                  if k.startswith("test_") and k not in ("test_unusable_database_is_one_chinese_line",
                                                         "test_default_store_is_outside_the_source_tree")})


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
