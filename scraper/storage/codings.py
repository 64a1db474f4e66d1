"""HTTP bodies as WARC records store them, decoded: transfer codings undone, then content codings; bounded.

The one decoder of the project: ``scraper verify`` checks bodies with it, ``scraper reextract`` and
``scraper import`` read pages with it.  Streaming: a body is fed in pieces, each step yields at most
64 KiB, and nothing is decoded past the limit asked for, so a decompression bomb (kilobytes that
inflate to gigabytes) costs no more than the limit.

* :func:`http_payload_stream` is strict, for the verifier: a coding that does not decode, or that
  is unknown here, raises :class:`PayloadCodingError`.
* :func:`decode_body` reads a page as the crawl read it (Scrapy's HttpCompressionMiddleware): the
  last coding applied is undone first, stopping at one it cannot undo; a body cut short keeps what
  decoded, and so does a gzip body damaged after its start; past the limit it raises
  :class:`BodyTooLarge`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"


# -- HTTP bodies: transfer coding, then content coding ---------------------------------------------------
PIECE = 1 << 16  # the most one decoding step yields at a time: a bomb is read no further than it is asked
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_MAX_CHUNK_LINE = 4096


class PayloadCodingError(ValueError):
    """An HTTP body is not in the coding its Transfer-Encoding or Content-Encoding names.

    ``truncated``: the data ended before the coding's own end (a cut body, or a prefix),
    but every byte up to there decoded.
    """

    def __init__(self, coding: str, reason: str, *, truncated: bool = False) -> None:
        super().__init__(f"{coding}: {reason}")
        self.coding = coding
        self.reason = reason
        self.truncated = truncated


class ChunkedDecoder:
    """Undoes chunked transfer coding (RFC 9112 §7.1), fed the body in pieces of any size.

    Lenient where browsers are: bare LF line ends, chunk extensions and trailer fields
    (skipped), white space after the last chunk.
    """

    def __init__(self) -> None:
        self._pending = b""  # an incomplete line
        self._state = "size"  # size -> data -> data-end -> size ... -> trailer -> done
        self._left = 0
        self.done = False

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        view = self._pending + data if self._pending else data
        self._pending = b""
        position = 0
        while position < len(view):
            if self._state == "data":
                take = min(self._left, len(view) - position)
                out.append(view[position:position + take])
                position += take
                self._left -= take
                if not self._left:
                    self._state = "data-end"
                continue
            if self._state == "done":
                if view[position:].strip():
                    raise PayloadCodingError("chunked", f"{len(view) - position} bytes follow the last chunk")
                break
            end = view.find(b"\n", position)
            if end < 0:
                self._pending = view[position:]
                self._check_partial(self._pending)
                break
            self._line(view[position:end + 1])
            position = end + 1
        return b"".join(out)

    def _check_partial(self, partial: bytes) -> None:
        """A line not ended yet: raise as soon as it cannot become what is due (a body that is not chunked)."""
        if self._state == "size":
            digits = _HEX.match(partial)
            end = digits.end() if digits else 0
            if not digits or (end < len(partial) and partial[end:end + 1] not in b"; \t\r"):
                raise PayloadCodingError("chunked", f"no chunk size where one was due: {partial[:20]!r}")
        elif self._state == "data-end" and partial.strip(b"\r"):
            raise PayloadCodingError("chunked", f"a chunk is not followed by CRLF (found {partial[:20]!r})")
        if len(partial) > _MAX_CHUNK_LINE:
            raise PayloadCodingError("chunked", f"a chunk-size or trailer line longer than 4 KiB: {partial[:20]!r}")

    def _line(self, line: bytes) -> None:
        text = line.rstrip(b"\r\n")
        if self._state == "data-end":
            if text:
                raise PayloadCodingError("chunked", f"a chunk is not followed by CRLF (found {line[:20]!r})")
            self._state = "size"
        elif self._state == "size":
            size = text.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size):
                raise PayloadCodingError("chunked", f"no chunk size where one was due: {line[:20]!r}")
            self._left = int(size, 16)
            self._state = "data" if self._left else "trailer"
        elif not text:  # the empty line that ends the trailer section
            self._state = "done"
            self.done = True

    def close(self) -> None:
        """Raise when the body ended before its last chunk."""
        if not self.done:
            raise PayloadCodingError("chunked", "the body ends before its last chunk", truncated=True)


def header_codings(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """The codings a Transfer-Encoding or Content-Encoding header lists, in the order applied (no identity)."""
    codings = [c.strip().lower() for key, value in headers if key.strip().lower() == name.lower()
               for c in value.split(",")]
    return [c for c in codings if c and c != "identity"]


def _dechunk(pieces: Iterator[bytes]) -> Iterator[bytes]:
    decoder = ChunkedDecoder()
    for piece in pieces:
        out = decoder.feed(piece)
        if out:
            yield out
    decoder.close()


def _last_apart(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes, the last ``size`` of them in a piece of their own."""
    held = b""
    for piece in pieces:
        data = held + piece
        held = data[-size:]
        if len(data) > size:
            yield data[:-size]
    if held:
        yield held


