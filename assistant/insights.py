"""What users asked, for the handbook's maintainers: `assistant insights [--out DIR] [--days N]`.

From the conversation store: the most asked questions, the refusal rate per day, the questions refused
most often (the handbook's content gaps) and the 👎 answers with their questions. Written as
insights.md + insights.json + plots (PNG) to an output folder; `markdown(collect(store))` is the same
report for a page (the chat UI can show it in a tab).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .store import Store, StoreError, TurnRow, VoteRow

PUNCTUATION = re.compile(r"[\s？?。！!，,、：:；;“”\"'（）()]+")


@dataclass
class Insights:
    since: str | None
    turns: int = 0
    refused: int = 0
    votes_up: int = 0
    votes_down: int = 0
    top_questions: list[dict] = field(default_factory=list)  # {question, asked, refused}
    refusal_by_day: list[dict] = field(default_factory=list)  # {day, turns, refused, rate}
    top_refused: list[dict] = field(default_factory=list)  # {question, refused}
    downvoted: list[dict] = field(default_factory=list)  # {question, rewritten, answer, voted_at, session}

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.turns if self.turns else 0.0


def question_key(q: str) -> str:
    """Questions that differ only in spacing, punctuation or case count as one."""
    return PUNCTUATION.sub("", q).lower()


def _grouped_questions(s: Session, since: datetime | None) -> list[dict]:
    refused = func.sum(case((TurnRow.refused, 1), else_=0))
    q = select(TurnRow.question, func.count(), refused).group_by(TurnRow.question)
    if since:
        q = q.where(TurnRow.created_at >= since)
    groups: dict[str, dict] = {}
    for question, asked, n_refused in s.execute(q):
        g = groups.setdefault(question_key(question), {"question": question, "asked": 0, "refused": 0, "_top": 0})
        if (asked, -len(question), question) > (g["_top"], -len(g["question"]), g["question"]) or not g["_top"]:
            # the wording asked most often (then the shortest) names the group, whatever order rows come in
            g["question"], g["_top"] = question, asked
        g["asked"] += asked
        g["refused"] += int(n_refused or 0)
    return [{k: v for k, v in g.items() if k != "_top"} for g in groups.values()]


def _by_day(s: Session, since: datetime | None) -> list[dict]:
    day = func.date(TurnRow.created_at)
    q = select(day, func.count(), func.sum(case((TurnRow.refused, 1), else_=0))).group_by(day).order_by(day)
    if since:
        q = q.where(TurnRow.created_at >= since)
    return [{"day": str(d), "turns": n, "refused": int(r or 0), "rate": round(int(r or 0) / n, 4)}
            for d, n, r in s.execute(q)]


def _downvoted(s: Session, since: datetime | None, limit: int) -> list[dict]:
    q = (select(TurnRow, VoteRow.updated_at).join(VoteRow, VoteRow.turn_id == TurnRow.id)
         .where(VoteRow.vote == "down").order_by(VoteRow.updated_at.desc()).limit(limit))
    if since:
        q = q.where(VoteRow.updated_at >= since)
    return [{"question": t.question, "rewritten": t.rewritten, "answer": t.answer, "refused": t.refused,
             "voted_at": str(at)[:19], "session": t.session} for t, at in s.execute(q)]


def collect(store: Store, days: int | None = None, limit: int = 20) -> Insights:
    since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
    ins = Insights(since=since.isoformat(timespec="seconds") if since else None)
    try:
        with Session(store.engine) as s:
            groups = _grouped_questions(s, since)
            ins.refusal_by_day = _by_day(s, since)
            votes = select(VoteRow.vote, func.count()).group_by(VoteRow.vote)
            counts = dict(s.execute(votes.where(VoteRow.updated_at >= since) if since else votes).all())
            ins.downvoted = _downvoted(s, since, limit)
    except SQLAlchemyError as e:
        raise StoreError(f"数据库读取失败：{str(getattr(e, 'orig', e)).splitlines()[0][:200]}") from None
    ins.turns = sum(g["asked"] for g in groups)
    ins.refused = sum(g["refused"] for g in groups)
    ins.votes_up, ins.votes_down = counts.get("up", 0), counts.get("down", 0)
    ins.top_questions = sorted(groups, key=lambda g: (-g["asked"], g["question"]))[:limit]
    refused = [{"question": g["question"], "refused": g["refused"]} for g in groups if g["refused"]]
    ins.top_refused = sorted(refused, key=lambda g: (-g["refused"], g["question"]))[:limit]
    return ins


def _cell(text: str | None, n: int = 80) -> str:
    text = " ".join(str(text or "").split()).replace("|", "\\|")
    return text if len(text) <= n else text[:n] + "……"


def markdown(ins: Insights) -> str:
    out = [f"# 用户提问洞察{'（自 ' + ins.since[:10] + ' 起）' if ins.since else ''}", "",
           f"回答 {ins.turns} 次，拒答 {ins.refused} 次（拒答率 {ins.refusal_rate:.1%}）；👍 {ins.votes_up}，👎 {ins.votes_down}。", ""]
    if not ins.turns:
        return "\n".join(out + ["还没有任何提问记录。"])
    out += ["## 最常问的问题", "", "| 次数 | 拒答 | 问题 |", "|---:|---:|---|"]
    out += [f"| {g['asked']} | {g['refused']} | {_cell(g['question'])} |" for g in ins.top_questions]
    out += ["", "## 每天的拒答率", "", "| 日期 | 回答 | 拒答 | 拒答率 |", "|---|---:|---:|---:|"]
    out += [f"| {d['day']} | {d['turns']} | {d['refused']} | {d['rate']:.1%} |" for d in ins.refusal_by_day]
    out += ["", "## 最常被拒答的问题（手册可能缺少的内容）", ""]
    out += ["| 拒答次数 | 问题 |", "|---:|---|"] + [f"| {g['refused']} | {_cell(g['question'])} |" for g in ins.top_refused] \
        if ins.top_refused else ["没有被拒答的问题。"]
    out += ["", "## 👎 的回答", ""]
    out += ["| 时间 | 问题 | 回答 |", "|---|---|---|"] + [
        f"| {d['voted_at']} | {_cell(d['question'], 60)} | {_cell(d['answer'], 120)} |" for d in ins.downvoted] \
        if ins.downvoted else ["没有 👎 的回答。"]
    return "\n".join(out) + "\n"


def _barh(fig, rows: list[dict], value: str, title: str, color: str):
    ax = fig.subplots()
    rows = rows[:10][::-1]
    ax.barh([_cell(r["question"], 24) for r in rows], [r[value] for r in rows], color=color)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()


def plot(ins: Insights, out: Path) -> list[Path]:
    import matplotlib
    from matplotlib.figure import Figure

    from .devtools.report import cjk_font

    font = cjk_font()
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    written = []
    with matplotlib.rc_context(rc):
        if ins.refusal_by_day:
            fig = Figure(figsize=(8, 3.5))
            ax = fig.subplots()
            days = [d["day"] for d in ins.refusal_by_day]
            ax.plot(days, [d["rate"] * 100 for d in ins.refusal_by_day], marker="o", color="#c2410c")
            ax.set_ylabel("拒答率 %" if font else "refusal rate %")
            ax.set_ylim(0, 100)
            ax.set_title("每天的拒答率" if font else "Refusal rate per day")
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
            fig.tight_layout()
            written.append(out / "refusal_rate.png")
            fig.savefig(written[-1], dpi=110)
        for rows, value, name, title, color in ((ins.top_questions, "asked", "top_questions.png", "最常问的问题", "#2563eb"),
                                                (ins.top_refused, "refused", "top_refused.png", "最常被拒答的问题", "#b45309")):
            if rows:
                fig = Figure(figsize=(8, 4.5))
                _barh(fig, rows, value, title if font else name[:-4], color)
                written.append(out / name)
                fig.savefig(written[-1], dpi=110)
    return written


def write_report(ins: Insights, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "insights.md").write_text(markdown(ins), "utf-8")
    data = asdict(ins) | {"refusal_rate": round(ins.refusal_rate, 4)}
    (out / "insights.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    return [out / "insights.md", out / "insights.json"] + plot(ins, out)


def page_markdown(cfg, days: int | None = None) -> str:
    """The report as markdown for a page (e.g. a 洞察 tab); a database problem is one line in the page."""
    try:
        store = Store.open(cfg)
        try:
            return markdown(collect(store, days=days))
        finally:
            store.close()
    except StoreError as e:
        return f"⚠️ {e}"


def main(args) -> int:
    from .config import Config

    cfg = Config.from_env()
    if args.days is not None and args.days < 1:
        raise StoreError("--days 至少为 1。", "invalid")
    store = Store.open(cfg)
    try:
        ins = collect(store, days=args.days, limit=args.limit)
    finally:
        store.close()
    out = Path(args.out) if args.out else cfg.data_dir / "insights"
    written = write_report(ins, out)
    if args.json:
        print(json.dumps(asdict(ins) | {"refusal_rate": round(ins.refusal_rate, 4), "files": [str(p) for p in written]},
                         ensure_ascii=False, indent=1))
    else:
        print(markdown(ins))
    print("已写入：" + "，".join(str(p) for p in written), file=sys.stderr)
    return 0
