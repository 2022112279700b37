"""Web chat (Gradio) for the handbook assistant: `python ui.py` or `assistant serve`.

The index is loaded (or built) once, before the server starts, and shared by every session.
Each session keeps its turns in a gr.State (raw text, citations, rendered sources); the chat and
the 来源 panel are rendered from it, so what is shown and what feeds follow-up questions and
feedback can never drift apart. Everything a user typed is html-escaped before display.

API endpoints (gradio_client): /ask(question, section, raw_only) streams the chat,
/feedback(turn, vote) rates a turn of the session, /clear resets it.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
import traceback
from bisect import bisect_left, bisect_right
from datetime import datetime, timezone
from pathlib import Path

# Set before gradio is imported: it reads these at import time. Analytics would call out.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

import assistant  # noqa: E402
from assistant import BadInput, Config, Filters, Index  # noqa: E402
from assistant.citations import SENTENCE  # noqa: E402
from assistant.index import IndexUnavailable  # noqa: E402
from assistant.retrieval import search  # noqa: E402

HANDBOOK = "《广东专精特新“小巨人”成长手册》"
ALL = "全部"
RAW_K = 5  # passages shown in 只看原文 mode
# The table of contents is retrievable but is not source text a reader should be shown as evidence.
SHOWN_KINDS = ("paragraph", "table", "profile", "footnote", "chart")
RELATED_IN_CHAT = 3  # related passages listed under a refusal in the chat (all are in the panel)
STREAM_PAUSE_S = 0.04  # between streamed sentences: enough to see the answer arrive, not to slow it
CONTEXT_CHARS = 220  # a long paragraph is cut to this much context on each side of the quote
RELATED_LABEL = "相关段落（仅供参考，并非答案）"
FAILED = "抱歉，处理这个问题时出错了，请稍后再试。"
EXAMPLES = {
    "企业家常问": ["民营小巨人参与政府采购，手册建议怎么保障？", "小巨人缺数字化人才，政府可以怎么帮？"],
    "政府工作人员常问": ["深圳有多少家上市小巨人？", "广东一共有多少家专精特新小巨人企业？"],
}
EMPTY_SOURCES = ('<div class="sources-empty"><div class="sources-title">来源</div>'
                 "提问后，这里显示回答所依据的手册原文，引用的句子以黄色标出；点击回答里的 [1]、[2] 可跳到对应原文。"
                 "<ul><li>检索范围：只在手册的某一部分或某个城市篇里找答案。</li>"
                 "<li>只看原文：不生成回答，直接列出最相关的段落。</li>"
                 "<li>回答下方的 👍 / 👎：告诉我们回答是否有用。</li></ul></div>")
BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
MARKER = re.compile(r"\[(\d{1,3})\]")
UNDERSTOOD = re.compile(r"（理解为：“[^\n]*?”）\n?")

CSS = """
#sources .cite { border-left: 3px solid #f97316; padding: 6px 10px; margin: 10px 0; scroll-margin-top: 60px; }
#sources .cite:target { background: #fff7e0; outline: 2px solid #f0b429; }
#sources .cite.related { border-left: 3px dashed #9ca3af; color: #4b5563; }
#sources .cite-head { font-size: 0.85em; color: #6b7280; }
#sources .cite-head a { font-weight: 600; color: #c2410c; text-decoration: none; }
#sources .para { white-space: pre-wrap; line-height: 1.7; margin-top: 4px; }
#sources mark { background: #ffe58f; padding: 0 2px; }
#sources .sources-title { font-weight: 600; margin-bottom: 4px; }
#sources .related-title { font-weight: 600; color: #b45309; }
#sources .sources-empty { color: #6b7280; }
#answer a.cite-ref { text-decoration: none; font-weight: 600; }
"""


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


# ---------------------------------------------------------------- rendering (all text escaped)

def paragraph_around(index: Index, doc: str, start: int, end: int) -> tuple[str, str, str]:
    """(before, quote, after): the quote inside its blank-line-delimited paragraph, long sides trimmed."""
    text = index.docs[doc].text
    breaks = index.extra(f"ui.paragraph_breaks.{doc}", lambda: [(m.start(), m.end()) for m in BLANK_LINE.finditer(text)])
    i = bisect_right([b[1] for b in breaks], start)  # breaks ending at or before the quote
    p_start = breaks[i - 1][1] if i else 0
    j = bisect_left([b[0] for b in breaks], end)  # first break starting at or after the quote's end
    p_end = breaks[j][0] if j < len(breaks) else len(text)
    before, after = text[p_start:start], text[end:p_end]
    if len(before) > CONTEXT_CHARS:
        before = "……" + before[-CONTEXT_CHARS:]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS] + "……"
    return before.lstrip(), text[start:end], after.rstrip()


def _entry(n: int, doc: str, start: int, end: int, section: str, body: str, extra_class: str = "", note: str = "") -> str:
    e = html.escape
    return (f'<div class="cite {extra_class}" id="cite-{n}" data-doc="{e(doc)}" data-start="{start}" data-end="{end}" '
            f'data-section="{e(section)}"><div class="cite-head"><a href="#cite-{n}">[{n}]</a> {e(section)} '
            f'· <code>{e(doc)}:{start}-{end}</code>{note}</div><div class="para">{body}</div></div>')


def citations_html(index: Index, citations: list) -> str:
    out = ['<div class="sources-title">来源</div>']
    for c in citations:
        before, quote, after = paragraph_around(index, c.doc, c.start, c.end)
        body = f"{html.escape(before)}<mark>{html.escape(quote)}</mark>{html.escape(after)}"
        out.append(_entry(c.n, c.doc, c.start, c.end, c.section, body))
    return "\n".join(out)


def passages_html(hits: list, title: str, related: bool) -> str:
    """Ranked passages (只看原文, or what a refusal found): shown as text, nothing highlighted as support."""
    out = [f'<div class="{"related-title" if related else "sources-title"}">{html.escape(title)}</div>']
    for n, h in enumerate(hits, 1):
        c = h.chunk
        out.append(_entry(n, c.doc, c.start, c.end, c.section, html.escape(c.text.strip()),
                          "related" if related else "", f" · 相关度 {h.score:.3f}"))
    return "\n".join(out)


def passage_list(hits: list) -> list[str]:
    """The chat's short list of passages, each linked to its full text in the panel."""
    return [f'<a class="cite-ref" href="#cite-{n}">[{n}]</a> {html.escape(h.chunk.section)}' for n, h in enumerate(hits, 1)]


