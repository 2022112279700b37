"""The OpenAI-compatible chat API: POST /v1/chat/completions, GET /v1/models, POST /v1/feedback.

Any OpenAI client works: `OpenAI(base_url="http://127.0.0.1:7860/v1", api_key=KEY or "none")`.
The reply's content is the answer with its [n] markers and a short markdown source list (for clients
that show only content). Extensions (extra fields the official clients keep):
- `citations`: [{n, doc, start, end, section, quote}], verified character spans of the corpus;
- `xiaojuren`: {turn_id, session, refused, rewritten_question, answerer}; turn_id is the handle for
  POST /v1/feedback {"turn_id", "vote": "up"|"down"} sent with the same session.
In a stream these ride on the last chunk (the one with finish_reason "stop").
The session is the `X-Session-Id` header, else the request's `user` field, else a new id (returned).
Multi-turn: messages[:-1] (user and assistant turns) are the history for follow-up questions;
system messages are accepted and ignored (the answerer only answers from the handbook).
Errors are OpenAI-style objects {"error": {message, type, param, code}} with a 4xx status.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

import assistant
from assistant import Answer, BadInput, Index
from assistant.citations import SENTENCE
from assistant.store import LazyStore, StoreError, TurnRecord, check_session, new_session_id

MODEL_ID = "xiaojuren"
MAX_BODY_BYTES = 1_000_000
MAX_MESSAGES = 200
SOURCES_HEADING = "\n\n**来源**\n"
QUOTE_PREVIEW = 60  # characters of each quote shown in the content's source list
STATUS = {"invalid": 400, "not_found": 404, "forbidden": 403, "unavailable": 503}


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.param, self.code, self.kind)


def error_response(status: int, message: str, param=None, code=None, kind="invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, max_tokens…: accepted, not used
    model: str
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    user: str | None = None
    n: int = 1


class FeedbackRequest(BaseModel):
    turn_id: str
    vote: str
    session: str | None = None


@dataclass
class Turn:
    """One answered API request: what the client gets and what the store keeps."""
    answer: Answer
    session: str
    turn_id: str | None
    created: int

    @property
    def completion_id(self) -> str:
        return f"chatcmpl-{self.turn_id or uuid.uuid4().hex}"


# ---------------------------------------------------------------- request parsing

async def read_json(request: Request, model: type[BaseModel]):
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"请求过大：请求体不能超过 {MAX_BODY_BYTES // 1000} KB。", code="request_too_large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "请求体不是合法的 JSON。", code="invalid_json") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        param = ".".join(str(p) for p in err["loc"]) or None
        raise ApiError(400, f"请求参数无效（{param}）：{err['msg']}", param=param, code="invalid_value") from None


def text_of(m: Message, where: str) -> str:
    """The text of a message; text parts of a list are joined, anything else is refused."""
    if m.content is None:
        return ""
    if isinstance(m.content, str):
        return m.content
    parts = []
    for p in m.content:
        if p.get("type") != "text" or not isinstance(p.get("text"), str):
            raise ApiError(400, "只支持文字消息：不支持图片、音频或文件。", param=where, code="unsupported_content")
        parts.append(p["text"])
    return "".join(parts)


def strip_sources(content: str) -> str:
    """An earlier reply echoed back by the client, without the source list we appended to it."""
    return content.split(SOURCES_HEADING, 1)[0]


def question_and_history(req: ChatRequest) -> tuple[str, list[dict]]:
    if req.n != 1:
        raise ApiError(400, "只支持 n=1。", param="n", code="unsupported_value")
    last = req.messages[-1]
    if last.role != "user":
        raise ApiError(400, "最后一条消息必须是用户（user）的问题。", param="messages", code="invalid_value")
    history = []
    for i, m in enumerate(req.messages[:-1]):
        if m.role in ("user", "assistant"):
            text = text_of(m, f"messages.{i}.content")
            history.append({"role": m.role, "content": strip_sources(text) if m.role == "assistant" else text})
    return text_of(last, f"messages.{len(req.messages) - 1}.content"), history


def session_of(request: Request, req_user: str | None) -> str:
    session = request.headers.get("x-session-id") or req_user
    if session is None:
        return new_session_id()
    try:
        return check_session(session)
    except StoreError as e:
        raise ApiError(400, str(e), param="user", code="invalid_session") from None


# ---------------------------------------------------------------- reply formatting

def content_of(a: Answer) -> str:
    """The answer with its [n] markers, then a short markdown list of the sources."""
    text = a.answer + (f"\n\n（{a.notice}）" if a.notice else "")
    if not a.citations:
        return text
    lines = []
    for c in a.citations:
        quote = " ".join(c.quote.split())
        quote = quote if len(quote) <= QUOTE_PREVIEW else quote[:QUOTE_PREVIEW] + "……"
        lines.append(f"- [{c.n}] {c.section}（`{c.doc}:{c.start}-{c.end}`）：“{quote}”")
    return text + SOURCES_HEADING + "\n".join(lines)


def extension(t: Turn) -> dict:
    a = t.answer
    return {"citations": [c.as_json() for c in a.citations],
            "xiaojuren": {"turn_id": t.turn_id, "session": t.session, "refused": a.refused,
                          "rewritten_question": a.answered_question, "answerer": a.answerer}}


def completion(t: Turn, content: str, prompt_chars: int) -> dict:
    # usage counts characters: the extractive answerer has no tokenizer of its own
    return {"id": t.completion_id, "object": "chat.completion", "created": t.created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_chars, "completion_tokens": len(content),
                      "total_tokens": prompt_chars + len(content)},
            **extension(t)}


def content_pieces(content: str) -> list[str]:
    """The content cut after each sentence (with its markers), then the source list line by line."""
    body, _, sources = content.partition(SOURCES_HEADING)
    cuts = sorted({m.end() for m in SENTENCE.finditer(body) if m.group().strip()} | {len(body)})
    pieces, prev = [], 0
    for cut in cuts:
        if cut > prev:
            pieces.append(body[prev:cut])
            prev = cut
    if sources:
        pieces.append(SOURCES_HEADING)
        pieces += [line + "\n" for line in sources.split("\n")[:-1]] + [sources.split("\n")[-1]]
    return [p for p in pieces if p]


def sse_chunks(t: Turn, content: str):
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {"id": t.completion_id, "object": "chat.completion.chunk", "created": t.created, "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in content_pieces(content):
        yield chunk({"content": piece})
    yield chunk({}, "stop", **extension(t))
    yield "data: [DONE]\n\n"


# ---------------------------------------------------------------- the routes

def answer_and_record(index: Index, stores: LazyStore, answering: threading.Semaphore, question: str,
                      history: list[dict], session: str) -> Turn:
    """Answer (waiting for a free slot) and store the turn; a store failure costs the vote, not the answer."""
    t0 = time.perf_counter()
    try:
        with answering:
            a = assistant.ask(question, history, index=index)
    except BadInput as e:
        raise ApiError(400, str(e), param="messages", code="invalid_question") from None
    latency_ms = (time.perf_counter() - t0) * 1000  # as the user waited: queueing included
    turn_id = None
    try:
        turn_id = stores.get().record_turn(TurnRecord(
            session=session, question=a.question, answer=a.answer, refused=a.refused,
            citations=[c.as_json() for c in a.citations], rewritten=a.answered_question,
            latency_ms=latency_ms, channel="api"))
    except StoreError as e:
        print(f"警告：对话未能保存：{e}", file=sys.stderr, flush=True)
    return Turn(a, session, turn_id, int(time.time()))


def make_router(index: Index, stores: LazyStore, dependencies=()) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=list(dependencies))
    answering = threading.BoundedSemaphore(index.cfg.ask_concurrency)

    def answer_turn(question: str, history: list[dict], session: str) -> Turn:
        return answer_and_record(index, stores, answering, question, history, session)

    @router.get("/models")
    async def models():
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "xiaojuren"}]}

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        req = await read_json(request, ChatRequest)
        if req.model != MODEL_ID:
            raise ApiError(404, f"没有模型 {req.model[:60]!r}：可用的模型是 {MODEL_ID}。", param="model", code="model_not_found")
        question, history = question_and_history(req)
        session = session_of(request, req.user)
        t = await run_in_threadpool(answer_turn, question, history, session)
        content = content_of(t.answer)
        headers = {"X-Session-Id": session}
        if req.stream:
            return StreamingResponse(sse_chunks(t, content), media_type="text/event-stream",
                                     headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        prompt_chars = sum(len(json.dumps(m.content, ensure_ascii=False)) for m in req.messages)
        return JSONResponse(completion(t, content, prompt_chars), headers=headers)

    @router.post("/feedback")
    async def feedback(request: Request):
        req = await read_json(request, FeedbackRequest)
        session = request.headers.get("x-session-id") or req.session
        try:
            v = await run_in_threadpool(lambda: stores.get().vote(req.turn_id, session or "", req.vote))
        except StoreError as e:
            raise ApiError(STATUS.get(e.kind, 503), str(e), code=f"feedback_{e.kind}",
                           kind="server_error" if e.kind == "unavailable" else "invalid_request_error") from None
        return {"object": "feedback", "turn_id": v.turn_id, "vote": v.vote, "changes": v.changes, "saved": True}

    return router
