"""Shared test helpers (none of them is a test): import what you need.

- ``clocks``: :class:`Clock` (a wall clock moved by hand) and :class:`SleepClock` (a monotonic
  clock that moves only when slept through), and the common start time ``T0``;
- ``files``: the saved pages under ``tests/fixtures`` (:func:`fixture`);
- ``sources``: a Fetcher serving bytes from a dict, a SourceState, ``options`` and ``page``
  for the pure source functions;
- ``records``: the watch entries, items, hits and poll records the store tests save;
- ``http``: request handlers for the loopback site (slow, streamed, compressed, redirecting);
- ``waiting``: waiting for a condition with a deadline instead of sleeping a fixed time.

The ``bot`` fixture (a fake Telegram Bot API) and the ``site`` fixture (a loopback HTTP server)
are in ``tests/conftest.py``. The servers themselves are ``tests/fakebot.py``,
``tests/loopback.py`` and ``tests/socks5.py``.
"""