def chat_markdown(text: str) -> str:
    """Answer text for the Chatbot (markdown): escaped, [n] markers linked to the 来源 panel,
    the rewritten follow-up ("（理解为：…）") on a line of its own."""
    understood = UNDERSTOOD.match(text)
    lines = [f"*{html.escape(understood.group().strip())}*"] if understood else []
    body = text[understood.end():] if understood else text
    for line in html.escape(body, quote=False).split("\n"):
        if line.strip():
            lines.append(MARKER.sub(r'<a class="cite-ref" href="#cite-\1">[\1]</a>', line))
    return "\n\n".join(lines)


def shown_question(q: str) -> str:
    """What the chat shows of a user's input: escaped, and shortened if it is absurdly long."""
    q = "".join(ch if ch.isprintable() or ch in "\n\t" else "�" for ch in str(q))
    if len(q) > 300:
        q = f"{q[:300]}……（共 {len(q)} 字）"
    return html.escape(q)


def chat_messages(turns: list[dict]) -> list[dict]:
    """Two messages per turn, always: feedback and 'show sources' map a message index to index // 2."""
    msgs = []
    for t in turns:
        msgs.append({"role": "user", "content": shown_question(t["question"])})
        msgs.append({"role": "assistant", "content": t["shown"]})
    return msgs


# ---------------------------------------------------------------- one turn

def history_for(turns: list[dict]) -> list[dict]:
    """The raw (unescaped) conversation for assistant.ask; inputs that were rejected are left out."""
    hist = []
    for t in turns:
        if t["mode"] != "error":
            hist += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]}]
    return hist


def stream_cuts(text: str) -> list[int]:
    """Where to cut the answer while streaming it: after each sentence and its markers."""
    cuts = sorted({m.end() for m in SENTENCE.finditer(text) if m.group().strip()} | {len(text)})
    return [c for c in cuts if c > 0]


