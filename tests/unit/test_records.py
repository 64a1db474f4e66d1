"""records: the PageRecord contract, versions, fingerprints, and its renderings (examples, then properties).

Revisits are in test_records_revisits.py."""

from __future__ import annotations

import itertools
import json
import random
import re
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from scraper.article import Article
from scraper.extract.page import (
    ExtractionOptions,
)
from scraper.extract.worker import extract_for_record
from scraper.records import (
    KEY_FIELDS,
    Capture,
    WarcPointer,
    article_from_record,
    build_page_record,
    capture_from_record,
    current_extractor,
    mime_type,
    next_version,
    record_for_capture,
    render_markdown,
    render_text,
    simhash,
    text_sha256,
    utc_timestamp,
    word_count,
)
from scraper.scope import (
    url_key,
)
from scraper.storage.jsonl import dumps_line
from tests.conftest import assert_valid_records
from tests.unit.helpers.pages import PAGES
from tests.unit.helpers.records import sample_records
from tests.unit.helpers.strategies import (
    ANY_CHAR,
    FEW,
    MID,
    PROPS,
    articles,
    aware_datetimes,
    captures,
    content_types,
    crawl_ids,
    words_text,
)

CRAWL_ID = "20240301T123045Z-abcdef"
POINTER = WarcPointer(file="scraper-20240301123045123-00001-h.warc.gz", offset=123, length=456,
                      record_id="<urn:uuid:12345678-1234-1234-1234-123456789abc>")


def capture(**overrides: object) -> Capture:
    fields: dict[str, object] = dict(
        requested_url="http://example.test/r", url="http://example.test/a",
        status=200, content_type="text/html; charset=UTF-8",
        fetched_at=datetime(2024, 3, 1, 14, 30, 45, tzinfo=timezone(timedelta(hours=2))),
        payload_digest="sha1:UPE7SFSL2X75ZIU4UI2WCCVS7MVVVMAK", warc=POINTER, depth=1,
        referrer="http://example.test/", redirects=["http://example.test/r"],
    )
    fields.update(overrides)
    return Capture(**fields)  # type: ignore[arg-type]


ARTICLE = Article(text="First paragraph here.\nSecond one.", markdown="## Head\n\nFirst paragraph here.",
                  title="A title", authors=["Jane Doe", "John Roe"], published="2014-01-10T23:30:00+04:00",
                  language="en", canonical_url="https://example.test/canonical", tags=["x"])


def test_record_from_article_validates(record_validator: Draft202012Validator) -> None:
    record = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "trafilatura", "version": "2.3.1"}).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["fetched_at"] == "2024-03-01T12:30:45Z"  # UTC
    assert record["published"] == "2014-01-10T23:30:00+04:00"  # the page's own offset
    assert record["content_type"] == "text/html"
    assert record["word_count"] == 5
    assert record["text_sha256"] == text_sha256(ARTICLE.text)
    assert record["warc"] == {"file": POINTER.file, "offset": 123, "length": 456, "record_id": POINTER.record_id}


def test_record_without_article_uses_null_not_empty(record_validator: Draft202012Validator) -> None:
    record = build_page_record(CRAWL_ID, capture(content_type="application/pdf", redirects=[]), None,
                               {"name": "trafilatura", "version": "2.3.1"}).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["extractor"] is None and record["text"] is None and record["title"] is None
    assert record["authors"] == [] and record["word_count"] == 0
    assert "" not in [v for v in record.values() if isinstance(v, str)]


def test_schema_rejects_what_the_contract_forbids(record_validator: Draft202012Validator) -> None:
    good = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "t", "version": "1"}).to_dict()
    for key, bad in [("title", ""), ("fetched_at", "2024-03-01T12:30:45+00:00"), ("language", "English"),
                     ("authors", "Jane Doe"), ("published", "10/01/2014"), ("url", "/relative")]:
        assert not record_validator.is_valid({**good, key: bad}), key


def test_markdown_document_form() -> None:
    record = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "t", "version": "1"}).to_dict()
    lines = render_markdown(record).splitlines()
    assert lines[0] == "# A title"
    assert "By Jane Doe and John Roe" in lines
    assert any(line.startswith("Published 2014-01-10") for line in lines)
    assert "## Head" in lines
    assert lines[-1] == "Original url: http://example.test/a"


