"""warcio's undocumented parts that ``scraper.storage.warc`` relies on, behind names of ours.

Imported by ``scraper.storage.warc`` only (an import-linter contract says so): warcio belongs there.
``tests/unit/compat/test_warcio.py`` fails loudly when an upgrade changes any of them, and
pyproject.toml bounds warcio (``<1.9``) so that an untested version is not installed.  None has a leading
underscore, but none is in warcio's documentation either; each is an internal that its writer or reader
reads, and used for this reason:

* ``StatusAndHeaders.compute_headers_buffer`` and the ``headers_buff`` it sets (:class:`RawHeaders`): the
  writer serialises HTTP headers, and computes the block digest, from ``headers_buff``; warcio
  percent-encodes a non-ASCII value there, and a faithful archive keeps the bytes as received.
* ``NO_PAYLOAD_DIGEST_TYPES`` of warcio's writers (:func:`without_payload_digest`): the record types
  the writer gives no ``WARC-Payload-Digest``; a record whose payload is not the whole body (a download
  cut short) must not claim one.
* ``ArchiveIterator.err_count`` (:func:`framing_errors`): warcio counts, and prints to stderr, a record
  not followed by CRLF CRLF, and reads on; the verifier and the readers report it as damage.

(``RecordBuilder._make_warc_id`` was used by a ``new_record_id`` nobody called: it is gone.)

Nothing of ours is imported here: this module sits at the bottom of the layers.
"""

from __future__ import annotations

from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders


class RawHeaders(StatusAndHeaders):  # type: ignore[misc]
    """Headers serialised byte for byte as received.

    warcio percent-encodes any non-ASCII header value; HTTP/1.1 headers are
    octets, so values decoded as latin-1 go back to the same bytes here.
    """

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1", "replace") + b"\r\n"


def without_payload_digest(writer: Any, record_type: str) -> None:
    """Make ``writer`` (a warcio writer, used for one record) write no ``WARC-Payload-Digest`` for ``record_type``.

    Set on the instance: warcio's class attribute, which every other writer reads, stays as it is.
    """
    writer.NO_PAYLOAD_DIGEST_TYPES = (*writer.NO_PAYLOAD_DIGEST_TYPES, record_type)


def framing_errors(iterator: ArchiveIterator) -> int:
    """How many records so far were not followed by CRLF CRLF (a wrong Content-Length, usually)."""
    return int(iterator.err_count)
