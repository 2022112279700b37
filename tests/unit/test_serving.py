"""Where `assistant serve` binds, and its usage errors (no server is started here)."""

from __future__ import annotations

from assistant.config import Config
from assistant.web.serving import choose_host


def test_without_a_key_the_server_stays_on_loopback(capsys):
    assert choose_host(Config(), None) == "127.0.0.1"
    assert capsys.readouterr().err == ""


def test_with_a_key_it_listens_everywhere_by_default():
    assert choose_host(Config(api_key="k"), None) == "0.0.0.0"


def test_an_explicit_host_wins_and_warns_without_a_key(capsys):
    assert choose_host(Config(), "0.0.0.0") == "0.0.0.0"
    assert "未设置 ASSISTANT_API_KEY" in capsys.readouterr().err
    assert choose_host(Config(api_key="k"), "10.0.0.5") == "10.0.0.5"
    assert capsys.readouterr().err == ""


def test_workers_must_be_positive(capsys):
    from assistant.cli import main

    assert main(["serve", "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == "错误：--workers 至少为 1。"
