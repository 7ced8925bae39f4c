"""Synthetic source pages for the benchmarks: MyBB listings of 40 threads and t.me/s pages.

The site runs in ANOTHER process (:class:`SiteProcess`), so that the server's threads never
compete for the GIL with the client being measured (leakmon or the bare httpx loop)::

    python bench/world.py --boards 300 --channels 100 [--live 10]

prints ``PORT <n>`` and serves until killed. ``--live SECONDS``: every SECONDS each listing
gains a newer thread (the oldest drops off) and each channel a newer message, as real sources
do; without it the pages never change.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ["database", "dump", "leak", "combolist", "access", "sale", "fresh", "private", "users", "emails", "passwords", "patients", "records", "hospital", "clinic", "admin", "panel", "shell", "vpn", "rdp", "citrix", "sql", "backup", "france", "europe", "health", "insurance"]


def mybb_listing(board: int, threads: int = 40, seed: int = 0) -> bytes:
    """A MyBB forumdisplay page; ``seed`` (the live step) shifts the window of thread ids."""
    rows = []
    for t in range(threads):
        tid = board * 100_000 + seed + threads - t       # newest first
        rng = random.Random(tid)                          # a thread keeps its title across steps
        title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
        rows.append(
            f'<tr class="inline_row"><td class="trow1"><div><span><span class="subject_old" id="tid_{tid}">'
            f'<a href="Thread-{tid}">{title} #{tid}</a></span></span><div><span class="author smalltext">'
            f'<a href="User-{t}">user{t}</a>, </span><span class="thread_start_datetime smalltext">'
            f'<span title="11-19-2024, 10:41 PM">1 hour ago</span></span></div></div></td>'
            f'<td class="trow1">{rng.randint(0, 99)}</td><td class="trow1">{rng.randint(0, 9999)}</td></tr>')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Board {board}</title></head><body>'
            f'<table class="tborder clear">{"".join(rows)}</table></body></html>').encode()


def telegram_page(channel: int, messages: int = 20, seed: int = 0) -> bytes:
    """A t.me/s page of ``messages`` messages, oldest first; ``seed`` shifts the message ids."""
    parts = []
    for m in range(messages):
        mid = 1000 + seed + m
        rng = random.Random(channel * 7919 + mid)
        text = " ".join(rng.choice(WORDS) for _ in range(25))
        parts.append(
            f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message js-widget_message" '
            f'data-post="chan{channel}/{mid}"><div class="tgme_widget_message_bubble"><div class="tgme_widget_message_author">'
            f'<a class="tgme_widget_message_owner_name" href="#"><span>Chan {channel}</span></a></div>'
            f'<div class="tgme_widget_message_text js-message_text">{text}</div><div class="tgme_widget_message_footer">'
            f'<a class="tgme_widget_message_date" href="#"><time datetime="2024-11-20T07:15:00+00:00">07:15</time></a>'
            f'</div></div></div></div>')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div class="tgme_channel_info"></div>'
            f'<section class="tgme_channel_history">{"".join(parts)}</section></body></html>').encode()


class BenchSite:
    """A threaded loopback server: /board/<n> (MyBB), /s/chan<n> (t.me/s)."""

    def __init__(self, boards: int = 300, channels: int = 100, live: float = 0.0,
                 delay: tuple[float, float] = (0.0, 0.0), log_path: str | None = None) -> None:
        self.pages = {f"/board/{b}": mybb_listing(b) for b in range(boards)}
        self.pages.update({f"/s/chan{c}": telegram_page(c) for c in range(channels)})
        pages = self.pages
        started = time.monotonic()
        arrivals = open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None  # noqa: SIM115
        lock = threading.Lock()
        built: dict[tuple[str, int], bytes] = {}

        def page(path: str) -> bytes:
            if not live or path not in pages:
                return pages.get(path, b"")
            step = int((time.monotonic() - started) / live)
            with lock:
                body = built.get((path, step))
                if body is None:
                    if len(built) > 4 * len(pages):
                        built.clear()
                    number = int(path.rsplit("/", 1)[1].removeprefix("chan"))
                    body = built[(path, step)] = (mybb_listing(number, seed=step) if path.startswith("/board/")
                                                  else telegram_page(number, seed=step))
            return body

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if arrivals is not None:
                    with lock:
                        arrivals.write(f"{time.time():.3f} {self.path}\n")
                if delay[1] > 0:
                    time.sleep(random.uniform(*delay))     # a slow hidden service answers after 1-3 s
                body = page(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass    # a client that hangs up (leakmon stopped mid-poll) is no news here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 4096
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def urls(self) -> list[str]:
        return [self.base + path for path in self.pages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sources_toml(site: BenchSite | SiteProcess, interval: str = "10m") -> str:
    out = []
    for path in site.pages:
        if path.startswith("/board/"):
            out.append(f'[[source]]\nname = "board-{path.rsplit("/", 1)[1]}"\nkind = "html"\npreset = "mybb"\n'
                       f'url = "{site.base}{path}"\ninterval = "{interval}"\n')
        else:
            out.append(f'[[source]]\nname = "tg-{path.rsplit("/", 1)[1]}"\nkind = "telegram"\n'
                       f'url = "{site.base}{path}"\ninterval = "{interval}"\n')
    return "\n".join(out)


class SiteProcess:
    """A :class:`BenchSite` in a child process; ``base`` is its URL, ``pages`` its paths."""

    def __init__(self, boards: int = 300, channels: int = 100, live: float = 0.0,
                 delay: tuple[float, float] = (0.0, 0.0), log_path: str | None = None) -> None:
        self.pages = [f"/board/{b}" for b in range(boards)] + [f"/s/chan{c}" for c in range(channels)]
        extra = ["--delay", f"{delay[0]},{delay[1]}"] + (["--log", log_path] if log_path else [])
        self.proc = subprocess.Popen([sys.executable, __file__, "--boards", str(boards), "--channels", str(channels),
                                      "--live", str(live), *extra], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the bench site did not start: {line!r}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def urls(self) -> list[str]:
        return [self.base + path for path in self.pages]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> None:
    """Serve until killed (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--boards", type=int, default=300)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--live", type=float, default=0.0)
    parser.add_argument("--delay", default="0,0", help="MIN,MAX seconds before each answer")
    parser.add_argument("--log", default=None, help="append 'time path' of every request to this file")
    args = parser.parse_args()
    low, high = (float(x) for x in args.delay.split(","))
    site = BenchSite(args.boards, args.channels, args.live, (low, high), args.log)
    print(f"PORT {site.base.rsplit(':', 1)[1]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
