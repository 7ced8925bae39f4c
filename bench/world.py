"""Synthetic source pages for the benchmarks: MyBB listings of 40 threads and t.me/s pages."""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("database dump leak combolist access sale fresh private users emails passwords patients records "
         "hospital clinic admin panel shell vpn rdp citrix sql backup france europe health insurance").split()


def mybb_listing(board: int, threads: int = 40, seed: int = 0) -> bytes:
    rng = random.Random(board * 1000 + seed)
    rows = []
    for t in range(threads):
        tid = board * 1000 + t
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
    rng = random.Random(channel * 7919 + seed)
    parts = []
    for m in range(messages):
        mid = 1000 + m
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

    def __init__(self, boards: int = 300, channels: int = 100) -> None:
        self.pages = {f"/board/{b}": mybb_listing(b) for b in range(boards)}
        self.pages.update({f"/s/chan{c}": telegram_page(c) for c in range(channels)})
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0], b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 1024
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def urls(self) -> list[str]:
        return [self.base + path for path in self.pages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sources_toml(site: BenchSite, interval: str = "10m") -> str:
    out = []
    for path in site.pages:
        if path.startswith("/board/"):
            out.append(f'[[source]]\nname = "board-{path.rsplit("/", 1)[1]}"\nkind = "html"\npreset = "mybb"\n'
                       f'url = "{site.base}{path}"\ninterval = "{interval}"\n')
        else:
            out.append(f'[[source]]\nname = "tg-{path.rsplit("/", 1)[1]}"\nkind = "telegram"\n'
                       f'url = "{site.base}{path}"\ninterval = "{interval}"\n')
    return "\n".join(out)
