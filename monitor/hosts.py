"""The host a URL names, read one way everywhere a host decides something.

The ".onion needs a proxy" rule, the same-origin checks of links and redirects, and with them
where cookies may go, all compare hosts. Reading the host by hand ("what follows ``://`` up to
``/`` or ``:``") is fooled by ``user:pw@`` in front of it, a trailing dot (``x.onion.`` is the
same name to DNS) or upper-case and non-ASCII spellings of one name, so every such decision
goes through :func:`host_of`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import idna

__all__ = ["host_of", "is_onion"]


def host_of(url: str) -> str | None:
    """The host of ``url`` in one canonical form, or None when it has no readable host.

    Read by :func:`urllib.parse.urlsplit` (so ``user:pw@`` and ``:port`` are not part of it),
    lower-cased, without the trailing dot(s) of a fully qualified name, and non-ASCII names in
    their IDNA (punycode) form: ``http://user:pw@MÜNCHEN.de.:8080/x`` -> ``xn--mnchen-3ya.de``.
    An IPv6 literal comes back without its brackets (``::1``).
    """
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:            # e.g. an unbalanced "[" in the authority
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if not host:
        return None
    if host.isascii() or ":" in host:
        return host.lower()
    try:
        # UTS 46 mapping: full-width letters and dots, upper case, "。" are read as DNS reads them
        return idna.encode(host, uts46=True).decode("ascii").rstrip(".").lower() or None
    except idna.IDNAError:
        return None


def is_onion(host: str | None) -> bool:
    """Whether a host (as :func:`host_of` gives it) is a Tor onion service name."""
    return host is not None and (host == "onion" or host.endswith(".onion"))
