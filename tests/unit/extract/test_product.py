"""extract/product: a product page's item from its JSON-LD objects (Product, ProductGroup, offers, ratings)."""

from __future__ import annotations

from typing import Any

from scraper.extract.product import Product, read_product

SHOE: dict[str, Any] = {
    "@context": "https://schema.org", "@type": "Product", "name": " Trail  runner 2 ",
    "brand": {"@type": "Brand", "name": "Acme"}, "sku": "TR-2-42",
    "offers": {"@type": "Offer", "price": 89.5, "priceCurrency": "eur", "availability": "https://schema.org/InStock"},
    "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": "1,204"},
}


def test_a_product_with_one_offer_and_a_rating() -> None:
    assert read_product([{"@type": "WebSite", "name": "Shop"}, SHOE]) == Product(
        name="Trail runner 2", brand="Acme", sku="TR-2-42", price="89.5", currency="EUR", availability="InStock",
        rating="4.6", review_count=1204)


def test_offers_as_a_list_an_aggregate_offer_and_a_price_specification() -> None:
    listed = {**SHOE, "offers": [{"@type": "Offer", "availability": "OutOfStock"},
                                 {"@type": "Offer", "price": "79.00", "priceCurrency": "USD",
                                  "availability": "http://schema.org/PreOrder"}]}
    product = read_product([listed])
    assert product is not None and (product.price, product.currency, product.availability) == (
        "79.00", "USD", "PreOrder")
    aggregate = {**SHOE, "offers": {"@type": "AggregateOffer", "lowPrice": 12, "highPrice": 30, "priceCurrency": "GBP"}}
    product = read_product([aggregate])
    assert product is not None and (product.price, product.currency, product.availability) == ("12", "GBP", None)
    specified = {**SHOE, "offers": {"@type": "Offer", "priceSpecification": {
        "@type": "UnitPriceSpecification", "price": "5.99", "priceCurrency": "CHF"}}}
    product = read_product([specified])
    assert product is not None and (product.price, product.currency) == ("5.99", "CHF")


def test_a_product_group_takes_its_variants_offers() -> None:
    group = {"@type": "ProductGroup", "name": "Wool socks", "brand": "Knit Co", "productGroupID": "WS",
             "hasVariant": [{"@type": "Product", "name": "Wool socks, red", "sku": "WS-R",
                             "offers": {"@type": "Offer", "price": "9.00", "priceCurrency": "EUR",
                                        "availability": "InStock"}}],
             "aggregateRating": {"ratingValue": 4, "ratingCount": 31}}
    assert read_product([group]) == Product(name="Wool socks", brand="Knit Co", sku="WS", price="9.00",
                                            currency="EUR", availability="InStock", rating="4", review_count=31)


def test_types_as_lists_and_iris_and_a_brand_as_text_or_list() -> None:
    thing = {"@type": ["schema:Product", "Thing"], "name": "Lamp", "brand": [{"name": "Lumen"}], "mpn": "L-1"}
    assert read_product([thing]) == Product(name="Lamp", brand="Lumen", sku="L-1")
    iri = {"@type": "http://schema.org/Product", "name": "Lamp", "manufacturer": {"name": "Lumen Works"}}
    assert read_product([iri]) == Product(name="Lamp", brand="Lumen Works")


def test_no_product_or_an_empty_one_is_none() -> None:
    assert read_product([]) is None
    assert read_product([{"@type": "NewsArticle", "headline": "Prices rise", "offers": {"price": "1"}}]) is None
    assert read_product([{"@type": "Product", "name": "", "offers": {"price": None}, "brand": {}}]) is None
    # values that are not text are not taken as text
    odd = read_product([{"@type": "Product", "name": {"@value": "x"}, "sku": True, "offers": "free",
                         "aggregateRating": {"ratingValue": "4.2", "reviewCount": "many"}}])
    assert odd == Product(rating="4.2")


def _ld_objects(page: str) -> list[dict[str, Any]]:
    """The JSON-LD objects of a WCXB fixture page, read as extract_page reads them."""
    import gzip
    from pathlib import Path

    from scraper.compat.trafilatura import load_html
    from scraper.extract.page import _json_ld_objects

    raw = (Path(__file__).resolve().parents[2] / "fixtures" / "wcxb" / "html" / f"{page}.html.gz").read_bytes()
    tree = load_html(gzip.decompress(raw))
    assert tree is not None
    return _json_ld_objects(tree)


def test_real_product_pages() -> None:
    """Two WCXB product pages (tests/fixtures/wcxb): what their JSON-LD states; an article page has no product."""
    necklace = read_product(_ld_objects("0599"))
    assert necklace is not None
    assert (necklace.brand, necklace.sku, necklace.price, necklace.currency, necklace.availability) == (
        "L\u2019atelier Nawbar", "N667FD", "3665.00", "USD", "InStock")  # its entities escaped twice, undone
    assert necklace.name and necklace.name.startswith("L'atelier Nawbar: Warrior Princess Diamond Drop Necklace")
    colours = read_product(_ld_objects("0611"))
    assert colours == Product(name="Plant-Based Food Colors \u2014 Supernatural", brand="Supernatural", price="9.99",
                              currency="USD", availability="OutOfStock")
    assert read_product(_ld_objects("0009")) is None
