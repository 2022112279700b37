"""Issue 10 in a real browser (Debian chromium via Playwright), network cut off: a three-turn
conversation with a pronoun and a measure-only follow-up, and a 繁體 question, answered and cited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from _browser import ARGS, CHROMIUM, LOCAL, TIMEOUT_MS, needs_chromium  # noqa: E402,F401
from _ui_server import running_server  # noqa: E402


pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(index, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("ui-dialogue")) as s:
        yield s


@pytest.fixture
def page(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        blocked = []
        page.route("**/*", lambda r: r.continue_() if LOCAL.match(r.request.url) else (blocked.append(r.request.url), r.abort()))
        page.goto(server.url, wait_until="load")
        page.wait_for_selector("#question textarea")
        yield page
        browser.close()
        assert blocked == [], f"the page tried to reach outside: {blocked}"


def ask(page, question: str, n: int):
    """Ask, wait for the n-th answer to be complete, return its bubble. (expect() waits 5 s unless told: the
    page's default timeout does not apply to it, and a first answer on a busy machine can take longer.)"""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    bot = page.locator("#answer .message.bot")
    expect(bot).to_have_count(n, timeout=TIMEOUT_MS)
    expect(bot.nth(n - 1)).not_to_contain_text("正在查阅手册", timeout=TIMEOUT_MS)
    expect(page.locator("#question textarea")).to_be_enabled(timeout=TIMEOUT_MS)
    expect(page.locator("#sources")).not_to_contain_text("正在查阅手册", timeout=TIMEOUT_MS)
    page.wait_for_function("() => !document.querySelector('#answer .pending, #answer .generating')")
    return bot.nth(n - 1)


def expect_cited(page, answer, index):
    expect(answer.locator("a.cite-ref").first).to_be_visible()
    mark = page.locator("#sources mark").first
    expect(mark).to_be_visible()
    assert mark.inner_text().strip() in index.docs["handbook"].text  # the highlighted quote is source text


def test_conversation_with_pronoun_and_measure_only_follow_up(page, index):
    first = ask(page, "普渡科技的机器人累计出货多少台？", 1)
    expect(first).to_contain_text("70000台")
    expect_cited(page, first, index)

    second = ask(page, "它是什么时候成立的？", 2)  # 它 = 普渡科技, named in the first question
    expect(second).to_contain_text("理解为：“普渡科技是什么时候成立的”")
    expect(second).to_contain_text("2016-01")
    expect_cited(page, second, index)
    expect(page.locator("#sources .cite").first).to_have_attribute("data-section", re.compile("普渡科技"))

    third = ask(page, "那专利呢？", 3)  # only the measure changes: still 普渡科技
    expect(third).to_contain_text("理解为：“普渡科技的专利")
    expect(third).to_contain_text("1474件")
    expect_cited(page, third, index)


def test_traditional_question(page, index):
    answer = ask(page, "廣州對新認定的國家級小巨人，一次過獎勵幾多錢？", 1)
    expect(answer).to_contain_text("100萬元")  # the lead line in the user's script
    expect_cited(page, answer, index)
    expect(page.locator("#sources mark").first).to_contain_text("100万元")  # the quote exactly as the source