def _inflate(pieces: Iterator[bytes], coding: str) -> Iterator[bytes]:
    gzip = coding in ("gzip", "x-gzip")
    inflater: Any = None
    members = 0  # streams inflated to their end
    finished = False  # what follows is ignored
    pending = b""
    # zlib checks a gzip member's CRC in the step that reads its 8-byte trailer, and a step that fails
    # loses its output: fed apart, the trailer fails alone, after every byte of the body was yielded
    # (a body with a bad CRC reads whole, as Python's gzip and so Scrapy read it).
    for piece in _last_apart(pieces, 8) if gzip else pieces:
        data, pending = pending + piece, b""
        full = False  # the last step filled its output: it may have more without more input
        while not finished and (data or full):
            if inflater is None:
                if members and not data.startswith(GZIP_MAGIC):
                    finished = True  # bytes after the last gzip member are ignored, as browsers do
                    break
                if len(data) < 2:
                    pending = data  # the wrapping is told by the first two bytes
                    break
                # Servers send zlib-wrapped and raw deflate alike under the name "deflate".
                zlib_wrapped = (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else
                                              zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
            try:
                out = inflater.decompress(data, PIECE)
            except zlib.error as exc:
                raise PayloadCodingError(coding, f"is not {coding} ({str(exc).rsplit(': ', 1)[-1]})") from None
            full = len(out) == PIECE
            if out:
                yield out
            if inflater.eof:
                members += 1
                data, inflater, full = inflater.unused_data, None, False
                finished = not gzip  # gzip may come in several members
            else:
                data = inflater.unconsumed_tail
    if inflater is not None or (pending and not members):
        raise PayloadCodingError(coding, "the data ends before the end of its stream", truncated=True)


def _unbrotli(pieces: Iterator[bytes], coding: str) -> Iterator[bytes]:
    import brotli

    decoder = brotli.Decompressor()
    fed = False
    for piece in pieces:
        for start in range(0, len(piece), PIECE):
            fed = True
            try:
                yield from _brotli_steps(decoder, piece[start:start + PIECE])
            except Exception:  # brotli.error, under either module of that name
                raise PayloadCodingError(coding, "does not decode as brotli") from None
    finished = getattr(decoder, "is_finished", None)
    if fed and finished is not None and not finished():
        raise PayloadCodingError(coding, "the data ends before the end of its stream", truncated=True)


def _brotli_steps(decoder: Any, data: bytes) -> Iterator[bytes]:
    if hasattr(decoder, "can_accept_more_data"):  # Google's brotli ≥ 1.2: output bounded per step
        yield decoder.process(data, output_buffer_limit=PIECE)
        while not decoder.can_accept_more_data():
            yield decoder.process(b"", output_buffer_limit=PIECE)
    elif hasattr(decoder, "process"):  # older Google brotli
        yield decoder.process(data)
    else:  # brotlipy, which installs a module of the same name
        yield decoder.decompress(data)


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None
    return zstd


def _unzstd(pieces: Iterator[bytes], coding: str) -> Iterator[bytes]:
    zstd = _zstd_module()
    decoder: Any = None
    for piece in pieces:
        data = piece
        while data or (decoder is not None and not decoder.needs_input and not decoder.eof):
            decoder = zstd.ZstdDecompressor() if decoder is None or decoder.eof else decoder
            try:
                out = decoder.decompress(data, max_length=PIECE)
            except zstd.ZstdError:
                raise PayloadCodingError(coding, "does not decode as zstd") from None
            data = decoder.unused_data if decoder.eof else b""
            if out:
                yield out
    if decoder is not None and not decoder.eof:
        raise PayloadCodingError(coding, "the data ends before the end of its stream", truncated=True)


def _decoder(coding: str) -> Callable[[Iterator[bytes], str], Iterator[bytes]] | None:
    """The decoding of one coding, or None when it cannot be undone here."""
    if coding in ("gzip", "x-gzip", "deflate"):
        return _inflate
    if coding == "br":
        return _unbrotli
    if coding == "zstd" and _zstd_module() is not None:
        return _unzstd
    return None


def can_decode(codings: Iterable[str]) -> bool:
    return all(coding == "chunked" or _decoder(coding) is not None for coding in codings)


def undo_codings(codings: Sequence[str], pieces: Iterator[bytes]) -> Iterator[bytes]:
    stream = pieces
    for coding in reversed(codings):  # the last applied is undone first
        if coding == "chunked":
            stream = _dechunk(stream)
            continue
        decode = _decoder(coding)
        if decode is None:
            raise PayloadCodingError(coding, "is a coding scraper cannot undo")
        stream = decode(stream, coding)
    return stream


def http_payload_stream(headers: Sequence[tuple[str, str]], body: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The content of an HTTP message, from its body as a WARC record stores it.

    ``headers``: the message's HTTP headers (name, value), any case.  ``body``: the bytes
    after the HTTP head, in pieces.  Transfer codings are undone (chunked, and gzip or
    deflate under Transfer-Encoding), then content codings (gzip, deflate, br, zstd), the
    last applied first.  Yields at most ``limit`` bytes, in pieces of at most 64 KiB, and
    decodes no further than that: a decompression bomb costs no more.  Raises
    :class:`PayloadCodingError` when a coding does not decode, or is unknown (``truncated``
    when the body ends before a coding's end: the bytes yielded are good as far as they go).
    An empty body is an empty payload, whatever the headers say.
    """
    # In the order applied: the content codings by the origin, then the transfer codings on the way.
    codings = header_codings(headers, "content-encoding") + header_codings(headers, "transfer-encoding")
    produced = 0
    pieces = (piece for piece in body if piece)
    first = next(pieces, None)
    if first is None or limit <= 0:
        return
    for out in undo_codings(codings, _prepend(first, pieces)):
        out = out[:limit - produced]
        produced += len(out)
        if out:
            yield out
        if produced >= limit:
            return


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# -- a page's body, as the crawl read it --------------------------------------------------------------------------
# What Scrapy's HttpCompressionMiddleware undoes (ACCEPTED_ENCODINGS, and x-gzip); zstd only with its module.
PAGE_CODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd")


class BodyTooLarge(ValueError):
    """A body that decodes to more than the limit: a decompression bomb, not a page to read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body inflates to over {limit:,} bytes (a decompression bomb?)")
        self.limit = limit


@dataclass(frozen=True)
class DecodedBody:
    body: bytes
    codings_left: list[str]  # not undone: one Scrapy does not know, and those applied before it


def decode_body(body: bytes, codings: Sequence[str], limit: int) -> DecodedBody:
    """Undo ``codings`` (in the order applied, as Content-Encoding lists them) the way the crawl's Scrapy does.

    The last coding first, stopping at one it cannot undo.  A body cut short keeps what decoded, and so
    does a gzip body damaged after its start (Scrapy's gunzip); other damage raises
    :class:`PayloadCodingError`.  Raises :class:`BodyTooLarge` as soon as more than ``limit`` bytes
    have decoded: memory holds at most ``limit`` + 64 KiB.
    """
    left = [coding.strip().lower() for coding in codings]
    undone: list[str] = []
    while left and left[-1] in PAGE_CODINGS and _decoder(left[-1]) is not None:
        undone.insert(0, left.pop())
    if not undone:
        return DecodedBody(body, left)
    out = bytearray()
    try:
        for piece in undo_codings(undone, iter([body] if body else [])):
            out += piece
            if len(out) > limit:
                raise BodyTooLarge(limit)
    except PayloadCodingError as exc:
        if not (exc.truncated or (exc.coding in ("gzip", "x-gzip") and out)):
            raise
    return DecodedBody(bytes(out), left)



def decoded_start(body: bytes, codings: Sequence[str], size: int) -> bytes:
    """The first ``size`` bytes of ``body`` with ``codings`` (as Content-Encoding lists them) undone.

    For reading a page's ``<head>`` (its meta robots) before anything else decodes it: no more than
    ``size`` bytes are decoded, so a decompression bomb costs nothing; what does not decode, or a
    coding scraper cannot undo, gives what decoded before it (often nothing).
    """
    out = bytearray()
    try:
        for piece in undo_codings([coding.strip().lower() for coding in codings], iter([body] if body else [])):
            out += piece[:size - len(out)]
            if len(out) >= size:
                break
    except PayloadCodingError:
        pass  # a broken encoding just means less, or nothing, to read
    return bytes(out)
