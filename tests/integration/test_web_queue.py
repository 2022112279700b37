"""Gradio's queue as the chat page configures it, on the real index."""

from __future__ import annotations

import asyncio

import fastapi
from gradio.queueing import Event
from gradio.server_messages import EstimationMessage

from assistant.web.app import mount_chat


def test_a_message_to_a_session_whose_stream_closed_is_dropped(index):
    # Gradio deletes a cancelled stream's message queue before removing its waiting events; a queue estimate
    # sent to such an event in between raised KeyError (an HTTP 500 for whoever's request triggered it)
    _, demo = mount_chat(fastapi.FastAPI(), index)
    queue = demo._queue
    ask = next(f for f in demo.fns.values() if f.api_name == "ask")
    live, gone = Event("live-session", ask, None, None), Event("gone-session", ask, None, None)
    queue.pending_messages_per_session["live-session"] = asyncio.Queue()
    for event in (live, gone):
        queue.send_message(event, EstimationMessage(rank=0, queue_size=1))
    assert queue.pending_messages_per_session["live-session"].qsize() == 1  # a live session still gets its messages
    assert "gone-session" not in queue.pending_messages_per_session
