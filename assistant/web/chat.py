"""One question in the web chat: validate, admit (rate limit, bounded queue), answer, stream, record.

`Chat.ask` is a generator of the session after each step (the page re-renders the chat and the
来源 panel from it); `Chat.vote` rates an answer of the session. Neither raises: bad input, a busy
server or a failing store become one Chinese line in the chat or the status line.
"""

from __future__ import annotations

import html
import re
import threading
import time
import traceback
from dataclasses import dataclass

import assistant
from assistant import BadInput, Filters, Index
from assistant.citations import SENTENCE
from assistant.retrieval import search
from assistant.store import Store, StoreError, TurnRecord

from .limits import HEAVY_CHARS, Busy, Limits, RateLimiter, bounded_history, log_rejected
from .render import (EMPTY_SOURCES, RELATED_LABEL, anchor_map, chat_markdown, citations_html,
                     literal_markdown, passage_list, passages_html, source_entries)
from .session import Session, Turn, rejected_excerpt

ALL = "全部"
RAW_K = 5  # passages shown in 只看原文 mode
# The table of contents is retrievable but is not source text a reader should be shown as evidence.
SHOWN_KINDS = ("paragraph", "table", "profile", "footnote", "chart")
RELATED_IN_CHAT = 3  # related passages listed under a refusal in the chat (all are in the panel)
STREAM_PAUSE_S = 0.04  # between streamed sentences: enough to see the answer arrive, not to slow it
FAILED = "抱歉，处理这个问题时出错了，请稍后再试。"
BAD_SECTION = "检索范围无效：请从列表中选择。"
BAD_MODE = "“只看原文”的取值无效。"
VOTED = {"up": "已记录：有用。可以随时改选。", "down": "已记录：没用，我们会改进这类问题。可以随时改选。"}


def user_message(e: StoreError) -> str:
    """The store's reason when it is plain Chinese; system text (English errno strings, SQL) stays
    in the log and the user gets a Chinese line."""
    text = str(e)
    if re.search(r"[A-Za-z]{3,}", text):
        log_rejected("store", text)
        return "数据暂时无法保存，请稍后再试。"
    return text


def stream_cuts(text: str) -> list[int]:
    """Where to cut the answer while streaming it: after each sentence and its markers."""
    cuts = sorted({m.end() for m in SENTENCE.finditer(text) if m.group().strip()} | {len(text)})
    return [c for c in cuts if c > 0]


@dataclass
class Request:
    question: object
    section: object
    raw_only: object


