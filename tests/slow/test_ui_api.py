"""The web chat through its API (gradio_client), against the real ui.py server and the real index."""

from __future__ import annotations

import html
import os
import re

os.environ["HF_HUB_OFFLINE"] = "1"  # gradio_client would otherwise call out to a hub when constructed

import pytest
from gradio_client import Client

from assistant import REFUSAL
from assistant.config import MAX_QUESTION_CHARS

from _ui_server import ROOT, running_server

ENTRY = re.compile(r'<div class="cite[^"]*" id="cite-(\d+)" data-doc="([^"]+)" data-start="(\d+)" data-end="(\d+)" data-section="([^"]*)"')


@pytest.fixture(scope="module")
def server(index, tmp_path_factory):  # `index` first: the index is built before the server starts
    with running_server(tmp_path_factory.mktemp("ui-api")) as s:
        yield s


@pytest.fixture
def client(server):
    """A fresh session (its own chat history) per test."""
    return Client(server.url, verbose=False)


def ask(client, question, section="全部", raw_only=False):
    """-> (last assistant message text, sources html, the whole chat)."""
    chat, sources = client.predict(question, section, raw_only, api_name="/ask")
    return text_of(chat[-1]), sources, chat


def text_of(message: dict) -> str:
    content = message["content"]
    return "".join(c.get("text", "") for c in content) if isinstance(content, list) else str(content)


def entries(sources: str) -> list[tuple[int, str, int, int, str]]:
    return [(int(n), doc, int(a), int(b), sec) for n, doc, a, b, sec in ENTRY.findall(sources)]


def test_answer_with_citations(client, index):
    answer, sources, chat = ask(client, "深圳有多少家上市小巨人？")
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "109" in answer
    assert re.search(r'href="#cite-1">\[1\]</a>', answer)  # markers link to the sources panel
    found = entries(sources)
    assert found and [n for n, *_ in found] == list(range(1, len(found) + 1)) and "来源" in sources
    marks = re.findall(r"<mark>([^<]+)</mark>", sources)  # each quote highlighted inside its paragraph
    assert len(marks) == len(found)
    for (_, doc, start, end, _), mark in zip(found, marks):
        assert html.unescape(mark) == index.docs[doc].text[start:end]


