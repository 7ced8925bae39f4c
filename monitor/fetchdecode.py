"""Bounded decoding of response bodies: gzip, deflate and brotli, never past the size cap.

httpx would decompress without a bound (a decompression bomb), so leakmon asks for the raw
stream and decodes it here, chunk by chunk.
"""

from __future__ import annotations

import zlib

import brotli

from monitor.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate, br"
DECODE_STEP = 1 << 20          # at most this many decoded bytes per decompressor call



class Decoder:
    """Decodes a Content-Encoding chunk by chunk without ever exceeding ``limit`` output bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self._zlib: zlib._Decompress | None = None
        self._brotli: brotli.Decompressor | None = None
        self._deflate_started = False
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        elif encoding == "br":
            self._brotli = brotli.Decompressor()
        elif encoding not in ("", "identity"):
            raise FetchError(f"unsupported Content-Encoding {encoding[:40]!r}")

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(f"response larger than {self.limit} bytes")
        if data:
            self.parts.append(data)

    def _step(self) -> int:
        # One byte more than what is still allowed, so crossing the limit is detected.
        return max(1, min(DECODE_STEP, self.limit - self.size + 1))

    def feed(self, chunk: bytes) -> None:
        """Decode one raw chunk; raise FetchError once decoded output passes the limit."""
        try:
            if self._brotli is not None:
                self._feed_brotli(chunk)
            elif self._zlib is not None:
                self._feed_zlib(chunk)
            else:
                self._add(chunk)
        except (zlib.error, brotli.error) as exc:
            raise FetchError(f"corrupt {self.encoding} body") from exc

    def _feed_zlib(self, chunk: bytes) -> None:
        assert self._zlib is not None
        if self.encoding == "deflate" and not self._deflate_started and chunk:
            # "deflate" should be zlib-wrapped, but many servers send raw deflate: sniff once.
            self._deflate_started = True
            try:
                zlib.decompressobj(zlib.MAX_WBITS).decompress(chunk[:64], 1)
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        data = chunk
        while data:
            self._add(self._zlib.decompress(data, self._step()))
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:
                rest = self._zlib.unused_data + data
                if self.encoding == "deflate" or not rest.startswith(b"\x1f\x8b"):
                    return   # junk after the end of the stream is ignored, as browsers do
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)   # the next gzip member
                data = rest

    def _feed_brotli(self, chunk: bytes) -> None:
        assert self._brotli is not None
        if self._brotli.is_finished():
            return
        self._add(self._brotli.process(chunk, output_buffer_limit=self._step()))
        # With output_buffer_limit the decoder may hold more output: drain it with empty input.
        while not self._brotli.can_accept_more_data() and not self._brotli.is_finished():
            self._add(self._brotli.process(b"", output_buffer_limit=self._step()))

    def finish(self) -> bytes:
        if self._zlib is not None and not self._zlib.eof:
            try:
                self._add(self._zlib.flush(self._step()))
            except zlib.error as exc:
                raise FetchError(f"corrupt {self.encoding} body") from exc
        return b"".join(self.parts)
