"""Run the real ui.py in a subprocess on a free loopback port, for the UI, browser and load tests.

The server runs under a Python audit hook that refuses (and logs) every socket connection or
name lookup that is not loopback: the tests prove the app needs no network, instead of trusting it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in the server process before ui.py: an audit hook sees every connect() and getaddrinfo().
NET_GUARD = r"""
import ipaddress, os, runpy, socket, sys

LOG = os.environ["UI_TEST_NET_LOG"]
LOCAL_NAMES = {None, "", "localhost", "0.0.0.0", "::"}

def _local(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

def _guard(event, args):
    host = None
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        host = args[1][0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if not _local(host):
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(f"{event} {args[1:] if event == 'socket.connect' else args[:2]}\n")
        raise OSError("network access blocked by the test (only loopback is allowed)")

sys.addaudithook(_guard)
sys.argv = ["ui.py"]
runpy.run_path(os.path.join(os.environ["UI_TEST_ROOT"], "ui.py"), run_name="__main__")
"""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path  # the server's stdout and stderr
    net_log: Path  # one line per blocked non-loopback connection attempt
    data_dir: Path  # runtime data (the SQLite store of turns and votes)
    ready_s: float

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def votes(self) -> list[dict]:
        """The votes in the server's store, oldest first (read through the store's own API)."""
        from assistant.store import Store

        store = Store(f"sqlite:///{self.data_dir / 'assistant.sqlite3'}")
        try:
            return [{"turn": v.turn_id, "session": v.session, "vote": v.vote, "changes": v.changes,
                     "question": (store.turn(v.turn_id) or {}).get("question")} for v in store.votes()]
        finally:
            store.close()

    def blocked(self) -> list[str]:
        return self.net_log.read_text("utf-8").splitlines() if self.net_log.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(workdir: Path, timeout_s: float = 240.0, **env: str):
    """Start ui.py (the index must already be built, or this waits for the build) and stop it after."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server_env = dict(os.environ, ASSISTANT_PORT=str(port), ASSISTANT_DATA_DIR=str(workdir / "data"),
                      UI_TEST_NET_LOG=str(workdir / "blocked-network.log"), UI_TEST_ROOT=str(ROOT),
                      HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    server_env.update(env)
    log = workdir / "server.log"
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", NET_GUARD], cwd=ROOT, env=server_env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/", proc, log, workdir / "blocked-network.log",
                    Path(server_env["ASSISTANT_DATA_DIR"]), 0.0)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ui.py exited with {proc.returncode}:\n{server.output()}")
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"ui.py not ready after {timeout_s:.0f} s:\n{server.output()}")
            try:
                with urllib.request.urlopen(server.url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        server.ready_s = time.perf_counter() - t0
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