def make_respond(index: Index):
    def respond(question, section, raw_only, turns):
        turns = list(turns or [])
        try:
            q = assistant.check_question(question)
        except BadInput as e:
            turns.append({"question": question if isinstance(question, str) else repr(question), "mode": "error",
                          "answer": str(e), "shown": f"⚠️ {html.escape(str(e))}", "citations": [], "sources": EMPTY_SOURCES})
            yield "", chat_messages(turns), EMPTY_SOURCES, turns
            return
        filters = Filters(section=None if section in (None, "", ALL) else section)
        turn = {"question": q, "mode": "raw" if raw_only else "answer", "answer": "", "shown": "正在查阅手册……",
                "citations": [], "sources": EMPTY_SOURCES}
        turns.append(turn)
        yield "", chat_messages(turns), '<div class="sources-empty">正在查阅手册……</div>', turns

        if raw_only:
            hits = search(index, q, k=RAW_K, filters=Filters(section=filters.section, kinds=SHOWN_KINDS)).hits
            head = f"只看原文：以下是手册中与问题最相关的 {len(hits)} 个段落（按相关度排序，未生成回答）。"
            lines = [head] + passage_list(hits)
            if not hits:
                lines = ["只看原文：没有找到相关段落。"]
            turn.update(answer=head, shown="\n\n".join(lines), citations=[h.as_json() for h in hits],
                        sources=passages_html(hits, "原文段落（按相关度排序）", related=False) if hits else EMPTY_SOURCES)
            yield "", chat_messages(turns), turn["sources"], turns
            return

        try:
            a = assistant.ask(q, history_for(turns[:-1]), filters=filters, index=index)
        except Exception:  # e.g. a configured LLM that is down: say so in the chat, keep the details in the log
            traceback.print_exc()
            turn.update(mode="error", answer=FAILED, shown=f"⚠️ {FAILED}")
            yield "", chat_messages(turns), EMPTY_SOURCES, turns
            return
        notice = f"\n\n（{html.escape(a.notice)}）" if a.notice else ""
        if a.refused:
            related = [h for h in a.related if h.chunk.kind in SHOWN_KINDS]
            lines = [f"**{html.escape(a.answer)}**"]
            if related:
                lines.append(f"{RELATED_LABEL}：")
                lines += passage_list(related[:RELATED_IN_CHAT])
            turn.update(answer=a.answer, shown="\n\n".join(lines) + notice, citations=[],
                        sources=passages_html(related, RELATED_LABEL, related=True) if related else EMPTY_SOURCES)
            yield "", chat_messages(turns), turn["sources"], turns
            return

        sources = citations_html(index, a.citations)
        turn.update(answer=a.answer, citations=[c.as_json() for c in a.citations], sources=sources)
        for cut in stream_cuts(a.answer):
            turn["shown"] = chat_markdown(a.answer[:cut])
            yield "", chat_messages(turns), sources, turns
            time.sleep(STREAM_PAUSE_S)
        turn["shown"] = chat_markdown(a.answer) + notice
        yield "", chat_messages(turns), sources, turns

    return respond


# ---------------------------------------------------------------- feedback

def append_line(path: Path, record: dict) -> None:
    """One JSON line, appended with a single write to an O_APPEND file: concurrent writers
    (threads or separate servers) never interleave or lose lines."""
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.write(fd, data) != len(data):
            raise OSError("写入不完整")
    finally:
        os.close(fd)


def make_feedback(cfg: Config):
    def feedback(turn, vote, turns):
        turns = turns or []
        if vote not in ("up", "down"):
            return "反馈无效：请选择 👍 或 👎。"
        try:
            t = turns[int(turn)]
        except (TypeError, ValueError, IndexError):
            return "没有可以评价的回答。"
        record = {"time": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
                  "question": t["question"], "answer": t["answer"], "citations": t["citations"], "vote": vote}
        try:
            append_line(cfg.feedback_path, record)
        except OSError as e:
            return f"反馈保存失败：{e.strerror or e}"
        return "已记录反馈，谢谢！" if vote == "up" else "已记录反馈，我们会改进这类问题。"

    return feedback


# ---------------------------------------------------------------- the page

