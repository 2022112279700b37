"""ASGI middleware in front of the Gradio app: what Gradio would accept but this app never needs is
refused before it costs anything, with a short Chinese reason and one bounded log line.

- request bodies over `max_bytes` (HTTP 413), read at most once and bounded in memory;
- uploads (the app has no upload field: HTTP 403);
- event calls naming an event that does not exist, with the wrong number of inputs, or that are not
  JSON (HTTP 422, not a 500);
- queue streams for a session that has no pending event (HTTP 404, not a traceback per request).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

from .limits import log_rejected

BODY_METHODS = (b"POST", b"PUT", b"PATCH")
EVENT_ROUTES = ("/queue/join", "/run/predict", "/api/predict")
NAMED_ROUTE = re.compile(r"/(?:call|run|api)/([^/]+)/?$")  # POST /gradio_api/call/<api_name> {"data": [...]}


ERROR_CODES = {403: "forbidden", 404: "not_found", 413: "request_too_large", 422: "invalid_input", 429: "rate_limited"}


def _reply(status: int, message: str):
    # OpenAI's error object: the API's clients and the chat page's both read one shape
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": ERROR_CODES.get(status, "bad_request")}
    body = json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]

    async def send_to(send):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return send_to


class RequestGuard:
    def __init__(self, app, max_bytes: int, event_inputs: Callable[[], dict[int, int]],
                 api_inputs: Callable[[], dict[str, tuple[int, int]]], has_pending: Callable[[str], bool] | None = None):
        """event_inputs() -> {fn_index: number of inputs} of every event; api_inputs() -> {api name:
        (inputs without session state, all inputs)} of the public API endpoints only."""
        self.app, self.max_bytes, self.has_pending = app, max_bytes, has_pending
        self.event_inputs, self.api_inputs = event_inputs, api_inputs

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        client = (scope.get("client") or ("?",))[0]
        refusal = self._refuse_by_route(scope, path)
        if refusal is None and scope["method"].encode() in BODY_METHODS:
            body, refusal = await self._read_body(scope, receive)
            if refusal is None:
                refusal = self._refuse_event(path, body)
                receive = _replay(body, receive)
        if refusal is not None:
            status, message, reason = refusal
            log_rejected(f"{status} {reason}", f"{client} {scope['method']} {path[:80]}")
            return await _reply(status, message)(send)
        return await self.app(scope, receive, send)

    def _refuse_by_route(self, scope, path: str):
        if path.rstrip("/").endswith("/upload"):
            return 403, "本服务不接受上传文件。", "upload"
        if path.endswith("/queue/data") and self.has_pending is not None:
            query = scope.get("query_string", b"").decode("latin-1")
            session = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("session_hash", "")
            if not self.has_pending(session):
                return 404, "没有等待中的请求。", "unknown session"
        return None

    async def _read_body(self, scope, receive):
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return b"", (413, "请求过大。", f"body {declared[:20]!r}")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", (400, "请求不完整。", "disconnect")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", (413, "请求过大。", f"body over {self.max_bytes}")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), None

    def _refuse_event(self, path: str, body: bytes):
        named = NAMED_ROUTE.search(path) if not path.endswith(EVENT_ROUTES) else None
        if named is None and not path.endswith(EVENT_ROUTES):
            return None
        try:  # the REST route's validation error echoes the input: a NaN there broke the reply (a 500)
            payload = json.loads(body, parse_constant=_not_json, parse_float=_finite) if named else json.loads(body)
        except ValueError:
            return 422, "请求格式无效。", "not json"
        if named is not None:
            return self._refuse_named(named.group(1), payload)
        fn = payload.get("fn_index") if isinstance(payload, dict) else None
        inputs = self.event_inputs()
        if not isinstance(fn, int) or isinstance(fn, bool) or fn not in inputs:
            return 422, "没有这个接口。", f"fn_index {str(fn)[:20]}"
        data = payload.get("data")
        if not isinstance(data, list) or len(data) != inputs[fn] or not isinstance(payload.get("event_data"), (dict, type(None))):
            return 422, "请求格式无效。", "data or event_data"
        return None

    def _refuse_named(self, name: str, payload):
        counts = self.api_inputs().get(name)
        if counts is None:  # internal events are the page's own: not callable by name
            return 404, "没有这个接口。", f"api {name[:40]}"
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or len(data) not in counts:
            return 422, "请求格式无效。", f"api {name[:40]} data"
        return None


def _not_json(name: str):
    """NaN and Infinity are not JSON, though Python's parser takes them; passed on to a named route, they broke
    the framework's own error reply (a 500 while echoing the input). The queue's events take them (a crafted
    turn id is answered in Chinese)."""
    raise ValueError(f"not JSON: {name}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"not a finite number: {text[:20]}")
    return value


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
