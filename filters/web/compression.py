"""Decompression with a hard cap on the output, so a gzip bomb costs at most ``max_out`` bytes."""

from __future__ import annotations

import zlib


class TooLarge(Exception):
    """Output would exceed the cap (reason too_large)."""


class CorruptEncoding(Exception):
    """The compressed stream is invalid or truncated (reason corrupt_encoding)."""


class CappedDecompressor:
    """Incremental gzip/zlib decompressor that refuses to produce more than ``max_out`` bytes."""

    def __init__(self, max_out: int, wbits: int = 47):  # 47 = 32 + 15: gzip or zlib header
        self._d = zlib.decompressobj(wbits=wbits)
        self.max_out = max_out
        self.produced = 0

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        buf = chunk
        try:
            while buf:
                piece = self._d.decompress(buf, self.max_out - self.produced + 1)
                out += piece
                self.produced += len(piece)
                if self.produced > self.max_out:
                    raise TooLarge(f"decompresses to more than {self.max_out} bytes")
                buf = self._d.unconsumed_tail
                if self._d.eof:
                    break
        except zlib.error as exc:
            raise CorruptEncoding(f"invalid compressed data: {exc}") from exc
        return bytes(out)

    def finish(self) -> bytes:
        if not self._d.eof:
            raise CorruptEncoding("compressed stream is truncated")
        return b""


def gunzip_capped(data: bytes, max_out: int) -> bytes:
    """Decompress a whole gzip/zlib blob, refusing output over ``max_out`` bytes."""
    d = CappedDecompressor(max_out)
    out = d.feed(data)
    d.finish()
    return out
