"""A 洞察 (insights) panel for the chat page, for the handbook's maintainers.

Call it inside a Blocks layout, e.g. in build_ui:

    with gr.Tab("洞察"):
        insights_panel(cfg)

It shows `assistant insights` as markdown (the same report as the CLI, without the plots) and
refreshes it on a button. A database that cannot be read is one line in the panel.
"""

from __future__ import annotations

import gradio as gr

from assistant.config import Config
from assistant.insights import page_markdown

DAY_CHOICES = {"全部": None, "最近 7 天": 7, "最近 30 天": 30}


def insights_panel(cfg: Config) -> gr.Markdown:
    def refresh(period: str) -> str:
        return page_markdown(cfg, days=DAY_CHOICES.get(period))

    with gr.Row():
        period = gr.Radio(list(DAY_CHOICES), value="全部", label="时间范围", elem_id="insights-period", scale=3)
        button = gr.Button("刷新", elem_id="insights-refresh", scale=1, min_width=80)
    report = gr.Markdown("点击“刷新”查看用户提问洞察。", elem_id="insights")
    button.click(refresh, [period], [report], api_name="insights")
    period.change(refresh, [period], [report], api_visibility="private")
    return report
