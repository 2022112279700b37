"""Conversations and feedback in a real database (SQLAlchemy 2): SQLite by default, PostgreSQL by URL.

    store = Store.open(cfg)               # cfg.store_url: ASSISTANT_DATABASE_URL or a SQLite file in cfg.data_dir
    turn_id = store.record_turn(TurnRecord(session="s1", question=..., answer=..., ...))
    store.vote(turn_id, "s1", "down")     # one vote per answered turn, changeable, only by its own session

Every write is one transaction; a call that returns has committed (an acknowledged vote survives a
killed worker). Database failures and refused writes raise StoreError with a one-line Chinese message.
Several processes may share one store: SQLite runs in WAL mode with a busy timeout, PostgreSQL pools.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, Text, create_engine,
                        event, select)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from .config import Config

QUESTION_CHARS = 500  # a question is stored as an excerpt: enough to group and read it, bounded
ANSWER_CHARS = 8000
SESSION_CHARS = 64
MAX_CITATIONS = 50
QUOTE_CHARS = 1000
VOTES = ("up", "down")
SESSION_ID = re.compile(r"^[\w.:@-]{1,%d}$" % SESSION_CHARS)


class StoreError(Exception):
    """A write that was refused or a database that failed; str(e) is one Chinese line for the user."""


class Base(DeclarativeBase):
    pass


class TurnRow(Base):
    __tablename__ = "turns"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session: Mapped[str] = mapped_column(String(SESSION_CHARS), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")  # "api" or "web"
    question: Mapped[str] = mapped_column(String(QUESTION_CHARS))
    rewritten: Mapped[str | None] = mapped_column(String(QUESTION_CHARS), nullable=True)
    answer: Mapped[str] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(Boolean, index=True)
    citations: Mapped[str] = mapped_column(Text)  # JSON list of {n, doc, start, end, section, quote}
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class VoteRow(Base):
    __tablename__ = "votes"
    __table_args__ = (CheckConstraint("vote in ('up', 'down')", name="vote_value"),)
    turn_id: Mapped[str] = mapped_column(String(32), ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    session: Mapped[str] = mapped_column(String(SESSION_CHARS), index=True)
    vote: Mapped[str] = mapped_column(String(4))
    changes: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass
class TurnRecord:
    """One answered turn, as the API or the chat page hands it to the store."""
    session: str
    question: str
    answer: str
    refused: bool
    citations: list[dict] = field(default_factory=list)
    rewritten: str | None = None
    latency_ms: float = 0.0
    channel: str = "api"
    created_at: datetime | None = None  # now, unless given (imports, tests of insights over time)


@dataclass
class Vote:
    turn_id: str
    session: str
    vote: str
    changes: int
    updated_at: datetime


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_session_id() -> str:
    return uuid.uuid4().hex


def check_session(session) -> str:
    if not isinstance(session, str) or not SESSION_ID.match(session):
        raise StoreError(f"会话标识无效：只能包含字母、数字和 ._:@-，长度 1–{SESSION_CHARS}。")
    return session


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _bounded_citations(citations: list[dict]) -> str:
    keep = []
    for c in list(citations or [])[:MAX_CITATIONS]:
        c = dict(c)
        c["quote"] = _excerpt(c.get("quote", ""), QUOTE_CHARS)
        keep.append(c)
    return json.dumps(keep, ensure_ascii=False)


def _one_line(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL: readers never block the writer and several worker processes can share the file;
    # busy_timeout: a writer waits for the lock instead of failing at once. The driver's own
    # transaction handling is switched off so that _sqlite_begin decides how a transaction starts.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction (a vote) started as a reader would
    # fail with "database is locked" when another process commits first, instead of waiting.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError:
        raise StoreError("数据库地址无效：请检查 ASSISTANT_DATABASE_URL。") from None
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            try:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"无法创建数据目录 {Path(u.database).parent}：{e.strerror or e}") from None
        engine = create_engine(u, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("psycopg2", "psycopg2cffi", "default"):
        u = u.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    try:
        return create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except Exception as e:  # a missing driver or a malformed option
        raise StoreError(f"无法连接数据库：{_one_line(e)}") from None


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as e:
            self.engine.dispose()
            raise StoreError(f"无法打开数据库：{_one_line(e)}") from None

    @classmethod
    def open(cls, cfg: Config) -> "Store":
        return cls(cfg.store_url)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _write(self, work):
        """Run work(session) in one transaction; any database failure becomes a StoreError."""
        try:
            with Session(self.engine) as s, s.begin():
                return work(s)
        except StoreError:
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"数据库写入失败：{_one_line(e)}") from None

    def record_turn(self, t: TurnRecord) -> str:
        """Store an answered turn; returns its id (the handle for a vote)."""
        check_session(t.session)
        turn_id = uuid.uuid4().hex
        row = TurnRow(id=turn_id, session=t.session, channel=_excerpt(t.channel, 16) or "api",
                      question=_excerpt(t.question, QUESTION_CHARS) or "", rewritten=_excerpt(t.rewritten, QUESTION_CHARS),
                      answer=_excerpt(t.answer, ANSWER_CHARS) or "", refused=bool(t.refused),
                      citations=_bounded_citations(t.citations), latency_ms=float(t.latency_ms),
                      created_at=t.created_at or now())
        self._write(lambda s: s.add(row))
        return turn_id

    def vote(self, turn_id: str, session: str, vote: str) -> Vote:
        """Set (or change) the vote on a turn of this session; a turn of another session is refused."""
        check_session(session)
        if vote not in VOTES:
            raise StoreError("反馈无效：只能是 up（👍）或 down（👎）。")
        if not isinstance(turn_id, str) or not re.fullmatch(r"[0-9a-f]{32}", turn_id):
            raise StoreError("没有这条回答：回答编号无效。")

        def work(s: Session) -> Vote:
            turn = s.get(TurnRow, turn_id)
            if turn is None:
                raise StoreError("没有这条回答：可能已被删除或编号有误。")
            if turn.session != session:
                raise StoreError("不能评价其他会话中的回答。")
            # row lock (PostgreSQL) so that two concurrent changes of one vote serialize
            row = s.execute(select(VoteRow).where(VoteRow.turn_id == turn_id).with_for_update()).scalar_one_or_none()
            if row is None:
                row = VoteRow(turn_id=turn_id, session=session, vote=vote, changes=0, updated_at=now())
                s.add(row)
            elif row.vote != vote:
                row.vote, row.changes, row.updated_at = vote, row.changes + 1, now()
            s.flush()
            return Vote(row.turn_id, row.session, row.vote, row.changes, row.updated_at)

        try:
            return self._write(work)
        except StoreError as e:
            if "UNIQUE" in str(e) or "duplicate key" in str(e):  # the same vote raced in from two requests
                return self._write(work)
            raise

    def turn(self, turn_id: str) -> dict | None:
        with Session(self.engine) as s:
            row = s.get(TurnRow, turn_id)
            return _turn_dict(row) if row else None

    def turns(self, session: str | None = None, limit: int = 1000) -> list[dict]:
        """The latest turns (of one session, or all), newest first."""
        q = select(TurnRow).order_by(TurnRow.created_at.desc()).limit(limit)
        if session is not None:
            q = q.where(TurnRow.session == session)
        try:
            with Session(self.engine) as s:
                return [_turn_dict(r) for r in s.scalars(q)]
        except SQLAlchemyError as e:
            raise StoreError(f"数据库读取失败：{_one_line(e)}") from None

    def votes(self, session: str | None = None) -> list[Vote]:
        q = select(VoteRow).order_by(VoteRow.updated_at)
        if session is not None:
            q = q.where(VoteRow.session == session)
        try:
            with Session(self.engine) as s:
                return [Vote(r.turn_id, r.session, r.vote, r.changes, r.updated_at) for r in s.scalars(q)]
        except SQLAlchemyError as e:
            raise StoreError(f"数据库读取失败：{_one_line(e)}") from None


def _turn_dict(r: TurnRow) -> dict:
    return {"id": r.id, "session": r.session, "channel": r.channel, "question": r.question, "rewritten": r.rewritten,
            "answer": r.answer, "refused": r.refused, "citations": json.loads(r.citations), "latency_ms": r.latency_ms,
            "created_at": r.created_at}