def build_ui(index: Index) -> gr.Blocks:
    cfg = index.cfg
    respond = make_respond(index)
    feedback = make_feedback(cfg)

    with gr.Blocks(title="小巨人手册问答") as demo:
        gr.Markdown(f"## {HANDBOOK}问答助手\n"
                    f"只依据普华永道{HANDBOOK}作答，每句话都标注出处；手册里没有的内容会明确说明找不到。"
                    f"　回答方式：**{answerer_label(cfg)}**", elem_id="header")
        if index.notice:  # only what holds while this index is served (e.g. memory only), never past events
            gr.Markdown(f"（{html.escape(index.notice)}）", elem_id="index-notice")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="对话", elem_id="answer", height=440, buttons=["copy"], allow_tags=False,
                                     latex_delimiters=[], placeholder="请在下方输入问题，或点击示例问题。")
                with gr.Row():
                    question = gr.Textbox(label="问题", show_label=False, placeholder="输入关于手册的问题，按回车提问",
                                          elem_id="question", scale=5, max_lines=4)
                    ask_btn = gr.Button("提问", variant="primary", elem_id="ask", scale=1, min_width=80)
                with gr.Row():
                    section = gr.Dropdown(section_choices(index), value=ALL, label="检索范围", elem_id="section", scale=3)
                    raw_only = gr.Checkbox(label="只看原文", info="列出最相关的原文段落，不生成回答", value=False,
                                           elem_id="raw-only", scale=2)
                    clear_btn = gr.Button("清空对话", elem_id="clear", scale=1, min_width=80)
                fb_status = gr.Markdown("", elem_id="feedback-status")
                with gr.Column(elem_id="examples"):
                    example_btns = []
                    for group, qs in EXAMPLES.items():
                        gr.Markdown(f"**{group}**")
                        with gr.Row():
                            example_btns += [gr.Button(q, size="sm", elem_classes=["example"]) for q in qs]
            with gr.Column(scale=2):
                sources = gr.HTML(EMPTY_SOURCES, elem_id="sources", label="来源")

        outputs = [question, chatbot, sources, turns]
        question.submit(respond, [question, section, raw_only, turns], outputs, api_name="ask")
        ask_btn.click(respond, [question, section, raw_only, turns], outputs, api_visibility="private")
        for b in example_btns:  # one click asks: the button's label is the question
            b.click(respond, [b, section, raw_only, turns], outputs, api_visibility="private")

        def clear():
            return "", [], EMPTY_SOURCES, [], ""

        clear_btn.click(clear, None, [question, chatbot, sources, turns, fb_status], api_name="clear")
        # the chat's own trash icon empties the chat on the page: forget the session's turns with it
        chatbot.clear(clear, None, [question, chatbot, sources, turns, fb_status], api_visibility="private")

        def on_like(turns_, data: gr.LikeData):
            if data.liked not in (True, False):  # a thumb clicked off again: nothing to record
                return gr.skip()
            i = data.index if isinstance(data.index, int) else data.index[0]
            return feedback(i // 2, "up" if data.liked else "down", turns_)

        chatbot.like(on_like, [turns], [fb_status], api_visibility="private")

        def on_select(turns_, data: gr.SelectData):
            # clicking an earlier answer shows that answer's sources
            i = data.index // 2 if isinstance(data.index, int) else data.index[0] // 2
            return turns_[i]["sources"] if 0 <= i < len(turns_) else gr.skip()

        chatbot.select(on_select, [turns], [sources], api_visibility="private")

        # The thumbs in the chat send a LikeData event that API clients cannot produce; these hidden
        # inputs expose the same action as /feedback(turn, vote) (turn -1 = the latest).
        fb_turn = gr.Number(value=-1, precision=0, visible=False)
        fb_vote = gr.Textbox(value="up", visible=False)
        fb_send = gr.Button(visible=False)
        fb_send.click(feedback, [fb_turn, fb_vote, turns], [fb_status], api_name="feedback")
    return demo


THEME_FONTS = dict(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                   font_mono=["Noto Sans Mono CJK SC", "monospace"])  # system fonts only: nothing from a CDN


def main(host: str = "127.0.0.1", port: int | None = None) -> int:
    port = port or int(os.environ.get("ASSISTANT_PORT") or 7860)
    cfg = Config.from_env()
    try:
        index = load_index(cfg)
    except IndexUnavailable as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    demo = build_ui(index)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, theme=gr.themes.Default(**THEME_FONTS), css=CSS, share=False,
                ssr_mode=False, mcp_server=False, enable_monitoring=False, quiet=True, prevent_thread_lock=True)
    print(f"已就绪：请在浏览器打开 http://{host}:{port}/  （按 Ctrl+C 停止）", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
