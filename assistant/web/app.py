"""Web chat (Gradio) for the handbook assistant: `python ui.py` or `assistant serve`.

The index is loaded (or built) once, before the server starts, and shared by every session.
Each session (server-made, bound to its address) keeps its turns; the chat and the 来源 panel are
rendered from it, so what is shown and what feeds follow-up questions and feedback never drift
apart. Everything a user typed is shown as text. The Gradio app runs behind RequestGuard
(body size cap, no uploads, unknown events refused) on our own uvicorn server.

API endpoints (gradio_client): /ask(question, section, raw_only) -> (chat, sources) streams the
chat, /feedback(turn, vote) rates an answer of the session (turn "" = the latest), /clear resets it.
Every other event is internal to the page (not listed in the API) and validates its inputs too.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
import threading
import time

# Set before gradio is imported: it reads these at import time. Analytics would call out.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from gradio.utils import LRUCache  # noqa: E402

import assistant  # noqa: E402
from assistant import Config, Index  # noqa: E402
from assistant.index import IndexUnavailable  # noqa: E402

from .chat import ALL, Chat  # noqa: E402
from .events import SEND_GUARD_JS, wire_events  # noqa: E402
from .guard import RequestGuard  # noqa: E402
from .render import CSS, EMPTY_SOURCES  # noqa: E402

HANDBOOK = "《广东专精特新“小巨人”成长手册》"
EXAMPLES = {
    "企业家常问": ["民营小巨人参与政府采购，手册建议怎么保障？", "小巨人缺数字化人才，政府可以怎么帮？"],
    "政府工作人员常问": ["深圳有多少家上市小巨人？", "广东一共有多少家专精特新小巨人企业？"],
}


# ---------------------------------------------------------------- index and filter choices

def load_index(cfg: Config) -> Index:
    """Load (or build) the index before the server starts. A build reports itself in one line as it
    starts and one as it ends; a plain load is reported here, in one line."""
    t0 = time.perf_counter()
    index = assistant.get_index(cfg)
    # The first question pays for jieba's dictionary and the answerer's derived tables: pay it now.
    assistant.ask("深圳有多少家上市小巨人？", index=index)
    if index.rebuild_reason is None:
        print(f"索引已加载：{len(index.chunks)} 个分块，{len(index.units)} 个句子单元（{time.perf_counter() - t0:.1f} 秒）。",
              flush=True)
    return index


def section_choices(index: Index) -> list[str]:
    """The handbook's top-level parts (in reading order, without the table of contents) and its city sections."""
    parts, cities = [], []
    for c in sorted(index.chunks, key=lambda c: (c.doc, c.start)):
        path = c.section.split(" > ")
        if path[0] not in parts and path[0] != "目录":
            parts.append(path[0])
        if len(path) > 1 and path[1].endswith("篇") and path[1] not in cities:
            cities.append(path[1])
    return [ALL] + parts + cities


def answerer_label(cfg: Config) -> str:
    return f"大模型 {cfg.llm_model or '（未指定模型名）'}" if cfg.llm_base_url else "抽取式（无需大模型）"


# ---------------------------------------------------------------- the page

def build_ui(index: Index) -> gr.Blocks:
    """The chat page for an index (also mounted by the API server)."""
    cfg = index.cfg
    sections = section_choices(index)
    with gr.Blocks(title="小巨人手册问答") as demo:
        gr.Markdown(f"## {HANDBOOK}问答助手\n"
                    f"只依据普华永道{HANDBOOK}作答，每句话都标注出处；手册里没有的内容会明确说明找不到。"
                    f"　回答方式：**{answerer_label(cfg)}**", elem_id="header")
        if index.notice:  # only what holds while this index is served (e.g. memory only), never past events
            gr.Markdown(f"（{html.escape(index.notice)}）", elem_id="index-notice")
        ui = _layout(sections)
        wire_events(ui, Chat(index, sections))
    return demo


