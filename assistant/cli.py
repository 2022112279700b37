"""Command line: `assistant build | search | ask | chat | eval | bench | tune | train | doc2query | serve | insights`.

With --json, stdout carries exactly one JSON document; progress and logs go to stderr.
Bad input gets a one-line Chinese message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _err(msg: str, code: int = 2) -> int:
    print(f"错误：{msg}", file=sys.stderr)
    return code


def _read_arg(value: str) -> str:
    # argv arrives as str; undecodable bytes come through as surrogates: treat them as binary input
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        from .answer import BadInput

        raise BadInput("输入包含无法识别的二进制内容，请用中文文字提问。")
    return value


def cmd_build(args) -> int:
    from .config import Config
    from .embedding import make_embedder
    from .index import open_index

    cfg = Config.from_env()
    if args.no_cache:
        cfg = cfg.with_(embed_cache=False)
    t0 = time.perf_counter()
    embed = make_embedder(cfg.embedder)
    if args.refresh_cache:
        refresh_shipped_cache(cfg, embed)
    index = open_index(cfg, embed=embed, force=args.force or args.refresh_cache)
    m = index.manifest
    print(f"分块 {m['chunks']} 个，句子单元 {m['units']} 个；嵌入模型 {m['fingerprint']['embedder']}；"
          f"用时 {time.perf_counter() - t0:.1f} 秒（构建 {m['build_s']} 秒）；索引目录 {index.cfg.index_dir}；"
          f"嵌入缓存目录 {cfg.cache_dir}")
    return 0


def refresh_shipped_cache(cfg, embed) -> None:
    """Maintainers: re-embed the corpus from scratch into the cache committed with the package."""
    from .embed_cache import SHIPPED, refresh_shipped
    from .index import IndexUnavailable, corpus_passages

    print(f"正在重新嵌入语料 {cfg.corpus_dir} 的全部文本，重写随包嵌入缓存……", file=sys.stderr)
    try:
        n = refresh_shipped(embed, corpus_passages(cfg))
    except ValueError as e:
        raise IndexUnavailable(str(e))
    print(f"随包嵌入缓存已重写：{n} 段文本，{SHIPPED}", file=sys.stderr)


def cmd_search(args) -> int:
    import assistant
    from .retrieval import Filters

    q = assistant.check_question(_read_arg(args.query))
    kinds = tuple(args.kind) if args.kind else None
    hits = assistant.search(q, k=args.k, filters=Filters(section=args.section, kinds=kinds))
    if args.json:
        print(json.dumps([h.as_json() for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("没有找到相关段落。")
    for h in hits:
        c = h.chunk
        print(f"[{h.rank}] {h.score:.4f}  {c.section}  ({c.doc}:{c.start}-{c.end}, {c.kind})")
        print("    " + c.text.strip().replace("\n", "\n    "))
    return 0


def cmd_ask(args) -> int:
    import assistant
    from .retrieval import Filters

    a = assistant.ask(_read_arg(args.question), filters=Filters(section=args.section))
    if args.json:
        print(json.dumps(a.as_json(), ensure_ascii=False, indent=1))
        return 0
    print_answer(a)
    return 0


def print_answer(a) -> None:
    print(a.answer)
    if a.notice:
        print(f"（{a.notice}）")
    if a.citations:
        print("\n来源：")
        for c in a.citations:
            print(f"[{c.n}] {c.section}  ({c.doc}:{c.start}-{c.end})\n    “{c.quote.strip()}”")
    elif a.refused and a.related:
        print("\n相关段落（仅供参考，并非答案）：")
        for h in a.related[:3]:
            print(f"- {h.chunk.section}  ({h.chunk.doc}:{h.chunk.start}-{h.chunk.end})\n    {h.chunk.text.strip()[:120]}")


CHAT_EXIT = {"退出", "再见", "exit", "quit", "q", ":q"}
CHAT_CLEAR = {"清空", "新对话", "clear", "/clear"}


def cmd_chat(args) -> int:
    """An interactive conversation in the terminal: each question is asked with the turns before it
    (questions and the assistant's own answers), so follow-ups keep their thread."""
    import assistant
    from .answer import BadInput

    interactive = sys.stdin.isatty()
    if interactive:
        print("《广东专精特新“小巨人”成长手册》问答（可以追问；输入“清空”开始新对话，“退出”或 Ctrl-D 结束）")
    assistant.get_index()
    history: list[dict] = []
    while True:
        try:
            line = input("问：" if interactive else "")
        except EOFError:
            return 0
        text = line.strip()
        if not text:
            continue
        if text.lower() in CHAT_EXIT:
            return 0
        if text.lower() in CHAT_CLEAR:
            history = []
            print("（已开始新对话）", flush=True)
            continue
        try:
            a = assistant.ask(_read_arg(text), history)
        except BadInput as e:
            print(f"错误：{e}", flush=True)
            continue
        if not interactive:
            print(f"问：{text}")
        print_answer(a)
        print(flush=True)
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": a.answer}]


def cmd_eval(args) -> int:
    from .devtools.eval_cli import main as eval_main

    return eval_main(args)


def cmd_bench(args) -> int:
    from .devtools.bench import main as bench_main

    return bench_main(args)


def cmd_tune(args) -> int:
    from .devtools.tuning import main as tune_main

    return tune_main(args)


def cmd_train(args) -> int:
    from .devtools.train import main as train_main

    return train_main(args)


def cmd_doc2query(args) -> int:
    from .devtools.doc2query import main as doc2query_main

    return doc2query_main(args)


def cmd_serve(args) -> int:
    from . import SPIN_SET_BY_USER
    from .web.serving import serve

    if args.workers > 1 and not SPIN_SET_BY_USER:  # worker processes share 2 cores: no spinning (see __init__)
        os.environ["GOMP_SPINCOUNT"] = "0"
    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_insights(args) -> int:
    from .insights import main as insights_main

    return insights_main(args)


class ChineseArgumentParser(argparse.ArgumentParser):
    """Usage errors as one Chinese line and exit 2, like every other bad input."""

    def error(self, message: str):
        print(f"错误：无法解析命令行参数（{message}）；问题以“-”开头时请写在 -- 之后。", file=sys.stderr)
        raise SystemExit(2)


def parser() -> argparse.ArgumentParser:
    p = ChineseArgumentParser(prog="assistant", description="《广东专精特新“小巨人”成长手册》问答助手")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=ChineseArgumentParser)
    b = sub.add_parser("build", help="构建（或按需重建）索引")
    b.add_argument("--force", action="store_true", help="无论是否过期都重新构建")
    b.add_argument("--no-cache", action="store_true", help="不使用嵌入缓存：所有文本重新嵌入（与 --force 一起即从零构建）")
    b.add_argument("--refresh-cache", action="store_true",
                   help="维护者用：重新嵌入当前语料的全部文本，重写随包的嵌入缓存 assistant/data/handbook_vectors.npz，再重建索引")
    b.set_defaults(func=cmd_build)
    s = sub.add_parser("search", help="检索相关段落")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=5)
    s.add_argument("--section", help="只在某一部分或城市篇内检索，如 深圳篇")
    s.add_argument("--kind", action="append", choices=["paragraph", "table", "profile", "footnote", "chart", "toc"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)
    a = sub.add_parser("ask", help="提问并获得带引用的回答")
    a.add_argument("question")
    a.add_argument("--section")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_ask)
    ch = sub.add_parser("chat", help="在终端里连续对话（可以追问）")
    ch.set_defaults(func=cmd_chat)
    e = sub.add_parser("eval", help="在评测集上评估并按门槛判定")
    e.add_argument("--qa", default=None, help="评测集 JSONL（默认 eval/qa.jsonl）；每行有 turns 的是对话评测集")
    e.add_argument("--split", choices=["train", "dev", "sealed"], default=None,
                   help="评测题库 eval/bank 的一个划分（封存划分只报告指标）")
    e.add_argument("--out", default=None, help="输出 metrics.json / report.md / report.png 的目录")
    e.add_argument("--json", action="store_true")
    e.add_argument("--gates", default=None, help="门槛文件（默认 eval/gates.toml）")
    e.add_argument("--no-gate", action="store_true", help="只报告，不按门槛判定")
    e.set_defaults(func=cmd_eval)
    be = sub.add_parser("bench", help="速度基准")
    be.add_argument("--json", action="store_true")
    be.add_argument("--qa", default=None)
    be.add_argument("--scale", type=int, default=0, help="另测 N 倍规模的合成语料（0 为不测）")
    be.set_defaults(func=cmd_bench)
    tu = sub.add_parser("tune", help="比较分块大小与融合权重的检索效果")
    tu.add_argument("--qa", default=None)
    tu.add_argument("--json", action="store_true")
    tu.set_defaults(func=cmd_tune)
    tr = sub.add_parser("train", help="训练回答器的置信度模型（train 划分），在 dev 划分上选拒答阈值")
    tr.add_argument("--out", default=None, help="模型文件（默认 assistant/answer/data/confidence.json）")
    tr.add_argument("--sweep-composition", action="store_true",
                    help="只比较回答组织方式的设置（train 划分上的准确率），不训练")
    tr.set_defaults(func=cmd_train)
    dq = sub.add_parser("doc2query", help="把 train 划分的题目及其证据存为回答器的“问过的问题”（之后运行 assistant train）")
    dq.add_argument("--out", default=None, help="输出文件（默认 assistant/answer/data/doc2query.npz）")
    dq.set_defaults(func=cmd_doc2query)
    sv = sub.add_parser("serve", help="启动网页聊天界面和 OpenAI 兼容接口（/v1）")
    sv.add_argument("--host", default=None, help="默认 127.0.0.1；设置了 ASSISTANT_API_KEY 时默认 0.0.0.0")
    sv.add_argument("--port", type=int, default=None, help="默认取 ASSISTANT_PORT 或 7860")
    sv.add_argument("--workers", type=int, default=1, help="worker 进程数（每个都只读加载索引）")
    sv.set_defaults(func=cmd_serve)
    ins = sub.add_parser("insights", help="用户提问洞察：最常问、拒答率、最常被拒答、👎 的回答（含图表）")
    ins.add_argument("--out", default=None, help="输出目录（默认数据目录下的 insights/）")
    ins.add_argument("--days", type=int, default=None, help="只看最近 N 天")
    ins.add_argument("--limit", type=int, default=20, help="每个列表最多几条")
    ins.add_argument("--json", action="store_true")
    ins.set_defaults(func=cmd_insights)
    return p


def main(argv: list[str] | None = None) -> int:
    from .answer import BadInput
    from .index import IndexUnavailable
    from .store import StoreError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BadInput as e:
        return _err(str(e))
    except IndexUnavailable as e:
        return _err(str(e), 1)
    except StoreError as e:
        return _err(str(e), 2 if e.kind == "invalid" else 1)
    except KeyboardInterrupt:
        return _err("已中断。", 130)


if __name__ == "__main__":
    sys.exit(main())