def test_answer_streams_sentence_by_sentence(server):
    client = Client(server.url, verbose=False)
    job = client.submit("深圳有多少家上市小巨人？", "全部", False, api_name="/ask")
    final = job.result(timeout=120)
    partial = [text_of(out[0][-1]) for out in job.outputs() if out[0] and out[0][-1]["role"] == "assistant"]
    answer = text_of(final[0][-1])
    assert partial[-1] == answer
    growing = [p for p in partial if "[1]" in p]
    assert len(growing) >= 2 and growing[0] != answer and answer.startswith(growing[0][: len(growing[0]) // 2])


def test_follow_up_uses_history(client):
    first, _, _ = ask(client, "广州有多少家上市小巨人？")
    assert "广州" in first
    second, sources, chat = ask(client, "那东莞呢？")
    assert len(chat) == 4
    assert "东莞" in second and "理解为" in second
    assert entries(sources)


def test_section_filter_restricts_sources(client):
    _, raw, _ = ask(client, "小巨人的融资情况", section="深圳篇", raw_only=True)
    assert entries(raw) and all("深圳篇" in sec for *_, sec in entries(raw))
    # answered or refused, whatever is shown (citations or related passages) comes from 深圳篇
    _, sources, _ = ask(client, "有多少家上市小巨人？", section="深圳篇")
    found = entries(sources)
    assert found and all("深圳篇" in html.unescape(sec) for *_, sec in found)
    _, unfiltered, _ = ask(client, "有多少家上市小巨人？")
    assert any("深圳篇" not in sec for *_, sec in entries(unfiltered))


def test_retrieval_only_mode(client, index):
    answer, sources, _ = ask(client, "深圳有多少家上市小巨人？", raw_only=True)
    assert answer.startswith("只看原文")
    found = entries(sources)
    assert 1 <= len(found) <= 5 and [n for n, *_ in found] == list(range(1, len(found) + 1))
    assert "<mark>" not in sources  # passages, not citations: nothing claims to support an answer
    assert "相关度 0." not in sources  # raw fusion scores mean nothing to a reader: the order says it
    for _, doc, start, end, _ in found:
        assert index.docs[doc].text[start:end].strip()[:10].replace("<", "&lt;") in sources


def test_refusal_is_labelled(client):
    answer, sources, _ = ask(client, "今天天气怎么样？")
    assert REFUSAL in answer and "相关段落（仅供参考，并非答案）" in answer
    assert "<mark>" not in sources
    assert "相关段落（仅供参考，并非答案）" in sources


def test_feedback_one_changeable_vote_in_the_store(server):
    client = Client(server.url, verbose=False)
    ask(client, "深圳有多少家上市小巨人？")
    before = server.votes()
    assert "已记录" in client.predict("", "down", api_name="/feedback")
    assert "已记录" in client.predict("", "up", api_name="/feedback")  # changed, not added
    votes = server.votes()
    assert len(votes) == len(before) + 1
    vote = votes[-1]
    assert vote["question"] == "深圳有多少家上市小巨人？" and vote["vote"] == "up" and vote["changes"] == 1
    assert "无效" in client.predict("", "maybe", api_name="/feedback")


def test_feedback_storage_error_is_chinese(index, tmp_path):
    """A data folder that cannot hold the database: the vote says so in Chinese, the answer stands."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", "utf-8")
    with running_server(tmp_path / "srv", ASSISTANT_DATA_DIR=str(blocker / "data")) as s:
        client = Client(s.url, verbose=False)
        answer, _, _ = ask(client, "深圳有多少家上市小巨人？")
        assert "109" in answer
        status = client.predict("", "up", api_name="/feedback")
        assert status.startswith("反馈保存失败：") and not re.search("[A-Za-z]", status), status
        assert "Traceback" not in s.output()


@pytest.mark.parametrize("question, message", [
    ("", "问题为空"),
    ("   \n ", "问题为空"),
    ("深" * (MAX_QUESTION_CHARS + 1), "问题过长"),
    ("\x00\x01\x02binary", "二进制"),
])
def test_bad_input_shows_the_cli_message(client, question, message):
    import assistant

    with pytest.raises(assistant.BadInput) as e:
        assistant.check_question(question)
    answer, sources, chat = ask(client, question)
    assert message in answer and str(e.value) in answer  # the very message the CLI prints
    assert "cite-" not in sources
    assert len(text_of(chat[0])) < 400  # a huge input is shown shortened


def test_user_text_is_escaped(client):
    _, _, chat = ask(client, "<script>alert(1)</script>![x](http://10.255.255.1/q.png)深圳有多少家上市小巨人？")
    shown = text_of(chat[0])
    assert "<" not in shown and "](" not in shown and "http:" not in shown  # no tag, link or image syntax left
    assert html.unescape(shown) == "<script>alert(1)</script>![x](http://10.255.255.1/q.png)深圳有多少家上市小巨人？"


def test_clear_resets_the_session(client):
    ask(client, "深圳有多少家上市小巨人？")
    chat, sources, status = client.predict(api_name="/clear")
    assert chat == [] and "cite-" not in sources
    _, _, chat = ask(client, "广州有多少家上市小巨人？")
    assert len(chat) == 2


def test_no_outbound_network(server):
    """Everything above ran with every non-loopback connection refused and logged."""
    answer, _, _ = ask(Client(server.url, verbose=False), "广东一共有多少家专精特新小巨人企业？")
    assert answer
    assert server.blocked() == [], server.blocked()
    out = server.output()
    assert "已就绪" in out and "Traceback" not in out, out[-3000:]