def _layout(sections: list[str]) -> dict:
    """The page's components, by name (events are wired in events.py)."""
    ui: dict = {"session": gr.State(None)}
    with gr.Row():
        with gr.Column(scale=3):
            ui["chatbot"] = gr.Chatbot(label="对话", elem_id="answer", height=440, buttons=["copy"], allow_tags=False,
                                       latex_delimiters=[], placeholder="请在下方输入问题，或点击示例问题。")
            with gr.Row(elem_id="vote-row"):
                ui["vote_up"] = gr.Button("有用", size="sm", elem_id="vote-up", visible=False, min_width=60)
                ui["vote_down"] = gr.Button("没用", size="sm", elem_id="vote-down", visible=False, min_width=60)
                ui["status"] = gr.Markdown("", elem_id="feedback-status")
            with gr.Row():
                ui["question"] = gr.Textbox(label="问题", show_label=False, placeholder="输入关于手册的问题，按回车提问",
                                            elem_id="question", scale=5, max_lines=4)
                ui["ask"] = gr.Button("提问", variant="primary", elem_id="ask", scale=1, min_width=80)
            with gr.Row():
                ui["section"] = gr.Dropdown(sections, value=ALL, label="检索范围", elem_id="section", scale=3,
                                            allow_custom_value=True)  # validated by the chat, in Chinese
                ui["raw_only"] = gr.Checkbox(label="只看原文", info="列出最相关的原文段落，不生成回答", value=False,
                                             elem_id="raw-only", scale=2)
                ui["clear"] = gr.Button("清空对话", elem_id="clear", scale=1, min_width=80)
            with gr.Column(elem_id="examples"):
                ui["examples"] = []
                for group, qs in EXAMPLES.items():
                    gr.Markdown(f"**{group}**")
                    with gr.Row():
                        ui["examples"] += [gr.Button(q, size="sm", elem_classes=["example"]) for q in qs]
        with gr.Column(scale=2):
            ui["sources"] = gr.HTML(EMPTY_SOURCES, elem_id="sources", label="来源")
    # The question being answered (the box keeps its text until the answer ends) and the API's inputs.
    ui["asked"] = gr.Textbox(visible=False)
    ui["api_ask"] = gr.Button(visible=False)
    ui["fb_turn"] = gr.Textbox(value="", visible=False)
    ui["fb_vote"] = gr.Textbox(value="up", visible=False)
    ui["fb_send"] = gr.Button(visible=False)
    return ui


THEME_FONTS = dict(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                   font_mono=["Noto Sans Mono CJK SC", "monospace"])  # system fonts only: nothing from a CDN


class SessionMessages(LRUCache):
    """Gradio's queue of pending messages per session, where a message to a session that is gone is dropped.
    When a client's event stream is cancelled, Gradio deletes the session's queue first and removes its waiting
    events after an await; a request pushed in between broadcast queue estimates to those events and raised
    KeyError: an HTTP 500 for an unrelated request (the route fuzz test, once in a dozen CI runs). A session
    evicted from the 2,000-entry cache while its event waits is dropped the same way."""

    def __missing__(self, session_hash):
        return asyncio.Queue()  # read by nobody: the message is dropped; `in` still says the session is gone


def mount_chat(app, index: Index, path: str = "/"):
    """Mount the chat page on a FastAPI app (ours, or the API server's) with its theme and css.
    -> (app, blocks). Wrap the final ASGI app in guarded() to apply the request limits."""
    demo = build_ui(index)
    cfg = index.cfg
    demo.queue(default_concurrency_limit=cfg.answer_workers, max_size=4 * (cfg.answer_workers + cfg.answer_queue))
    demo._queue.pending_messages_per_session = SessionMessages(demo._queue.pending_messages_per_session.max_size)
    app = gr.mount_gradio_app(app, demo, path=path, theme=gr.themes.Default(**THEME_FONTS), css=CSS, js=SEND_GUARD_JS,
                              ssr_mode=False, mcp_server=False, enable_monitoring=False, footer_links=["settings"])
    return app, demo


def guarded(asgi_app, demo: gr.Blocks, cfg: Config) -> RequestGuard:
    """The request limits in front of an app serving `demo` (see guard.py)."""
    queue = demo._queue  # Gradio's own bookkeeping: which sessions have events pending
    # js-only steps (fn None) run in the browser: calling one over HTTP is refused like an unknown event
    events = {i: len(f.inputs) for i, f in demo.fns.items() if f.fn is not None}
    api = {f.api_name: (sum(not isinstance(b, gr.State) for b in f.inputs), len(f.inputs))
           for f in demo.fns.values() if f.api_visibility == "public" and f.api_name}
    return RequestGuard(asgi_app, cfg.max_request_bytes, event_inputs=lambda: events, api_inputs=lambda: api,
                        has_pending=lambda s: s in queue.pending_messages_per_session)


def main(host: str = "127.0.0.1", port: int | None = None) -> int:
    import fastapi
    import uvicorn

    port = port or int(os.environ.get("ASSISTANT_PORT") or 7860)
    cfg = Config.from_env()
    try:
        index = load_index(cfg)
    except IndexUnavailable as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    app, demo = mount_chat(fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None), index)
    server = uvicorn.Server(uvicorn.Config(guarded(app, demo, cfg), host=host, port=port, log_level="warning",
                                           h11_max_incomplete_event_size=cfg.max_request_bytes))

    def say_ready():
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"已就绪：请在浏览器打开 http://{host}:{port}/  （按 Ctrl+C 停止）", flush=True)

    threading.Thread(target=say_ready, daemon=True).start()
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
