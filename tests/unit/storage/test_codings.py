"""storage.codings: undoing an HTTP body's codings, bounded."""

from __future__ import annotations

import gzip
import zlib

import brotli

from scraper.storage.codings import decoded_start

PAGE = b"<html><head><meta name='robots' content='noarchive'></head><body>" + b"<p>words</p>" * 5000 + b"</body></html>"


def test_the_start_of_a_body_is_decoded_whatever_its_codings() -> None:
    for codings, body in [([], PAGE), (["gzip"], gzip.compress(PAGE)), (["x-gzip"], gzip.compress(PAGE)),
                          (["deflate"], zlib.compress(PAGE)), (["br"], brotli.compress(PAGE)),
                          (["gzip", "br"], brotli.compress(gzip.compress(PAGE))), ([" GZIP "], gzip.compress(PAGE))]:
        assert decoded_start(body, codings, 1000) == PAGE[:1000], codings


def test_a_decompression_bomb_gives_its_start_like_any_body() -> None:
    bomb = brotli.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in a few hundred bytes
    assert decoded_start(bomb, ["br"], 4096) == b"\0" * 4096
    assert decoded_start(gzip.compress(b"\0" * (64 << 20)), ["gzip"], 10) == b"\0" * 10


def test_what_does_not_decode_gives_what_decoded_before_it() -> None:
    assert decoded_start(b"not gzip at all", ["gzip"], 4096) == b""
    assert decoded_start(gzip.compress(PAGE), ["compress"], 4096) == b""  # a coding scraper cannot undo
    assert decoded_start(gzip.compress(PAGE)[:200], ["gzip"], 100_000).startswith(b"<html><head>")  # cut short
    assert decoded_start(b"", ["gzip"], 10) == b""
