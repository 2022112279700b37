"""The page's events. A question goes through three steps: `lock` (instant, no queue) disables the
question box, the buttons and the examples so nothing typed or clicked can race the answer; the
answer streams; `unlock` re-enables them and empties the box only if it still holds the question
that was answered. Nothing a user typed is ever dropped or erased.

SEND_GUARD_JS (run at page load) closes the gap before `lock`: it takes Enter and the 提问 click
itself, marks the page busy in the same keystroke, and an Enter or click that still lands while
busy (the instant the box is re-enabled, before the chain has ended) is queued and sent when the
answer ends (DONE_JS, the chain's last step).

Every handler takes untrusted input (the internal events can be called over HTTP too): it
validates, never raises, and answers a foreign or missing session with a Chinese line.
"""

from __future__ import annotations

import functools
import traceback

import gradio as gr

from .chat import Chat, Request
from .limits import log_rejected
from .render import EMPTY_SOURCES, LOOKING_UP
from .session import Session

FOREIGN = "会话已失效：请刷新页面后再提问。"
# Runs in the browser at the moment of the click or Enter, before any round trip: the box and the
# buttons are disabled at once, so a second Enter or click cannot slip in before `lock` answers.
LOCK_JS = ("(q) => { document.querySelectorAll('#question textarea, #ask, #clear, #examples button')"
           ".forEach((e) => { e.disabled = true; }); return [q]; }")
PRIVATE = dict(api_visibility="private")
# One question at a time, and none lost. Capture-phase listeners run before Gradio's own: Enter in
# the box becomes a click on 提问 (the same event chain), and `busy` is set synchronously, so no
# second send can slip in between a keystroke and the round trip that locks the page.
SEND_GUARD_JS = """() => {
  const g = window.__sendGuard = {busy: false, since: 0, queued: false, own: false};
  const box = () => document.querySelector('#question textarea');
  const begin = () => { g.busy = true; g.since = Date.now(); const b = box(); if (b) b.disabled = true; };
  const stale = () => g.busy && Date.now() - g.since > 600000;  // a chain that never ended
  g.send = () => {
    const ask = document.querySelector('#ask');
    if (!ask || ask.disabled) return;
    begin(); g.own = true;
    try { ask.click(); } finally { g.own = false; }
  };
  g.done = () => {
    g.busy = false;
    if (g.queued) { g.queued = false; g.send(); }
  };
  const inBox = (e) => e.target instanceof Element && e.target.closest('#question');
  const isSend = (e) => e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229;
  document.addEventListener('keydown', (e) => {
    if (!isSend(e) || !inBox(e)) return;
    e.preventDefault(); e.stopImmediatePropagation();
    if (g.busy && !stale()) { g.queued = true; return; }
    g.send();
  }, true);
  document.addEventListener('keypress', (e) => {
    if (isSend(e) && inBox(e)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  document.addEventListener('click', (e) => {
    const t = e.target instanceof Element && e.target.closest('#ask, #examples button');
    if (!t || g.own) return;
    if (g.busy && !stale()) {
      e.preventDefault(); e.stopImmediatePropagation();
      if (t.id === 'ask') g.queued = true;
      return;
    }
    begin();
  }, true);
}"""
DONE_JS = "() => { if (window.__sendGuard) window.__sendGuard.done(); return []; }"


def own_session(session, request: gr.Request | None) -> Session | None:
    """The caller's session, created on first use; None when it belongs to another address."""
    address = getattr(getattr(request, "client", None), "host", None) or "?"
    if session is None:
        return Session.new(address)
    if not isinstance(session, Session) or session.address != address:
        log_rejected("foreign session", address)
        return None
    return session


def vote_buttons(session: Session | None) -> tuple:
    """The 有用/没用 buttons for the answer on screen: hidden for errors and pending answers."""
    turn = session.shown_turn() if session else None
    if turn is None or not turn.votable:
        return gr.update(visible=False), gr.update(visible=False)
    return (gr.update(visible=True, value="有用（已选）" if turn.vote == "up" else "有用",
                      variant="primary" if turn.vote == "up" else "secondary"),
            gr.update(visible=True, value="没用（已选）" if turn.vote == "down" else "没用",
                      variant="primary" if turn.vote == "down" else "secondary"))


def view(session: Session, status: str = "") -> tuple:
    """(chat, sources, session, vote up, vote down, status) for the page."""
    turn = session.shown_turn()
    sources = LOOKING_UP if turn is not None and turn.mode == "pending" else (turn.sources if turn else EMPTY_SOURCES)
    return (session.messages(), sources, session, *vote_buttons(session), status)