def test_small_helpers() -> None:
    assert mime_type("Text/HTML; charset=utf-8") == "text/html" and mime_type("") is None
    assert word_count("Hello, world—again") == 3 and word_count(None) == 0
    assert utc_timestamp(datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == "2023-12-31T23:30:00Z"
    assert utc_timestamp(datetime(2024, 1, 1, tzinfo=UTC)).endswith("Z")


def test_markdown_does_not_repeat_the_headline() -> None:
    article = Article(text="A title\nBody.", markdown="# A title\n\nBody.", title="A title")
    record = build_page_record(CRAWL_ID, capture(), article, {"name": "t", "version": "1"}).to_dict()
    assert render_markdown(record).count("A title") == 1


PREVIOUS = {"version": 3, "status": 200, "text_sha256": text_sha256("Same text."), "title": "T",
            "authors": ["A"], "published": "2024-01-01", "modified": None}


@pytest.mark.parametrize(("article", "status", "expected"), [
    (Article(text="Same text.", title="T", authors=["A"], published="2024-01-01"), 200, (3, [])),
    (Article(text="New text.", title="T", authors=["A"], published="2024-01-01"), 200, (4, ["text"])),
    (Article(text="Same text.", title="T2", authors=["A", "B"], published="2024-01-01"), 200,
     (4, ["title", "authors"])),
    (None, 404, (None, ["status"])),
])
def test_versions(article: Article | None, status: int, expected: tuple[int | None, list[str]]) -> None:
    assert next_version(PREVIOUS, article, status) == expected
    assert next_version(None, Article(text="x"), 200) == (1, [])


def test_simhash_is_near_for_near_texts() -> None:
    base = " ".join(f"word{i}" for i in range(300))
    near = base.replace("word150", "changed")
    far = " ".join(f"other{i}" for i in range(300))
    a, b, c = (int(simhash(t) or "0", 16) for t in (base, near, far))
    assert bin(a ^ b).count("1") < bin(a ^ c).count("1")
    assert simhash(None) is None


def reference_simhash(text: str) -> str:
    """SimHash as usually written: +1/-1 per bit per gram, bit set where the sum is positive."""
    import hashlib
    import re
    words = re.findall(r"\w+", text.lower())
    weights = [0] * 64
    for i in range(max(1, len(words) - 2)):
        value = int.from_bytes(hashlib.blake2b(" ".join(words[i:i + 3]).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return f"{sum(1 << bit for bit in range(64) if weights[bit] > 0):016x}"


def test_simhash_equals_the_textbook_definition() -> None:
    import random
    rng = random.Random(7)
    vocabulary = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 7))) for _ in range(200)]
    texts = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 900))) for _ in range(60)]
    for sample in [*texts, "one", "one two", "Grüße aus Köln, drei Wörter"]:
        assert simhash(sample) == reference_simhash(sample)


# -- records.py: what the crawl and reextract share ------------------------------------------------------------------
def test_capture_from_record_gives_back_the_capture_of_a_record() -> None:
    for record in sample_records():
        article = article_from_record(record) if record["extractor"] else None
        previous = {"crawl_id": "x", "fetched_at": "y", "version": record["version"] - (1 if record["changed_fields"]
                                                                                       else 0),
                    "warc": {"record_id": record["previous"]["record_id"]}} if record["previous"] else None
        rebuilt = build_page_record(record["crawl_id"], capture_from_record(record), article, record["extractor"],
                                    previous=previous).to_dict()
        same = ("previous", "changed_fields", "version")  # these depend on the previous record given here
        assert {k: v for k, v in rebuilt.items() if k not in same} == {
            k: v for k, v in record.items() if k not in same}


def test_a_record_built_with_a_fingerprint_equals_one_built_without() -> None:
    html = (PAGES / "flowfx-tmux" / "page.html").read_text(encoding="utf-8")
    extracted = extract_for_record(html, "https://flowfx.de/blog/tmux/", ExtractionOptions())
    capture = Capture(requested_url="https://flowfx.de/blog/tmux/", url="https://flowfx.de/blog/tmux/", status=200,
                      content_type="text/html", fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                      payload_digest="sha1:X", warc=WarcPointer(file="f", offset=0, length=1, record_id="<urn:x>"))
    with_fp = build_page_record("c", capture, extracted.article, None, fingerprint=extracted.fingerprint)
    without = build_page_record("c", capture, extracted.article, None)
    assert with_fp == without and with_fp.text_simhash is not None and with_fp.word_count > 0


