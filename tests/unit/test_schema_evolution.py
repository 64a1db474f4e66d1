"""Issue 18's additive change to the page record: the seven page types, page_type_confidence, product, and the
extractor's model digest; schema_version stays 1 and records written before still validate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scraper.article import OLD_PAGE_TYPES, PAGE_TYPES, Article, Product, digest_models, model_digest
from scraper.records import (
    SCHEMA_VERSION,
    article_from_record,
    build_page_record,
    current_extractor,
    render_markdown,
)
from scraper.schema import page_record_schema
from tests.conftest import assert_valid_records
from tests.unit.test_records import CRAWL_ID, capture

REPO = Path(__file__).resolve().parents[2]

# A record as scraper wrote it before issue 18 (built by the code of commit 39537d6, copied here verbatim):
# page_type "other", no page_type_confidence, no product, extractor trafilatura with name and version only.
OLD_RECORD: dict[str, Any] = json.loads(
    '{"schema_version": 1, "crawl_id": "20260105T090000Z-abcdef", "requested_url": "https://example.com/shop/map", '
    '"url": "https://example.com/shop/map", "normalized_url": "https://example.com/shop/map", "canonical_url": null, '
    '"redirects": [], "status": 200, "content_type": "text/html", "fetched_at": "2026-01-05T09:00:00Z", '
    '"truncated": false, "access": {"x_robots_tag": [], "meta_robots": []}, "depth": 0, "referrer": null, '
    '"page_type": "other", "title": "Harbour map", "authors": [], "published": null, "modified": null, '
    '"site_name": null, "description": null, "language": "en", "image": null, "tags": [], "categories": [], '
    '"text": "A map of the harbour, folded.", "markdown": null, "word_count": 6, '
    '"text_sha256": "sha256:51b1c741483a6e4850ecb983b7f2733b1c24868af2ea81b9f276f9a40c4ca9ea", '
    '"payload_digest": "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "warc": {"file": '
    '"scraper-20260105090000000-00001-h.warc.gz", "offset": 1200, "length": 3400, "record_id": '
    '"<urn:uuid:00000000-0000-0000-0000-000000000007>"}, "record_kind": "response", "revisit_profile": null, '
    '"refers_to": null, "version": 1, "previous": null, "changed_fields": [], "text_simhash": "4ecb910982013842", '
    '"extractor": {"name": "trafilatura", "version": "2.3.1"}}')
PRODUCT = Product(name="Harbour map", brand="Acme", sku="HM-1", price="19.99", currency="EUR", availability="InStock",
                  rating="4.5", review_count=12)


def new_record(**article: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"page_type": "product", "page_type_confidence": 0.93, "title": "Harbour map",
                              "text": "A map of the harbour, folded.", "product": PRODUCT}
    fields.update(article)
    return build_page_record(CRAWL_ID, capture(), Article(**fields), current_extractor()).to_dict()


def test_schema_version_moves_only_with_a_breaking_change() -> None:
    """The rule is written where readers look: the schema (and the README's field table, checked below)."""
    schema = page_record_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION == 1
    assert schema["$id"].endswith("/v1.json")
    assert "additive change" in schema["description"].lower() and "breaking" in schema["description"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "| `schema_version` | `1`. It moves only with a breaking change" in readme


def test_an_old_record_still_validates(record_validator: Draft202012Validator) -> None:
    assert_valid_records(record_validator, [OLD_RECORD])
    # and one written before page_type existed
    assert_valid_records(record_validator, [{k: v for k, v in OLD_RECORD.items() if k != "page_type"}])


def test_a_new_record_validates_with_every_page_type(record_validator: Draft202012Validator) -> None:
    record = new_record()
    assert record["page_type_confidence"] == 0.93
    assert record["product"] == {"name": "Harbour map", "brand": "Acme", "sku": "HM-1", "price": "19.99",
                                 "currency": "EUR", "availability": "InStock", "rating": "4.5", "review_count": 12}
    assert set(record["extractor"]) == {"name", "version", "model", "trafilatura"}
    records = [new_record(page_type=kind, product=None) for kind in PAGE_TYPES]
    records += [new_record(page_type=None, page_type_confidence=None, product=None), record]
    assert_valid_records(record_validator, records)
    assert [r["product"] for r in records[:-1]] == [None] * (len(records) - 1)


def test_what_the_schema_refuses(record_validator: Draft202012Validator) -> None:
    good = new_record()
    for key, bad in [("page_type", "blog"), ("page_type", "Article"), ("page_type_confidence", 1.5),
                     ("page_type_confidence", -0.1), ("page_type_confidence", "0.9"),
                     ("product", {**good["product"], "colour": "blue"}), ("product", {"name": "Map"}),
                     ("product", {**good["product"], "price": ""}),
                     ("extractor", {**good["extractor"], "model": "not-a-digest"})]:
        assert not record_validator.is_valid({**good, key: bad}), (key, bad)
    assert not record_validator.is_valid({**OLD_RECORD, "page_type": "blog"})


def test_page_type_confidence_and_product_come_back_from_a_record() -> None:
    """A revisit's content is its original's, rebuilt from the record: the new fields too."""
    again = article_from_record(new_record())
    assert (again.page_type, again.page_type_confidence, again.product) == ("product", 0.93, PRODUCT)
    old = article_from_record(OLD_RECORD)  # absent in records written before
    assert (old.page_type, old.page_type_confidence, old.product) == ("other", None, None)
    assert OLD_PAGE_TYPES == ("other",) and "other" not in PAGE_TYPES


def test_the_extractor_names_scraper_its_model_and_trafilatura() -> None:
    from importlib.metadata import version

    import scraper

    extractor = current_extractor()
    assert extractor == {"name": "scraper", "version": scraper.__version__, "model": model_digest(),
                         "trafilatura": version("trafilatura")}
    assert len(extractor["model"]) == 12 or extractor["model"] == "none"


def test_model_digest_of_files_and_of_none(tmp_path: Path) -> None:
    assert digest_models(tmp_path) == "none"  # no model file: well defined, and said so
    (tmp_path / "README.txt").write_text("not a model")
    assert digest_models(tmp_path) == "none"
    (tmp_path / "page_type.json").write_bytes(b'{"trees": [1]}')
    first = digest_models(tmp_path)
    assert len(first) == 12 and int(first, 16) >= 0
    (tmp_path / "blocks.json").write_bytes(b'{"trees": [2]}')
    both = digest_models(tmp_path)
    assert both not in (first, "none")
    (tmp_path / "blocks.json").write_bytes(b'{"trees": [3]}')  # retrained: another digest
    assert digest_models(tmp_path) != both
    (tmp_path / "blocks.json").write_bytes(b'{"trees": [2]}')
    assert digest_models(tmp_path) == both  # the bytes alone decide, not the files' times
    (tmp_path / "blocks.json").rename(tmp_path / "blocks2.json")
    assert digest_models(tmp_path) != both  # a renamed model is another model set


def test_the_crawl_process_stamps_records_without_loading_numpy() -> None:
    """current_extractor() reads the model files' bytes: the process that builds records loads no numpy for it."""
    code = ("import sys\nfrom scraper.records import current_extractor\nfirst = current_extractor()\n"
            "assert current_extractor() is not first and current_extractor() == first\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'trafilatura', 'lxml')))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("with_confidence", [True, False])
def test_markdown_shows_the_page_type_and_a_products_fields(with_confidence: bool) -> None:
    record = new_record(page_type_confidence=0.93 if with_confidence else None,
                        text="Harbour map\nA map of the harbour, folded.")
    lines = render_markdown(record).splitlines()
    assert lines[:2] == ["# Harbour map", ""]
    fields = lines[2:lines.index("A map of the harbour, folded.") - 1]
    assert fields == ["- Product: Harbour map", "- Brand: Acme", "- SKU: HM-1", "- Price: 19.99 EUR",
                      "- Availability: InStock", "- Rating: 4.5 (12 reviews)"]
    assert lines[-2:] == ["Page type: product" + (" (confidence 0.93)" if with_confidence else ""),
                          "Original url: http://example.test/a"]
    # an article says its type; a record without one (old, or not extracted) and without product as before
    article = render_markdown(new_record(page_type="article", product=None)).splitlines()
    assert not any(line.startswith("- ") for line in article) and "Page type: article (confidence 0.93)" in article
    assert not any(line.startswith("Page type") for line in render_markdown(new_record(page_type=None)).splitlines())
    partial = new_record(product=Product(name="Harbour map", price="7"))
    assert "- Price: 7\n\n" in render_markdown(partial) and "Brand" not in render_markdown(partial)
