"""What the web app says at start: one line per stage in the terminal, and a page banner that only
states what holds now (a rebuild at start is not news once the index is ready)."""

from __future__ import annotations

import dataclasses

from assistant.web.app import build_ui, load_index


def terminal_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_first_start_builds_with_one_line_per_stage(config, tmp_path, capfd):
    index = load_index(config.with_(index_dir=tmp_path / "index"))  # empty index folder: a first start
    out, err = capfd.readouterr()
    lines = terminal_lines(out) + terminal_lines(err)
    assert lines[0] == "索引尚未构建：正在构建索引……", lines
    assert lines[1].startswith("索引就绪：") and "取自嵌入缓存" in lines[1], lines
    assert len(lines) == 2, lines
    assert index.rebuild_reason == "索引尚未构建" and index.notice is None
    assert "index-notice" not in component_ids(build_ui(index))  # the page does not say "rebuilt" all session

    load_index(config.with_(index_dir=tmp_path / "index", top_k=6))  # a second start: the index is loaded
    out, err = capfd.readouterr()
    lines = terminal_lines(out) + terminal_lines(err)
    assert len(lines) == 1 and lines[0].startswith("索引已加载："), lines


def component_ids(demo) -> set[str]:
    return {c.get("props", {}).get("elem_id") for c in demo.config["components"]}


def test_banner_states_a_fact_that_still_holds(index):
    memory_only = dataclasses.replace(index, notice="索引目录 /x 不可写（只读），本次索引仅在内存中使用。")
    demo = build_ui(memory_only)
    banner = [c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "index-notice"]
    assert len(banner) == 1 and "仅在内存中使用" in banner[0]["props"]["value"]