EXTRACTOR = {"name": "trafilatura", "version": "2.3.1"}
PARAGRAPHS = "The council met on Tuesday.\nIt voted 7 to 4."


def record(title: str | None, text: str | None, markdown: str | None = None) -> dict[str, Any]:
    """A page record from the real builder, with the article fields given."""
    article = Article(title=title, text=text, markdown=markdown)
    return build_page_record(CRAWL_ID, capture(), article, EXTRACTOR).to_dict()


def test_text_prints_the_title_once_when_the_body_starts_with_the_headline() -> None:
    # trafilatura keeps the page's <h1> as the first line of the text
    page = record("Council backs harbour plan", "Council backs harbour plan\n" + PARAGRAPHS)
    assert render_text(page) == "Council backs harbour plan\n\n" + PARAGRAPHS + "\n"
    # the same headline, spaced or cased otherwise, is still the headline
    page = record("Council backs harbour plan", "  Council  backs HARBOUR plan \n" + PARAGRAPHS)
    assert render_text(page) == "Council backs harbour plan\n\n" + PARAGRAPHS + "\n"


def test_text_keeps_a_body_that_starts_with_other_text() -> None:
    for body in [PARAGRAPHS,  # no headline in the text
                 "Council backs harbour plan, and more: the first line of a paragraph\n" + PARAGRAPHS,
                 "Harbour plan\n" + PARAGRAPHS]:  # a kicker, not the title
        page = record("Council backs harbour plan", body)
        assert render_text(page) == "Council backs harbour plan\n\n" + body + "\n", body
    # the title alone (the text was the headline only) and a body alone
    assert render_text(record("Council backs harbour plan", "Council backs harbour plan")) == (
        "Council backs harbour plan\n")
    assert render_text(record(None, PARAGRAPHS)) == PARAGRAPHS + "\n"
    # and a page whose text begins with the headline says it once only (this failed before)
    assert render_text(record("It voted 7 to 4.", "It voted 7 to 4.\nThe council met.")).count("It voted") == 1


def test_markdown_prints_the_title_once_and_keeps_other_bodies() -> None:
    page = record("Council backs harbour plan", "Council backs harbour plan\n" + PARAGRAPHS,
                  "#  Council backs  harbour plan\n\nThe council met on Tuesday.")
    document = render_markdown(page)
    assert document.count("Council backs") == 1 and "The council met on Tuesday." in document
    other = record("Council backs harbour plan", PARAGRAPHS, "## Harbour plan\n\nThe council met on Tuesday.")
    assert "## Harbour plan\n\nThe council met on Tuesday." in render_markdown(other)
    # and the text of a headline written in another case or spacing counts as the headline
    cased = record("Council backs harbour plan", None, "# COUNCIL BACKS HARBOUR PLAN\n\nThe council met.")
    assert render_markdown(cased).splitlines()[:3] == ["# Council backs harbour plan", "", "The council met."]


