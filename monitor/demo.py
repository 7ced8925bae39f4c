"""`leakmon demo`: the whole loop offline, in a few seconds.

Bundled sample pages (a MyBB board with thread pages, a t.me/s channel, an RSS feed, written by
us) are served on 127.0.0.1; a demo config polls them once into a temporary database; the
alerts are printed as the console sender shows them, then the hits table.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

ROUTES = {
    "/Forum-Databases": ("forum.html", "text/html; charset=utf-8"),
    "/Thread-Forum-rules-read-before-posting": ("thread-100.html", "text/html; charset=utf-8"),
    "/Thread-SELLING-France-hospital-patients-758k-Mediboard": ("thread-4121.html", "text/html; charset=utf-8"),
    "/Thread-Combolist-chu-rennes-fr": ("thread-4118.html", "text/html; charset=utf-8"),
    "/Thread-Mediboards-skins-pack": ("thread-4102.html", "text/html; charset=utf-8"),
    "/s/leaknewsdemo": ("channel.html", "text/html; charset=utf-8"),
    "/feed/": ("feed.xml", "application/rss+xml; charset=utf-8"),
}

CONFIG = """
[storage]
path = "{db}"
[network]
timeout = "5s"
host_delay = "0s"
[telegram]
token_env = "LEAKMON_DEMO_TOKEN_UNSET"
default_chats = ["soc"]
health_chats = ["soc"]
[telegram.chats]
soc = -1001234567890

[[watch]]
name = "Mediboard"
kind = "software"
terms = ["Mediboard", "OX Softway"]
severity = "high"

[[watch]]
name = "CHU de Rennes"
kind = "establishment"
terms = ["CHU de Rennes", "chu-rennes.fr"]
severity = "high"

[[watch]]
name = "AP-HP"
kind = "establishment"
terms = ["AP-HP", "Assistance Publique Hôpitaux de Paris"]
severity = "medium"

[[source]]
name = "demoleaks-databases"
kind = "html"
preset = "mybb"
url = "{base}/Forum-Databases"
follow = true

[[source]]
name = "tg-leaknewsdemo"
kind = "telegram"
url = "{base}/s/leaknewsdemo"

[[source]]
name = "demo-news"
kind = "rss"
url = "{base}/feed/"
"""


def _serve() -> ThreadingHTTPServer:
    pages = resources.files("monitor") / "demo"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name, ctype = ROUTES.get(self.path.split("?")[0], (None, "text/plain"))
            body = (pages / name).read_bytes() if name else b"not found"
            self.send_response(200 if name else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_demo() -> int:
    """Serve the bundled pages, poll them once, print the alerts and the hits. Returns the exit code."""
    from monitor import usecases
    from monitor.report import HIT_COLUMNS, hit_rows, to_table
    from monitor.runtime import load
    from monitor.store import Store

    os.environ.pop("LEAKMON_DEMO_TOKEN_UNSET", None)
    server = _serve()
    try:
        with tempfile.TemporaryDirectory(prefix="leakmon-demo-") as tmp:
            base = f"http://127.0.0.1:{server.server_address[1]}"
            db = Path(tmp) / "demo.db"
            config_path = Path(tmp) / "config.toml"
            config_path.write_text(CONFIG.format(base=base, db=db.as_posix()), encoding="utf-8")
            config = load(str(config_path))
            print(f"leakmon demo: serving a MyBB board, a Telegram channel preview and an RSS feed on {base}")
            print("watching: " + ", ".join(w.name for w in config.watches) + "\n")
            outcome = asyncio.run(usecases.once(config, list(config.sources), 10.0))
            for line in outcome.problems():
                print(f"leakmon: {line}", file=sys.stderr)
            store = Store(str(db))
            try:
                rows = hit_rows(store.hits())
            finally:
                store.close()
            print(f"\n{len(rows)} hits stored (leakmon hits):\n")
            print(to_table(rows, HIT_COLUMNS, {"title": 45, "url": 40}))
            print("\nNot alerted, on purpose: the 'Mediboards' skins thread (a longer word) and the forum rules.")
            sys.stdout.flush()
            return 0 if outcome.ok else 1
    finally:
        server.shutdown()
        server.server_close()
