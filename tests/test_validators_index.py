"""monitor.validators keeps a per-source index of its URLs: every answer must be the one a scan of
both maps gives (the rule the index replaces), under any sequence of calls and evictions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.validators import ValidatorCache

SOURCES = st.sampled_from(["a", "b", "c"])
URLS = st.sampled_from(["http://x/1", "http://x/2", "http://x/3", "http://x/4"])
TAGS = st.one_of(st.none(), st.sampled_from(['"v1"', '"v2"']))
OPS = st.one_of(
    st.tuples(st.just("remember"), SOURCES, URLS, TAGS, TAGS),
    st.tuples(st.just("body"), SOURCES, URLS, st.sampled_from([b"one", b"two"])),
    st.tuples(st.just("forget"), SOURCES, st.one_of(st.none(), URLS)),
    st.tuples(st.just("restore"), SOURCES, URLS, TAGS, st.sampled_from([None, "00" * 16, "zz"])),
)


def scanned_snapshot(cache: ValidatorCache, source: str) -> dict[str, list[str | None]]:
    """What snapshot() answered before the index: a scan of both maps."""
    urls = ({k[1] for k in cache._validators if k[0] == source}
            | {k[1] for k in cache._digests if k[0] == source})
    out: dict[str, list[str | None]] = {}
    for url in sorted(urls):
        etag, modified = cache._validators.get((source, url), (None, None))
        digest = cache._digests.get((source, url))
        out[url] = [etag, modified, digest.hex() if digest else None]
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=40), st.integers(min_value=1, max_value=5))
def test_the_index_agrees_with_a_scan_of_both_maps(ops: list[tuple[object, ...]], bound: int) -> None:
    cache = ValidatorCache(max_entries=bound)
    for op in ops:
        if op[0] == "remember":
            cache.remember(*op[1:])  # type: ignore[arg-type]
        elif op[0] == "body":
            cache.same_body(*op[1:])  # type: ignore[arg-type]
        elif op[0] == "forget":
            cache.forget(*op[1:])  # type: ignore[arg-type]
        else:
            _, source, url, etag, digest = op
            cache.restore(source, {url: [etag, None, digest]})  # type: ignore[arg-type, dict-item]
        assert len(cache._validators) <= bound and len(cache._digests) <= bound
        for source in ("a", "b", "c"):
            expected = scanned_snapshot(cache, source)
            assert cache.snapshot(source) == expected
            assert cache.knows(source) == bool(expected)


def test_forgetting_one_url_keeps_the_others_of_the_source() -> None:
    cache = ValidatorCache()
    cache.remember("a", "http://x/1", '"v1"', None)
    cache.same_body("a", "http://x/2", b"body")
    cache.forget("a", "http://x/1")
    assert cache.validator("a", "http://x/1") is None
    assert list(cache.snapshot("a")) == ["http://x/2"] and cache.knows("a")
    cache.forget("a")
    assert not cache.knows("a") and cache.snapshot("a") == {}
