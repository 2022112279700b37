"""Time a newcomer's first start: `python ui.py` in a checkout with no index and an empty home
folder, until a question typed in a real browser (Debian chromium via Playwright) is answered.

    python -m assistant.devtools.first_start /path/to/fresh/clone [--python /path/to/.venv/bin/python]

Prints one line: seconds to the page, to the first answer, the server's CPU seconds and the load.
Needs the test extras (playwright) and `apt-get install chromium`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

QUESTION = "深圳有多少家上市小巨人？"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(repo: Path, python: str, home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, ASSISTANT_PORT=str(port), HOME=str(home), TMPDIR=str(home), PYTHONUNBUFFERED="1")
    for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "ASSISTANT_CACHE_DIR", "ASSISTANT_DATA_DIR", "ASSISTANT_INDEX_DIR"):
        env.pop(k, None)
    log = open(home / "server.log", "w")
    return subprocess.Popen([python, "ui.py"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    while True:
        if proc.poll() is not None:
            sys.exit(f"server died:\n{log.read_text('utf-8', errors='replace')}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            if "已就绪" in log.read_text("utf-8", errors="replace"):
                return
        except OSError:
            pass
        time.sleep(0.1)


def ask_in_browser(url: str) -> str:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        page.fill("#question textarea", QUESTION)
        page.press("#question textarea", "Enter")
        answer = page.locator("#answer .message.bot").last
        expect(answer).to_contain_text("[1]")
        text = answer.inner_text()
        browser.close()
        return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="first-start-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = start(args.repo.resolve(), args.python, home, port)
    try:
        wait_ready(proc, url, home / "server.log")
        t_page = time.perf_counter() - t0
        answer = ask_in_browser(url)
        t_answer = time.perf_counter() - t0
        stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"page {t_page:.1f} s; first answer in the browser {t_answer:.1f} s; server CPU {cpu:.1f} s; "
          f"load {os.getloadavg()[0]:.1f}; answer: {answer[:60]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
