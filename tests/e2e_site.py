"""The five-source test world: a MyBB board, a XenForo board, a t.me/s channel, an RSS feed and a
ransomware.live-style JSON API, served on loopback from tests/fixtures/e2e, and its config."""

from __future__ import annotations

from pathlib import Path

from tests.loopback import LoopbackSite
from tests.support.files import FIXTURES

E2E = FIXTURES / "e2e"

HTML = {"Content-Type": "text/html; charset=utf-8"}

# (watch entry, source, item id) pairs the five sources must produce, and nothing else.
EXPECTED = {
    ("Mediboard", "forum-mybb", "201"),            # the name is only in the followed thread body
    ("CHU de Rennes", "forum-mybb", "204"),        # defanged domain, on listing page 2
    ("Hôpital Saint-Joseph", "forum-xf", "3001"),  # "HOPITAL SAINT_JOSEPH"
    ("Clinique Pasteur", "forum-xf", "3003"),      # requires "database": in the thread body
    ("Hôpital Saint-Joseph", "tg-leakchan", "leakchan/10"),
    ("Mediboard", "tg-leakchan", "leakchan/12"),
    ("CHU de Rennes", "news", "rss-1"),
    ("Mediboard", "news", "rss-1"),                # "Médiboard" in the description
    ("Clinique Pasteur", "ransomware-live", "rl-7781"),
}
# Decoys: sticky rules thread (100), "CHU de Rennesson" (202), "mediboard tutorial" excluded (203),
# "Clinique Pasteur employees" without "database" (3002), "Mediboards" (3004), a reply quoting
# "Mediboard" (leakchan/11), "Patch Tuesday" (rss-2), "Example Corp" (rl-7780).


def serve_world(site: LoopbackSite, rss_description: str = "Les correctifs du mois.") -> None:
    """Route every page of the five sources on ``site``."""
    def page(path: str, name: str, headers: dict[str, str] = HTML) -> None:
        site.route(path, (E2E / name).read_bytes(), headers=headers)

    page("/mybb/Forum-Databases", "mybb_listing_1.html")
    page("/mybb/Forum-Databases?page=2", "mybb_listing_2.html")
    for tid, slug in ((100, "Thread-Forum-rules"), (201, "Thread-France-hospital-patients-758k"),
                      (202, "Thread-CHU-de-Rennesson-staff"), (203, "Thread-Mediboard-tutorial"),
                      (204, "Thread-Combolist-chu-rennes")):
        page(f"/mybb/{slug}", f"mybb_thread_{tid}.html")
    page("/xf/forums/leaks.5/", "xf_listing.html")
    for tid, slug in ((3001, "hopital-saint-joseph-dump"), (3002, "clinique-pasteur-employees"),
                      (3003, "clinique-pasteur-2024"), (3004, "mediboards-themes")):
        page(f"/xf/threads/{slug}.{tid}/", f"xf_thread_{tid}.html")
    page("/s/leakchan", "tg_channel.html")
    set_rss(site, rss_description)
    page("/api/v2/recentvictims", "ransomwarelive_v2.json", {"Content-Type": "application/json"})


def set_rss(site: LoopbackSite, rss_description: str) -> None:
    body = (E2E / "rss.xml").read_text(encoding="utf-8").replace("RSS2_DESCRIPTION", rss_description)
    site.route("/feed.xml", body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})


def world_config(base: str, db: Path, *, api_url: str = "http://127.0.0.1:9", extra: str = "") -> str:
    """The config.toml of the five-source world."""
    return f'''
[storage]
path = "{db.as_posix()}"
[network]
timeout = "5s"
host_delay = "0s"
[health]
failure_threshold = 2
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
api_url = "{api_url}"
default_chats = ["soc"]
health_chats = ["ops"]
[telegram.chats]
soc = -1001111111111
cert = -1002222222222
ops = -1003333333333

[[watch]]
name = "Mediboard"
kind = "software"
terms = ["Mediboard", "OX Softway"]
exclude = ["mediboard tutorial"]
severity = "high"
chats = ["soc"]

[[watch]]
name = "CHU de Rennes"
kind = "establishment"
terms = ["CHU de Rennes", "chu-rennes.fr"]

[[watch]]
name = "Hôpital Saint-Joseph"
kind = "establishment"
terms = ["Hôpital Saint-Joseph"]
chats = ["cert"]

[[watch]]
name = "Clinique Pasteur"
kind = "establishment"
terms = ["Clinique Pasteur"]
requires = ["database"]
severity = "critical"
chats = ["soc", "cert"]

[[source]]
name = "forum-mybb"
kind = "html"
preset = "mybb"
url = "{base}/mybb/Forum-Databases"
follow = true
pages = 2

[[source]]
name = "forum-xf"
kind = "html"
preset = "xenforo"
url = "{base}/xf/forums/leaks.5/"
follow = true

[[source]]
name = "tg-leakchan"
kind = "telegram"
url = "{base}/s/leakchan"

[[source]]
name = "news"
kind = "rss"
url = "{base}/feed.xml"

[[source]]
name = "ransomware-live"
kind = "json"
preset = "ransomware.live"
url = "{base}/api/v2/recentvictims"
{extra}
'''