@st.composite
def records_in_sequence(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Captures of one page, each record built with the URL's last good record as ``previous``."""
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for _ in range(draw(st.integers(1, 3))):
        capture = draw(captures())
        article = draw(st.one_of(st.none(), articles(capture.url)))
        extractor = draw(st.one_of(st.none(), st.just(current_extractor())))
        record = record_for_capture(draw(crawl_ids), capture, article, extractor, previous=previous).to_dict()
        out.append(record)
        if record["version"] is not None:
            previous = record
    return out


@FEW
@given(records_in_sequence())
def test_every_record_validates_and_round_trips_through_json(record_validator: Draft202012Validator,
                                                             records: list[dict[str, Any]]) -> None:
    assert_valid_records(record_validator, records)
    for record in records:
        assert json.loads(json.dumps(record)) == record
        assert json.loads(dumps_line(record).encode("utf-8").decode("utf-8")) == record  # pages.jsonl
    versions = [(r["version"], r["changed_fields"]) for r in records if r["version"] is not None]
    assert versions[:1] in ([], [(1, [])])  # the first capture with content is version 1
    for (before, _), (after, changed) in itertools.pairwise(versions):
        assert after == before + (1 if changed else 0)  # then up by one exactly when something changed


@FEW
@given(captures(), st.data())
def test_build_page_record_validates(record_validator: Draft202012Validator, capture: Capture,
                                     data: st.DataObject) -> None:
    article = data.draw(st.one_of(st.none(), articles(capture.url)))
    record = build_page_record(data.draw(crawl_ids), capture, article, current_extractor()).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["normalized_url"] == url_key(capture.url)
    assert record["extractor"] is None or article is not None


# -- next_version ------------------------------------------------------------------------------

KEY_VALUES = {
    "text": st.one_of(st.none(), st.sampled_from(["One text.", "Another text.", "one text"])),
    "title": st.one_of(st.none(), st.sampled_from(["A title", "Another title", "a title"])),
    "authors": st.lists(st.sampled_from(["Jane Doe", "John Roe", "jane doe"]), unique=True, max_size=2),
    "published": st.one_of(st.none(), st.sampled_from(["2024-03-01", "2024-03-01T10:00:00+01:00"])),
    "modified": st.one_of(st.none(), st.sampled_from(["2024-03-02", "2024-03-02T10:00:00Z"])),
}
key_articles = st.builds(Article, **KEY_VALUES, description=st.one_of(st.none(), st.text(max_size=5)),
                         tags=st.lists(st.text(min_size=1, max_size=3), max_size=2))


CAPTURE = Capture(requested_url="http://a.test/", url="http://a.test/", status=200, content_type="text/html",
                  fetched_at=datetime(2024, 3, 1, tzinfo=UTC), payload_digest=None,
                  warc=WarcPointer(file="a.warc.gz", offset=0, length=1,
                                   record_id="<urn:uuid:12345678-1234-1234-1234-123456789abc>"))


@MID
@given(st.integers(100, 599), key_articles, st.integers(1, 10**6), st.one_of(st.none(), key_articles),
       st.integers(100, 599))
def test_version_goes_up_by_one_exactly_when_a_key_field_changes(before_status: int, before: Article,
                                                                 before_version: int, after: Article | None,
                                                                 status: int) -> None:
    capture = replace(CAPTURE, status=before_status)
    previous = build_page_record("20240301T000000Z-abcdef", capture, before, current_extractor()).to_dict()
    if previous["version"] is not None:
        previous["version"] = before_version  # the page's history before this record
    version, changed = next_version(previous, after, status)
    if after is None or (after.text is None and after.title is None):  # no content: no version
        assert version is None
        assert changed == (["status"] if status != previous["status"] else [])
        return
    if previous["version"] is None:
        assert (version, changed) == (1, [])
        return
    expected = [name for name in KEY_FIELDS
                if (text_sha256(getattr(after, name)) if name == "text" else getattr(after, name))
                != (previous["text_sha256"] if name == "text" else previous[name])]
    assert changed == expected
    assert version == previous["version"] + (1 if changed else 0)


@MID
@given(key_articles, st.integers(1, 10**6), st.integers(100, 599),
       st.fixed_dictionaries({}, optional={"description": st.text(max_size=4), "site_name": st.text(max_size=4),
                                           "markdown": st.text(max_size=4), "tags": st.lists(st.text(max_size=3))}))
def test_version_ignores_fields_that_are_not_key_fields(article: Article, version: int, status: int,
                                                        other: dict[str, Any]) -> None:
    assume(article.text is not None or article.title is not None)
    previous = {"version": version, "status": 200, "text_sha256": text_sha256(article.text), "title": article.title,
                "authors": list(article.authors), "published": article.published, "modified": article.modified}
    assert next_version(previous, replace(article, **other), status) == (version, [])
    assert next_version(None, article, status) == (1, [])


# -- the small normalisers ---------------------------------------------------------------------


@PROPS
@given(aware_datetimes)
def test_utc_timestamp_is_utc_and_exact_to_the_second(moment: datetime) -> None:
    stamp = utc_timestamp(moment)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", stamp), stamp
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    assert parsed <= moment < parsed + timedelta(seconds=1)


def test_utc_timestamp_pads_the_year() -> None:
    """Regression: strftime('%Y') gives '999', not '0999', so the value broke the record schema."""
    assert utc_timestamp(datetime(999, 5, 1, 12, tzinfo=UTC)) == "0999-05-01T12:00:00Z"


MEDIA_TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "!#$&^_.+-", min_size=1, max_size=10)


