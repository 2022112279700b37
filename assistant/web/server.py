"""One server for people and programs: the Gradio chat page at / and the OpenAI-compatible API at /v1.

`assistant serve` runs it under uvicorn (assistant/web/serving.py). With N workers each worker process
builds its app with create_app(): the index loaded read-only, turns and votes written to the one store
(SQLite in WAL mode, or PostgreSQL).

Probes: GET /healthz (the process answers) and GET /readyz (index loaded and the database reachable).
"""

from __future__ import annotations

import os
import secrets
import sys
import traceback

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: analytics would call out
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402

import assistant  # noqa: E402
from assistant import Config, Index  # noqa: E402
from assistant.index import IndexUnavailable, load_index as load_index_read_only  # noqa: E402
from assistant.store import LazyStore, StoreError  # noqa: E402

from .app import guarded, mount_chat  # noqa: E402
from .openai_api import ApiError, error_response, make_router  # noqa: E402

WARM_UP_QUESTION = "深圳有多少家上市小巨人？"
API_PATHS = {"/v1/chat/completions", "/v1/models", "/v1/feedback"}


def bearer_check(api_key: str | None):
    def check(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "缺少或错误的 API 密钥：请在 Authorization 头中发送 Bearer 密钥。", code="invalid_api_key")

    return check


def add_error_handlers(app: FastAPI) -> None:
    """Every error is an OpenAI-style object; a server fault is logged, never shown as a traceback."""

    @app.exception_handler(ApiError)
    async def api_error(_request, e: ApiError):
        return e.response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request, e: RequestValidationError):
        return error_response(400, f"请求参数无效：{e.errors()[0].get('msg', '')}", code="invalid_value")

    @app.exception_handler(Exception)
    async def server_error(_request, e: Exception):
        traceback.print_exception(e, file=sys.stderr)
        return error_response(500, "服务器内部错误，请稍后再试。", code="internal_error", kind="server_error")


def add_probes(app: FastAPI, index: Index, stores: LazyStore) -> None:
    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        checks = {"index": f"{index.manifest['chunks']} 个分块", "database": "ok"}
        try:
            await run_in_threadpool(lambda: stores.get().ping())
        except StoreError as e:
            checks["database"] = str(e)
            return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
        return {"status": "ready", "checks": checks}


def build_app(index: Index, stores: LazyStore | None = None):
    """The chat page and the API for one process (an ASGI app: the FastAPI app behind the request
    guard); answers are served even while the database is down."""
    cfg = index.cfg
    stores = stores or LazyStore(cfg.store_url)
    app = FastAPI(title="小巨人手册问答 API", docs_url="/v1/docs", openapi_url="/v1/openapi.json", redoc_url=None)
    add_error_handlers(app)
    add_probes(app, index, stores)
    auth = Depends(bearer_check(cfg.api_key))
    app.include_router(make_router(index, stores, dependencies=[auth]))

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], dependencies=[auth])
    async def unknown(request: Request, rest: str):
        # routes before the Gradio mount at "/": otherwise a wrong API path would get the chat page's 404
        if request.url.path in API_PATHS:
            return error_response(405, f"不支持的方法 {request.method}。", code="method_not_allowed")
        return error_response(404, f"没有这个接口：{request.url.path[:100]}", code="not_found")

    # the chat page with the web chat's request limits (body cap, no uploads, event checks) in front of both
    app, demo = mount_chat(app, index)
    return guarded(app, demo, cfg)


def create_app() -> FastAPI:
    """The app of one worker process (uvicorn factory): the index loaded read-only, the shared store."""
    cfg = Config.from_env()
    try:
        index = load_index_read_only(cfg)
    except IndexUnavailable as e:
        raise SystemExit(f"错误：worker 无法加载索引：{e}") from None
    assistant.ask(WARM_UP_QUESTION, index=index)  # jieba's dictionary and derived tables, before the first user
    return build_app(index)
