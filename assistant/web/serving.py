"""`assistant serve [--host H] [--port P] [--workers N]`: the chat page and the API under uvicorn.

One worker: this process loads the index (building it if missing or stale) and serves. N workers: this
process only makes sure the index is fresh (building it if not, once, before any worker starts) and
leaves the heavy imports to the workers, which each load the index read-only (server.create_app).
Without ASSISTANT_API_KEY the server binds to loopback unless --host is given; with a key, to all
interfaces by default.
"""

from __future__ import annotations

import json
import os
import sys

from assistant.config import Config

LOOPBACK = "127.0.0.1"
# Keep-alive longer than a proxy's (nginx: keepalive_timeout 30s in deploy/nginx-xiaojuren.conf), so the
# proxy, not the server, closes idle connections and never sends a request on one closing under it.
UVICORN = {"log_level": "warning", "timeout_graceful_shutdown": 5, "timeout_keep_alive": 65}


def choose_host(cfg: Config, host: str | None) -> str:
    if host is None:
        return "0.0.0.0" if cfg.api_key else LOOPBACK
    if not cfg.api_key and host not in (LOOPBACK, "localhost", "::1"):
        print(f"警告：未设置 ASSISTANT_API_KEY，API 在 {host} 上无需密钥即可访问。", file=sys.stderr, flush=True)
    return host


def fresh_index_dir(cfg: Config):
    """The folder of a fresh index: checked by its manifest's fingerprint, built here only if stale."""
    from assistant.index import fingerprint, open_index

    try:
        manifest = json.loads((cfg.index_dir / "manifest.json").read_text("utf-8"))
        if manifest.get("fingerprint") == fingerprint(cfg):
            return cfg.index_dir
    except (OSError, ValueError):
        pass
    return open_index(cfg).cfg.index_dir  # a read-only index folder makes open_index build elsewhere


def store_label(cfg: Config) -> str:
    from assistant.store import Store, StoreError

    try:
        store = Store.open(cfg)
    except StoreError as e:
        print(f"警告：{e}", file=sys.stderr, flush=True)
        return "不可用"
    store.close()
    return store.dialect


def serve(host: str | None = None, port: int | None = None, workers: int = 1) -> int:
    import uvicorn

    from assistant.index import IndexUnavailable

    cfg = Config.from_env()
    port = port or int(os.environ.get("ASSISTANT_PORT") or 7860)
    host = choose_host(cfg, host)
    if workers < 1:
        print("错误：--workers 至少为 1。", file=sys.stderr)
        return 2
    where = f"http://{host}:{port}"
    banner = f"聊天页面 {where}/ ，OpenAI 兼容接口 {where}/v1 （{workers} 个 worker；数据库 {store_label(cfg)}；按 Ctrl+C 停止）"
    try:
        if workers == 1:
            from .app import load_index
            from .server import build_app

            app = build_app(load_index(cfg))
            print(f"已就绪：{banner}", flush=True)
            uvicorn.run(app, host=host, port=port, **UVICORN)
            return 0
        os.environ["ASSISTANT_INDEX_DIR"] = str(fresh_index_dir(cfg))
    except IndexUnavailable as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    print(f"正在启动：{banner}", flush=True)
    uvicorn.run("assistant.web.server:create_app", factory=True, host=host, port=port, workers=workers, **UVICORN)
    return 0
