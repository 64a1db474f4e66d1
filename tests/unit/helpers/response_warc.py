"""One HTTP response in a WARC file, written with warcio as another tool would."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HTML = ("<html><head><title>Ferry timetable</title></head><body><article><h1>Ferry timetable</h1>"
        + "<p>The ferry keeps its winter timetable, the harbour master said on Tuesday morning.</p>" * 40
        + "</article></body></html>").encode()


def write_warc(path: Path, headers: list[tuple[str, str]], body: bytes, gzipped: bool = True) -> int:
    """One response record after a warcinfo; returns the response's offset."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzipped, warc_version="1.0")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        offset = fh.tell()
        writer.write_record(writer.create_warc_record(
            "http://example.org/page.html", "response", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2020-01-01T00:00:00Z"}))
    return offset
