"""`leakmon once` against hostile servers: each poll fails in words, nothing crashes, memory stays small."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import brotli
import pytest

from tests.e2e_site import E2E
from tests.loopback import LoopbackSite
from tests.support.http import drip_handler, encoded_handler, redirect, stream_handler, zero_bomb

MAX_BYTES = 5_000_000
TIMEOUT = 3


@pytest.fixture
def other_site():
    server = LoopbackSite()
    yield server
    server.close()


HOSTILE = {
    # name: (path, expected reason, or None for a healthy poll)
    "big-with-length": ("/big-cl", f"response larger than {MAX_BYTES} bytes"),
    "big-chunked": ("/big-chunked", f"response larger than {MAX_BYTES} bytes"),
    "gzip-bomb": ("/gzip-bomb", f"response larger than {MAX_BYTES} bytes"),
    "brotli-bomb": ("/br-bomb", f"response larger than {MAX_BYTES} bytes"),
    "deflate-bomb": ("/deflate-bomb", f"response larger than {MAX_BYTES} bytes"),
    "drip": ("/drip", f"timed out after {TIMEOUT}s"),
    "redirect-loop": ("/loop", "too many redirects"),
    "redirect-away": ("/away", "origin"),
    "random-bytes": ("/junk", "no items found"),
    "login-page": ("/login", "login or challenge page"),
    "challenge-page": ("/challenge", "login or challenge page"),
    "bad-utf8-listing": ("/bad-utf8", None),
    "healthy": ("/ok", None),
}


def serve_hostile(site: LoopbackSite, other: LoopbackSite) -> None:
    listing = (E2E / "mybb_listing_1.html").read_bytes()
    site.route("/big-cl", handler=stream_handler(40_000_000, chunked=False))
    site.route("/big-chunked", handler=stream_handler(40_000_000, chunked=True))
    site.route("/gzip-bomb", handler=encoded_handler(zero_bomb(zlib.compressobj(9, zlib.DEFLATED, 31)), "gzip"))
    site.route("/br-bomb", handler=encoded_handler(zero_bomb(brotli.Compressor(quality=5)), "br"))
    site.route("/deflate-bomb", handler=encoded_handler(zero_bomb(zlib.compressobj(9)), "deflate"))
    site.route("/drip", handler=drip_handler(1000))
    site.route("/loop", handler=redirect("/loop"))
    site.route("/away", handler=redirect(other.url("/stolen")))
    site.route("/junk", random.Random(7).randbytes(300_000), headers={"Content-Type": "text/html"})
    site.route("/login", b"<html><head><title>Login</title></head><body><form action='member.php' method='post'>"
               b"<input name='username'><input type='password' name='password'><input type='submit'></form>"
               b"</body></html>")
    site.route("/challenge", b"<html><head><title>Just a moment...</title></head><body><div id='cf-wrapper'>"
               b"Checking your browser before accessing the site.</div></body></html>", status=200)
    # valid rows with invalid UTF-8, NUL bytes and an unclosed tag soup in between
    broken = listing.replace(b"<tr class=\"inline_row\">", b"\xff\xfe\x00<div><span><b>\xc3\x28<tr class=\"inline_row\">", 2)
    site.route("/bad-utf8", broken)
    site.route("/ok", listing)
    for tid, slug in ((100, "Thread-Forum-rules"), (201, "Thread-France-hospital-patients-758k"),
                      (202, "Thread-CHU-de-Rennesson-staff"), (203, "Thread-Mediboard-tutorial")):
        site.route(f"/{slug}", (E2E / f"mybb_thread_{tid}.html").read_bytes())


def config_text(site: LoopbackSite, db: Path) -> str:
    sources = "".join(
        f'[[source]]\nname = "{name}"\nkind = "html"\npreset = "mybb"\nurl = "{site.url(path)}"\n'
        + ("follow = true\n" if name == "healthy" else "")
        for name, (path, _) in HOSTILE.items())
    return (f'[storage]\npath = "{db.as_posix()}"\n[network]\ntimeout = "{TIMEOUT}s"\nmax_bytes = {MAX_BYTES}\n'
            f'host_delay = "0s"\nconcurrency = 16\n[[watch]]\nname = "Mediboard"\nterms = ["Mediboard"]\n{sources}')


# Runs `leakmon once` as a grandchild and reports its peak RSS (KiB) and wall time.
_MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"code": proc.returncode, "seconds": time.monotonic() - t0, "stderr": proc.stderr,
                  "stdout": proc.stdout, "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def test_hostile_sources_fail_in_words_within_the_deadline_and_memory(site, other_site, tmp_path: Path) -> None:
    serve_hostile(site, other_site)
    config = tmp_path / "config.toml"
    config.write_text(config_text(site, tmp_path / "l.db"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "monitor", "--config", str(config),
                          "once"], capture_output=True, text=True, env=env, timeout=120)
    run = json.loads(out.stdout)
    print(f"once: {run['seconds']:.1f}s, peak RSS {run['peak_kib'] // 1024} MB")
    assert run["code"] == 1, run["stderr"]
    assert "Traceback" not in run["stderr"]
    assert run["seconds"] < TIMEOUT * 2 + 10                 # every poll ends near its deadline, in parallel
    assert run["peak_kib"] < 400 * 1024, f"peak RSS {run['peak_kib'] / 1024:.0f} MB"
    assert other_site.requests == []                         # the off-origin redirect was never followed

    status = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "status", "--format", "json"],
                            capture_output=True, text=True, env=env, timeout=60)
    by_name = {s["name"]: s for s in json.loads(status.stdout)["sources"]}
    for name, (_, reason) in HOSTILE.items():
        state = by_name[name]
        if reason is None:
            assert state["consecutive_failures"] == 0 and state["items_seen"] >= 3, (name, state)
        else:
            assert state["consecutive_failures"] == 1, (name, state)
            assert reason in (state["last_error"] or ""), (name, state["last_error"])
    hits = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "hits", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert {(h["source"], h["item_id"]) for h in json.loads(hits.stdout)} >= {("healthy", "201")}
