"""The web chat's pure parts: limits, history caps, literal rendering, merged sources (no index)."""

from __future__ import annotations

import html
import re
import threading
import time

import pytest

from assistant.web.limits import AnswerSlots, Busy, RateLimiter, bounded_history
from assistant.web.render import SourceEntry, chat_markdown, literal_markdown, shown_question
from assistant.web.session import Session, Turn, rejected_excerpt


def history(n: int, size: int = 10) -> list[dict]:
    out = []
    for i in range(n):
        out += [{"role": "user", "content": f"问{i}" + "x" * size}, {"role": "assistant", "content": f"答{i}"}]
    return out


def test_history_keeps_the_newest_turns_within_both_caps():
    kept, dropped = bounded_history(history(15), turns=10, chars=10_000)
    assert len(kept) == 20 and dropped == 5 and kept[0]["content"].startswith("问5")
    kept, dropped = bounded_history(history(15, size=1000), turns=10, chars=3_500)
    assert len(kept) == 6 and dropped == 12 and kept[-2]["content"].startswith("问14")


def test_a_huge_message_is_dropped_whole_never_cut():
    hist = history(2) + [{"role": "user", "content": "广州" * 500_000}, {"role": "assistant", "content": "答"}]
    kept, dropped = bounded_history(hist, turns=10, chars=8_000)
    assert kept == [] and dropped == 3  # the newest pair alone is over the budget: nothing older is used


def test_rate_limiter_allows_a_burst_then_the_rate():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # keys are independent
    time.sleep(1.05)
    assert limiter.allow("a")


def test_answer_slots_say_busy_beyond_workers_plus_queue():
    slots = AnswerSlots(workers=1, waiting=1, wait_s=5)
    release = threading.Event()
    entered = []

    def hold():
        with slots:
            entered.append(1)
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # one inside, one waiting: the third is turned away at once
    with pytest.raises(Busy):
        with slots:
            pass
    release.set()
    for t in threads:
        t.join()
    assert len(entered) == 2


@pytest.mark.parametrize("text", ["![x](http://10.255.255.1/q.png)", "[点我](javascript:alert(1))", "**粗体** _斜体_",
                                  "<img src=x onerror=alert(1)>", "http://example.com www.example.com a@b.com",
                                  "# 标题\n- 列表\n> 引用", "`code` ~~删除~~ | 表 |", "&lt; &amp;"])
def test_user_text_becomes_literal_markdown(text):
    out = literal_markdown(text)
    bare = re.sub(r"&#\d+;", "", out)  # what the markdown parser sees besides character references
    assert not any(ch in bare for ch in "<>[]()!*_`~|#:.@&")
    assert html.unescape(out) == text


def test_shown_question_is_bounded_and_counts_what_was_typed():
    excerpt, chars = rejected_excerpt("深" * 50_000 + "\ud800")
    assert len(excerpt) == 500 and chars == 50_001
    excerpt.encode("utf-8")  # storable and loggable
    shown = html.unescape(shown_question(excerpt, chars))
    assert shown.endswith("（共 50001 字）") and len(shown) < 400


def test_chat_markdown_links_markers_and_shows_footnotes_as_superscripts():
    text = "（理解为：“东莞有多少家”）\n东莞有10家^[5]。[1]见上文。[2]"
    out = chat_markdown(text, {1: 1, 2: 1})
    assert '<sup class="fn">5</sup>' in out and "^[5]" not in out
    assert out.count('href="#cite-1"') == 2  # [2] shares [1]'s merged entry
    assert out.startswith("*（理解为") and "[5]" not in out


def test_neighbouring_spans_are_merged():
    e = SourceEntry("handbook", "s", 0, 100, [1, 2, 3], [(10, 20), (20, 30), (50, 60)])
    assert e.merged_spans() == [(10, 30), (50, 60)]


def test_session_finds_only_its_own_votable_turns():
    s = Session.new("127.0.0.1")
    s.turns = [Turn("问", "answer", id="a" * 32), Turn("坏", "error")]
    assert s.find("").id == "a" * 32 and s.find("-1").id == "a" * 32
    assert s.find("b" * 32) is None and s.find(["x"]) is None and s.find(float("nan")) is None
    assert s.history() == [{"role": "user", "content": "问"}, {"role": "assistant", "content": ""}]
