"""Rendering of an eval Report: metrics.json, report.md (tables + every failed question), report.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .evaluation import METRICS, Gate, ItemResult, Report, metrics

# Chinese-capable fonts, in order of preference; without one the chart falls back to English labels.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "Droid Sans Fallback")
CJK_FILES = re.compile(r"NotoSansCJK|NotoSansSC|SourceHanSans|wqy|DroidSansFallback", re.I)
PLOTTED = ("hit@5", "answer_accuracy", "citation_support", "number_grounding", "refusal_rate", "false_refusal_rate")
TOP_SHOWN = 5


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} ms"


def _table(columns: dict[str, dict]) -> str:
    """Metrics as rows, one column per group (all / category / difficulty)."""
    head = "| 指标 | " + " | ".join(columns) + " |"
    rows = [head, "|" + "---|" * (len(columns) + 1)]
    for m in ("n",) + METRICS:
        rows.append(f"| {m} | " + " | ".join(_fmt(col.get(m)) for col in columns.values()) + " |")
    return "\n".join(rows)


def metrics_table(report: Report) -> str:
    return _table({"全部": {**report.metrics, "n": report.n}, **report.by_category})


def difficulty_table(report: Report) -> str:
    groups = {}
    for d in ("easy", "medium", "hard"):
        sub = [r for r in report.results if r.item.difficulty == d]
        if sub:
            groups[d] = {**metrics(sub), "n": len(sub)}
    return _table(groups)


def _quote_block(text: str) -> str:
    return "\n".join("> " + line for line in text.strip().splitlines()) or "> "


def _failure(r: ItemResult) -> str:
    it, a = r.item, r.answer
    out = [f"### {it.id} · {it.category} · {it.difficulty}", "",
           f"- 问题：{it.question}",
           f"- 失败原因：{'；'.join(r.failures())}（{r.failure_class()}）",
           f"- 决定：{r.deciding()}",
           f"- 应包含：{'、'.join(f'`{m}`' for m in it.must_contain) if it.answerable else '（应拒答）'}",
           f"- 延迟：{r.latency_ms:.0f} ms", "",
           "回答：" + ("（拒答）" if a.refused else ""), ""]
    out.append(_quote_block(a.answer))
    out.append("")
    if a.citations:
        out.append("引用：")
        for c, ok in zip(a.citations, r.citations_valid):
            on_evidence = any(s.overlaps(c.doc, c.start, c.end) for s in r.spans)
            flags = ("原文一致" if ok else "原文不符") + ("，命中证据" if on_evidence else "")
            quote = c.quote.strip().replace("\n", " ")
            out.append(f"- [{c.n}] {c.section}（{c.doc}:{c.start}-{c.end}，{flags}）“{quote[:120]}{'…' if len(quote) > 120 else ''}”")
        out.append("")
    out.append(f"检索前 {TOP_SHOWN}：" + ("" if it.answerable else "（不可回答题，无证据）"))
    for h in r.hits[:TOP_SHOWN]:
        c = h.chunk
        mark = ("✅" if any(s.overlaps(c.doc, c.start, c.end) for s in r.spans) else "❌") if it.answerable else "·"
        out.append(f"{h.rank}. {mark} {c.section}（{c.doc}:{c.start}-{c.end}，{c.kind}）")
    if it.answerable and r.first_hit is None:
        out.append(f"\n（前 {len(r.hits)} 个检索结果均未命中证据）")
    elif it.answerable and r.first_hit > TOP_SHOWN:
        out.append(f"\n（首个命中证据的检索结果排第 {r.first_hit}）")
    return "\n".join(out)


def failure_classes(report: Report) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in report.results:
        c = r.failure_class()
        if c:
            counts[c] = counts.get(c, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def markdown(report: Report, qa_path: Path, gates: list[Gate] | None, failed: list, skipped: list,
             show_failures: bool = True) -> str:
    failures = [r for r in report.results if r.failures()]
    lat = report.latency_ms
    parts = [
        "# 评测报告", "",
        f"- 评测集：`{qa_path}`（{report.n} 题）",
        f"- 问答延迟：p50 {_ms(lat['p50'])}，p95 {_ms(lat['p95'])}；总用时 {report.wall_s:.1f} 秒",
        f"- 失败题目：{len(failures)} 题", "",
        "## 指标（全部与各类别）", "", metrics_table(report), "",
        "## 指标（按难度）", "", difficulty_table(report), "",
    ]
    if gates is not None:
        bad = {g.metric: v for g, v in failed}
        parts += ["## 门槛", "", "| 指标 | 要求 | 实测 | 结果 |", "|---|---|---|---|"]
        for g in gates:
            v = report.metrics.get(g.metric)
            verdict = "未判定" if g in skipped else "❌ 未通过" if g.metric in bad else "✅ 通过"
            parts.append(f"| {g.metric} | {g.describe()} | {_fmt(v)} | {verdict} |")
        parts.append("")
    parts += ["## 失败类别", "", "| 类别 | 题数 |", "|---|---|"]
    parts += [f"| {c} | {n} |" for c, n in failure_classes(report).items()] + [""]
    parts += ["## 失败题目", ""]
    if not show_failures:
        parts.append("（封存划分：只报告指标，不逐题列出。）")
        return "\n".join(parts)
    if not failures:
        parts.append("无。")
    for r in failures:
        parts += [_failure(r), ""]
    return "\n".join(parts)


def cjk_font() -> str | None:
    """A Chinese-capable font family known to matplotlib, registering system fonts its cache missed."""
    from matplotlib import font_manager as fm

    def known():
        names = {f.name for f in fm.fontManager.ttflist}
        return next((n for want in CJK_FONTS for n in sorted(names) if n.startswith(want)), None)

    found = known()
    if found:
        return found
    # fonts installed after matplotlib built its font cache are not in it
    for path in fm.findSystemFonts():
        if CJK_FILES.search(Path(path).name):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return known()


def plot(report: Report, path: Path) -> None:
    import matplotlib
    from matplotlib.figure import Figure  # the OO API: no pyplot global state, renders with Agg

    font = cjk_font()
    zh = font is not None
    rc = {"font.family": [font, "DejaVu Sans"] if zh else ["DejaVu Sans"], "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(14, 5.5), dpi=110, layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[3, 1])
        groups = {"all": {**report.metrics, "n": report.n}, **report.by_category}
        names = list(groups)
        width = 0.8 / len(PLOTTED)
        for j, m in enumerate(PLOTTED):
            xs = [i + (j - (len(PLOTTED) - 1) / 2) * width for i, g in enumerate(names) if groups[g][m] is not None]
            ys = [groups[g][m] for g in names if groups[g][m] is not None]
            left.bar(xs, ys, width, label=m, color=f"C{j}")  # fixed colour: a metric with no bars keeps its own
        left.set_xticks(range(len(names)), [f"{('全部' if zh else 'all') if g == 'all' else g}\nn={groups[g]['n']}" for g in names])
        left.set_ylim(0, 1.05)
        left.set_ylabel("比例" if zh else "share")
        left.set_title("各类别主要指标" if zh else "Main metrics by category")
        left.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))
        left.grid(axis="y", alpha=0.3)
        lat = [max(r.latency_ms, 0.1) for r in report.results]
        if lat:
            # latency is long-tailed (a busy machine turns 30 ms into seconds): log-spaced bins
            lo, hi = min(lat), max(lat)
            right.hist(lat, bins=np.geomspace(lo, hi * 1.01, 30) if hi > lo else 10, color="#4c72b0")
            right.set_xscale("log")
        for key, style in (("p50", "--"), ("p95", ":")):
            v = report.latency_ms[key]
            if v is not None:
                right.axvline(v, color="#c44e52", linestyle=style, label=f"{key} {v:.0f} ms")
        right.set_title("问答延迟分布" if zh else "ask() latency")
        right.set_xlabel("毫秒（对数刻度）" if zh else "ms (log scale)")
        right.set_ylabel("题数" if zh else "questions")
        right.legend(fontsize=8)
        fig.savefig(path)


def write_outputs(report: Report, out: Path, qa_path: Path, gates: list[Gate] | None, failed: list, skipped: list,
                  show_failures: bool = True) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=1) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(report, qa_path, gates, failed, skipped, show_failures), "utf-8")
    plot(report, out / "report.png")
    return out
