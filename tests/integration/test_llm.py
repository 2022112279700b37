"""The optional LLM path against a small OpenAI-compatible server on 127.0.0.1.

The server stands in for the external service only (vLLM, Ollama, DeepSeek...): one that answers
well, one that invents a number, one that times out. The real retrieval, real index and the real
citation verifier do the rest.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("llama_index.llms.openai_like")

from assistant import REFUSAL  # noqa: E402
from assistant.generate import ask_llm  # noqa: E402
from assistant.index import Index  # noqa: E402


def passage_number(prompt: str, needle: str) -> int:
    for line in prompt.splitlines():
        m = re.match(r"\[(\d+)\]", line)
        if m and needle in line:
            return int(m.group(1))
    raise AssertionError(f"no passage with {needle!r} in the prompt")


class Handler(BaseHTTPRequestHandler):
    mode = "good"

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        if self.mode == "slow":
            time.sleep(3)
        n = passage_number(prompt, "109家")
        if self.mode == "invent":
            content = f"深圳有109家上市小巨人企业。[{n}]其中有500家在北交所上市。[{n}]"
        else:
            content = f"深圳有109家上市小巨人企业，占全省45%。[{n}]"
        reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(reply).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)


@pytest.fixture
def llm_index(index):
    def make(mode: str) -> Index:
        handler = type("H", (Handler,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        cfg = index.cfg.with_(llm_base_url=f"http://127.0.0.1:{server.server_port}/v1", llm_model="fake-qwen",
                              llm_api_key="test", llm_timeout_s=1.0)
        return Index(cfg, index.docs, index.chunks, index.units, index.unit_vecs, index.vector_index, index.bm25,
                     index.embed, index.manifest, cache=index.cache)

    servers: list = []
    yield make
    for s in servers:
        s.shutdown()


def test_llm_answer_is_verified_and_cited(llm_index):
    idx = llm_index("good")
    a = ask_llm("深圳有多少家上市小巨人？", idx)
    assert a.answerer == "llm:fake-qwen" and not a.refused
    assert "109家" in a.answer and a.citations
    assert all(idx.docs[c.doc].text[c.start:c.end] == c.quote for c in a.citations)


def test_invented_number_is_dropped_by_the_verifier(llm_index):
    a = ask_llm("深圳有多少家上市小巨人？", llm_index("invent"))
    assert "109家" in a.answer
    assert "500" not in a.answer


def test_timeout_falls_back_to_the_extractive_answer_with_a_notice(llm_index):
    a = ask_llm("深圳有多少家上市小巨人？", llm_index("slow"))
    assert a.answerer == "extractive" and a.notice and "大模型" in a.notice
    assert "109" in a.answer


def test_unreachable_endpoint_falls_back(index):
    cfg = index.cfg.with_(llm_base_url="http://127.0.0.1:9/v1", llm_model="nothing", llm_timeout_s=1.0)
    idx = Index(cfg, index.docs, index.chunks, index.units, index.unit_vecs, index.vector_index, index.bm25,
                index.embed, index.manifest, cache=index.cache)
    a = ask_llm("珠海有多少家上市小巨人？", idx)
    assert a.notice and a.answer == REFUSAL