def guarded(fallback):
    """Run a handler; an unexpected error is logged in one line and answered with `fallback()`."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                log_rejected(f"{fn.__name__} failed", f"{type(e).__name__}: {e}")
                traceback.print_exc(limit=3)
                return fallback()
        return inner
    return wrap


def wire_events(ui: dict, chat: Chat) -> None:
    page_outputs = [ui["chatbot"], ui["sources"], ui["session"], ui["vote_up"], ui["vote_down"], ui["status"]]
    lockable = [ui["question"], ui["ask"], ui["clear"], *ui["examples"]]
    skip_page = lambda: tuple(gr.skip() for _ in page_outputs)  # noqa: E731

    def lock(question):
        # the question goes back to the page as the asked one: a lone surrogate would make the reply unencodable
        text = question.encode("utf-8", "replace").decode("utf-8") if isinstance(question, str) else ""
        return (text, *[gr.update(interactive=False) for _ in lockable])

    @guarded(lambda: tuple(gr.update(interactive=True) for _ in lockable))
    def unlock(question, asked):
        box = gr.update(value="", interactive=True) if question == asked else gr.update(interactive=True)
        return (box, *[gr.update(interactive=True) for _ in lockable[1:]])

    def respond(question, section, raw_only, session, request: gr.Request):
        s = own_session(session, request)
        if s is None:
            yield (*skip_page()[:5], FOREIGN)
            return
        try:
            for s in chat.ask(s, Request(question, section, raw_only)):
                yield view(s)
        except Exception as e:  # chat.ask catches what it expects; anything else is a bug, logged briefly
            log_rejected("respond failed", f"{type(e).__name__}: {e}")
            yield (*skip_page()[:5], "抱歉，处理这个问题时出错了，请稍后再试。")

    for trigger, source in [(ui["question"].submit, ui["question"]), (ui["ask"].click, ui["question"])] + [
            (b.click, b) for b in ui["examples"]]:
        (trigger(lock, [source], [ui["asked"], *lockable], queue=False, js=LOCK_JS, **PRIVATE)
         .then(respond, [ui["asked"], ui["section"], ui["raw_only"], ui["session"]], page_outputs, **PRIVATE,
               concurrency_limit=chat.limits.capacity, concurrency_id="answer")
         .then(unlock, [ui["question"], ui["asked"]], lockable, queue=False, **PRIVATE)
         .then(None, None, None, js=DONE_JS, queue=False, **PRIVATE))
    _wire_api(ui, chat)
    _wire_panel(ui, chat, page_outputs)


def _wire_api(ui: dict, chat: Chat) -> None:
    """The API's own endpoints: /ask -> (chat, sources), /feedback -> status."""
    def api_ask(question, section, raw_only, session, request: gr.Request):
        s = own_session(session, request)
        if s is None:
            yield [{"role": "assistant", "content": FOREIGN}], EMPTY_SOURCES, gr.skip()
            return
        for s in chat.ask(s, Request(question, section, raw_only)):
            turn = s.shown_turn()
            yield s.messages(), LOOKING_UP if turn.mode == "pending" else turn.sources, s

    ui["api_ask"].click(api_ask, [ui["asked"], ui["section"], ui["raw_only"], ui["session"]],
                        [ui["chatbot"], ui["sources"], ui["session"]], api_name="ask",
                        concurrency_limit=chat.limits.capacity, concurrency_id="answer")

    @guarded(lambda: "反馈保存失败：请稍后再试。")
    def api_feedback(turn, vote, session, request: gr.Request):
        s = own_session(session, request)
        return FOREIGN if s is None else chat.vote(s, turn, vote)

    ui["fb_send"].click(api_feedback, [ui["fb_turn"], ui["fb_vote"], ui["session"]], [ui["status"]],
                        api_name="feedback")


def _wire_panel(ui: dict, chat: Chat, page_outputs: list) -> None:
    """Votes on the answer on screen, clicking an earlier answer, clearing the conversation."""
    vote_outputs = [ui["status"], ui["vote_up"], ui["vote_down"]]

    def voter(vote: str):
        @guarded(lambda: ("反馈保存失败：请稍后再试。", gr.skip(), gr.skip()))
        def on_vote(session, request: gr.Request):
            s = own_session(session, request)
            if s is None or s.shown_turn() is None:
                return (FOREIGN if s is None else "没有可以评价的回答。"), gr.skip(), gr.skip()
            status = chat.vote(s, s.shown_turn(), vote)
            return (status, *vote_buttons(s))
        return on_vote

    ui["vote_up"].click(voter("up"), [ui["session"]], vote_outputs, **PRIVATE)
    ui["vote_down"].click(voter("down"), [ui["session"]], vote_outputs, **PRIVATE)

    @guarded(lambda: (gr.skip(), gr.skip(), gr.skip(), gr.skip()))
    def on_select(session, data: gr.EventData, request: gr.Request):
        # gr.EventData, not gr.SelectData: the latter is built by Gradio before this handler runs
        # and fails on crafted event data; the raw dict is checked here
        s = own_session(session, request)
        raw = getattr(data, "_data", None)
        index = raw.get("index") if isinstance(raw, dict) else None
        index = index[0] if isinstance(index, (list, tuple)) and index else index
        if s is None or not isinstance(index, int) or isinstance(index, bool) or not 0 <= index // 2 < len(s.turns):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        s.shown = index // 2  # clicking an earlier answer shows that answer's sources and vote
        return (s.turns[s.shown].sources, *vote_buttons(s), "")

    ui["chatbot"].select(on_select, [ui["session"]], [ui["sources"], ui["vote_up"], ui["vote_down"], ui["status"]],
                         **PRIVATE)

    @guarded(lambda: tuple(gr.skip() for _ in page_outputs))
    def clear(session, request: gr.Request):
        s = own_session(session, request)
        if s is None:
            return (*(gr.skip() for _ in page_outputs[:-1]), FOREIGN)
        s.turns, s.shown = [], -1
        return view(s)

    ui["clear"].click(clear, [ui["session"]], page_outputs, api_name="clear")
    # the chat's own trash icon empties the chat on the page: forget the session's turns with it
    ui["chatbot"].clear(clear, [ui["session"]], page_outputs, **PRIVATE)