class Chat:
    def __init__(self, index: Index, sections: list[str], limits: Limits | None = None):
        self.index = index
        self.sections = sections
        self.limits = limits or Limits.from_config(index.cfg)
        self.votes = RateLimiter(per_minute=30, burst=10)
        self._store: Store | None = None
        self._store_lock = threading.Lock()

    # ------------------------------------------------------------ asking

    def ask(self, session: Session, req: Request):
        """Yield the session after each visible step of answering req.question."""
        with session.lock:
            turn = self._admit(session, req)
            session.turns.append(turn)
            session.shown = len(session.turns) - 1
            yield session
            if turn.mode == "error":
                return
            try:
                with self.limits.slots.take(heavy=len(turn.question) > HEAVY_CHARS):
                    self._answer(session, turn, req)
            except Busy as e:
                turn.mode, turn.answer, turn.shown = "error", str(e), f"⚠️ {html.escape(str(e))}"
            except Exception:  # e.g. a configured LLM that is down: say so, keep the details in the log
                traceback.print_exc(limit=8)
                turn.mode, turn.answer, turn.shown = "error", FAILED, f"⚠️ {FAILED}"
            if turn.mode == "answer":
                yield from self._stream(session, turn)
            self._record(session, turn)
            yield session

    def _admit(self, session: Session, req: Request) -> Turn:
        """A pending turn, or an error turn saying why the question is not answered."""
        try:
            if req.section not in self.sections and req.section not in (None, ""):
                log_rejected("section", req.section if isinstance(req.section, str) else type(req.section).__name__)
                raise BadInput(BAD_SECTION)
            if not isinstance(req.raw_only, bool):
                log_rejected("raw_only", type(req.raw_only).__name__)
                raise BadInput(BAD_MODE)
            q = assistant.check_question(req.question)
            self.limits.admit(session.id, session.address, q)
        except (BadInput, Busy) as e:
            excerpt, chars = rejected_excerpt(req.question)
            return Turn(excerpt, "error", chars=chars, answer=str(e), shown=f"⚠️ {html.escape(str(e))}")
        return Turn(q, "pending", chars=len(q))

    def _answer(self, session: Session, turn: Turn, req: Request) -> None:
        t0 = time.perf_counter()
        section = None if req.section in (None, "", ALL) else req.section
        if req.raw_only:
            self._raw(turn, section)
        else:
            # the pending turn is not part of session.history()
            history, dropped = bounded_history(session.history(), self.limits.history_turns, self.limits.history_chars)
            a = assistant.ask(turn.question, history, filters=Filters(section=section), index=self.index)
            note = f"（对话较长：只参考了最近 {len(history) // 2} 轮对话。）" if dropped and (a.answered_question or a.refused) else ""
            notice = "\n\n".join(f"（{literal_markdown(n)}）" for n in (a.notice,) if n)
            if note:
                notice = (notice + "\n\n" if notice else "") + f"*{literal_markdown(note)}*"
            self._fill(turn, a, notice)
        turn.latency_ms = (time.perf_counter() - t0) * 1e3

    def _raw(self, turn: Turn, section: str | None) -> None:
        hits = search(self.index, turn.question, k=RAW_K, filters=Filters(section=section, kinds=SHOWN_KINDS)).hits
        head = f"只看原文：以下是手册中与问题最相关的 {len(hits)} 个段落（按相关度排序，未生成回答）。"
        lines = [head] + passage_list(hits) if hits else ["只看原文：没有找到相关段落。"]
        turn.mode, turn.answer, turn.shown = "raw", head, "\n\n".join(lines)
        turn.citations = [h.as_json() for h in hits]
        turn.sources = passages_html(hits, "原文段落（按相关度排序）", related=False) if hits else EMPTY_SOURCES

    def _fill(self, turn: Turn, a, notice: str) -> None:
        turn.answer, turn.rewritten = a.answer, a.answered_question
        tail = f"\n\n{notice}" if notice else ""
        if a.refused:
            related = [h for h in a.related if h.chunk.kind in SHOWN_KINDS]
            lines = [f"**{literal_markdown(a.answer)}**"]
            if related:
                lines.append(f"{RELATED_LABEL}：")
                lines += passage_list(related[:RELATED_IN_CHAT])
            turn.mode, turn.shown = "refused", "\n\n".join(lines) + tail
            turn.sources = passages_html(related, RELATED_LABEL, related=True) if related else EMPTY_SOURCES
            return
        entries = source_entries(self.index, a.citations)
        turn.mode, turn.citations = "answer", [c.as_json() for c in a.citations]
        turn.sources = citations_html(self.index, entries)
        turn.anchors, turn.tail = anchor_map(entries), tail

    def _stream(self, session: Session, turn: Turn):
        for cut in stream_cuts(turn.answer)[:-1]:
            turn.shown = chat_markdown(turn.answer[:cut], turn.anchors)
            yield session
            time.sleep(STREAM_PAUSE_S)
        turn.shown = chat_markdown(turn.answer, turn.anchors) + turn.tail

    def _record(self, session: Session, turn: Turn) -> None:
        """Keep the answered turn in the store (its id is the handle for a vote); a failing store
        never costs the user the answer: the vote retries the recording."""
        if not turn.votable or turn.id:
            return
        try:
            turn.id = self.store().record_turn(TurnRecord(
                session=session.id, question=turn.question, answer=turn.answer, refused=turn.mode == "refused",
                citations=turn.citations, rewritten=turn.rewritten, latency_ms=turn.latency_ms, channel="web"))
        except StoreError as e:
            log_rejected("store", str(e))

    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                self._store = Store.open(self.index.cfg)
            return self._store

    # ------------------------------------------------------------ feedback

    def vote(self, session: Session, ref, vote) -> str:
        """One vote per answer (a Turn, or a turn id of the session), changeable; -> the status line."""
        if vote not in ("up", "down"):
            return "反馈无效：请选择“有用”或“没用”。"
        turn = ref if isinstance(ref, Turn) and any(t is ref for t in session.turns) else session.find(ref)
        if turn is None or not turn.votable:
            return "没有可以评价的回答。"
        if turn.vote == vote:
            return VOTED[vote]
        if not self.votes.allow(session.id):
            log_rejected("vote rate", session.id[:16])
            return "评价太频繁：请稍后再试。"
        try:
            self._record(session, turn)
            if not turn.id:
                raise StoreError("暂时无法保存回答，请稍后再试。")
            self.store().vote(turn.id, session.id, vote)
        except StoreError as e:
            return f"反馈保存失败：{user_message(e)}"
        turn.vote = vote
        return VOTED[vote]