@PROPS
@given(st.one_of(st.none(), st.text(max_size=30), content_types))
def test_mime_type_gives_a_bare_lower_case_media_type_or_none(value: str | None) -> None:
    result = mime_type(value)
    assert result is None or re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", result), result
    assert mime_type(result) == result


@PROPS
@given(MEDIA_TOKEN, MEDIA_TOKEN, st.text(max_size=20), st.text(alphabet=" \t", max_size=2))
def test_mime_type_drops_parameters_and_case(kind: str, sub: str, params: str, pad: str) -> None:
    assert mime_type(f"{pad}{kind}/{sub}{pad};{params}") == f"{kind}/{sub}".lower()


def test_mime_type_of_a_malformed_header_is_unknown() -> None:
    """Regression: a malformed Content-Type was kept, and broke the record schema."""
    assert mime_type("text/html charset=utf-8") is None
    assert mime_type("html") is None
    assert mime_type("Text/HTML; charset=UTF-8") == "text/html"


@PROPS
@given(words_text, words_text)
def test_word_count_adds_up_over_separated_texts(first: str, second: str) -> None:
    assert word_count(first + " " + second) == word_count(first) + word_count(second)
    assert word_count(first) >= 0 and word_count(None) == 0 == word_count("")


@PROPS
@given(words_text, words_text)
def test_text_sha256_names_the_text(first: str, second: str) -> None:
    digest = text_sha256(first)
    assert digest is None if not first else re.fullmatch(r"sha256:[0-9a-f]{64}", digest or "")
    if first and second:
        assert (text_sha256(first) == text_sha256(second)) == (first == second)


WORD = re.compile(r"\w+")
# Characters that are not word characters, nor are their lower-case forms: punctuation, white space, symbols.
SEPARATORS = [c for c in map(chr, [*range(0x3100), *range(0xFE10, 0xFFFE), *range(0x1F300, 0x1F400)])
              if not WORD.match(c) and not WORD.match(c.lower()) and not 0xD800 <= ord(c) < 0xE000]


@PROPS
@given(st.one_of(st.text(alphabet=ANY_CHAR, max_size=60),
                 st.text(alphabet="ΑΣΟΔΚαςσοδκİiIßẞ _.:'’-,;!?\n\u00a0", max_size=30)),
       st.randoms(use_true_random=True))
def test_simhash_ignores_case_punctuation_and_white_space(text: str, rnd: random.Random) -> None:
    """simhash hashes the word 3-grams of text.lower(): words are runs of \\w characters, so case, and what
    separates the words (punctuation, white space), do not count."""
    assume(text)
    result = simhash(text)
    assert result is not None and re.fullmatch(r"[0-9a-f]{16}", result)
    assert simhash(text) == result  # deterministic
    # Same words, other separators: every run of non-word characters replaced by another one.
    pieces = re.split(r"(\w+)", text)
    respelled = "".join(
        piece if index % 2 else "".join(rnd.choices(SEPARATORS, k=rnd.randint(0 < index < len(pieces) - 1, 3)))
        for index, piece in enumerate(pieces))
    # Other case: any character whose other case lower-cases the same.
    recased = "".join(c.upper() if rnd.random() < 0.5 and c.upper().lower() == c.lower() else c for c in respelled)
    assume(recased)
    assert simhash(recased) == result, (text, recased)


def test_simhash_of_nothing() -> None:
    assert simhash(None) is None and simhash("") is None


def test_simhash_of_greek_capitals_ignores_punctuation_and_case() -> None:
    """Regression: 'ΟΔΟΣ.ΚΑΙ'.lower() is 'οδοσ.και' but 'ΟΔΟΣ ΚΑΙ'.lower() is 'οδος και' (final sigma)."""
    assert simhash("ΟΔΟΣ.ΚΑΙ ΜΕΤΑ") == simhash("ΟΔΟΣ ΚΑΙ ΜΕΤΑ") == simhash("οδος και μετα") == simhash("οδοσ και μετα")
    assert simhash("Grüße aus Köln") == simhash("grüße, AUS köln!")
