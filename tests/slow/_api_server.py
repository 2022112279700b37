"""Run the real `assistant serve` (FastAPI + Gradio under uvicorn) in a subprocess on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _ui_server import ROOT, free_port


@dataclass
class ApiServer:
    url: str  # http://127.0.0.1:PORT
    port: int
    proc: subprocess.Popen
    log: Path
    started: float  # perf_counter() at start
    ready_s: float = 0.0

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def wait_ready(self, timeout_s: float = 240.0) -> "ApiServer":
        wait_ready(self.url, self.proc, self.log, timeout_s)
        self.ready_s = time.perf_counter() - self.started
        return self

    def kill(self) -> None:
        """Kill the whole server (parent and workers) at once, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    t0 = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {proc.returncode}:\n{log.read_text('utf-8', 'replace')}")
        if time.perf_counter() - t0 > timeout_s:
            raise RuntimeError(f"assistant serve not ready after {timeout_s:.0f} s:\n{log.read_text('utf-8', 'replace')}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if json.load(r)["status"] == "ready":
                    return
        except OSError:
            time.sleep(0.3)


@contextlib.contextmanager
def api_server(workdir: Path, *args: str, timeout_s: float = 240.0, wait: bool = True, **env: str):
    """`assistant serve --port P *args` with its data folder in workdir; stopped (with its workers) after.
    wait=False: yield at once (start several servers side by side, then call .wait_ready() on each)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server_env = dict(os.environ, ASSISTANT_DATA_DIR=str(workdir / "data"), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1",
                      ASSISTANT_FEEDBACK_PATH=str(workdir / "feedback.jsonl"), PYTHONPATH=str(ROOT), **env)
    log = workdir / f"server-{port}.log"
    t0 = time.perf_counter()
    with open(log, "wb") as out:  # own process group: the test can kill the server with its workers
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port), *args], cwd=ROOT,
                                env=server_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(f"http://127.0.0.1:{port}", port, proc, log, t0)
    try:
        if wait:
            server.wait_ready(timeout_s)
        yield server
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
