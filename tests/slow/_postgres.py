"""A real PostgreSQL server for the tests: started if it is installed but down, with a database of
our own created for each use and dropped after. ASSISTANT_TEST_POSTGRES_URL (an admin URL, e.g.
postgresql+psycopg://postgres:pw@host/postgres) points the tests at another server instead."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROLE, PASSWORD = "xiaojuren_test", "xiaojuren_test_pw"


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _local_cluster() -> int:
    """Start the local Debian cluster if needed and return its port, or skip saying why not."""
    if not shutil.which("pg_lsclusters"):
        pytest.skip("PostgreSQL 未安装（apt-get install -y postgresql）：跳过 PostgreSQL 测试")
    lines = [l.split() for l in _run(["pg_lsclusters", "--no-header"]).stdout.splitlines() if l.strip()]
    if not lines:
        pytest.skip("没有 PostgreSQL 集群（pg_createcluster 15 main）：跳过 PostgreSQL 测试")
    version, name, port, status = lines[0][:4]
    if status != "online":
        r = _run(["pg_ctlcluster", version, name, "start"])
        if r.returncode != 0 and "already running" not in r.stderr:
            pytest.skip(f"无法启动 PostgreSQL {version}/{name}：{r.stderr.strip()[:200]}")
    return int(port)


def _psql(sql: str) -> None:
    r = _run(["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-qc", sql])
    if r.returncode != 0 and "already exists" not in r.stderr:
        pytest.skip(f"无法在 PostgreSQL 中建测试库：{r.stderr.strip()[:200]}")


@contextlib.contextmanager
def postgres_database():
    """Yield the URL of a fresh database (owned by a test role) on a real server; drop it after."""
    name = f"xjr_test_{uuid.uuid4().hex[:10]}"
    admin = os.environ.get("ASSISTANT_TEST_POSTGRES_URL")
    if admin:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield str(make_url(admin).set(database=name).render_as_string(hide_password=False))
        finally:
            with engine.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()
        return
    port = _local_cluster()
    _psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    _psql(f"CREATE DATABASE {name} OWNER {ROLE}")
    try:
        yield f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{name}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
