"""Raw HTTP calls to a Gradio app's events, the way a crafted client (not gradio_client) makes them:
any fn_index, any payload, any session hash, from any loopback source address."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx

TIMEOUT_S = 60


@dataclass
class Reply:
    status: int  # HTTP status of the join (or run) request
    messages: list[dict]  # the queue's messages for the event (empty for a refused request)

    @property
    def output(self) -> dict | None:
        done = [m for m in self.messages if m.get("msg") == "process_completed"]
        return done[-1].get("output") if done else None

    @property
    def success(self) -> bool:
        done = [m for m in self.messages if m.get("msg") == "process_completed"]
        return bool(done and done[-1].get("success"))


def client(local_address: str = "127.0.0.1") -> httpx.Client:
    """An HTTP client bound to a loopback source address (127.0.0.2 is "another machine")."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=local_address), timeout=TIMEOUT_S)


def events(http: httpx.Client, url: str) -> list[dict]:
    return http.get(url.rstrip("/") + "/config").json()["dependencies"]


def call(http: httpx.Client, url: str, fn_index, data, session_hash: str | None = None, queued: bool = True,
         event_data=None) -> Reply:
    """One event call; a queued one is followed to its end on the queue's event stream."""
    base = url.rstrip("/") + "/gradio_api"
    session_hash = session_hash or uuid.uuid4().hex[:11]
    body = {"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": event_data,
            "trigger_id": None}
    # NaN, Infinity and lone surrogates are written as Python's json writes them (a crafted client can)
    content = json.dumps(body).encode("ascii")
    headers = {"content-type": "application/json"}
    if not queued:
        r = http.post(f"{base}/run/predict", content=content, headers=headers)
        return Reply(r.status_code, [{"msg": "process_completed", "output": _json(r), "success": r.is_success}])
    r = http.post(f"{base}/queue/join", content=content, headers=headers)
    if r.status_code != 200:
        return Reply(r.status_code, [])
    messages = []
    with http.stream("GET", f"{base}/queue/data", params={"session_hash": session_hash}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            messages.append(msg)
            if msg.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                break
    return Reply(r.status_code, messages)


def _json(r: httpx.Response):
    try:
        return r.json()
    except ValueError:
        return {"text": r.text[:200]}
