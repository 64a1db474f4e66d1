"""A product page's item, from what its JSON-LD states: name, brand, SKU, price, availability, rating.

Pure: plain dicts in (the page's JSON-LD objects, ``@graph`` already flattened, as
:mod:`scraper.extract.page` reads them), a :class:`~scraper.article.Product` out; no HTML, no
trafilatura.  Only what the page states in schema.org terms (Product, ProductGroup, Offer,
AggregateOffer, AggregateRating) is read: a price found in the page's text could be any
product's, a related item's or a crossed-out one.
"""

from __future__ import annotations

import html
import re
from typing import Any

from scraper.article import Product

__all__ = ["Product", "read_product"]

_SPACES = re.compile(r"\s+")
_PRODUCT_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct"})


def _types(obj: dict[str, Any]) -> frozenset[str]:
    """``{"@type": ["Product", "schema:Thing"]}`` -> ``{"product", "thing"}``: lower case, IRIs and prefixes cut."""
    kinds = obj.get("@type")
    return frozenset(re.split(r"[/:]", kind)[-1].lower() for kind in (kinds if isinstance(kinds, list) else [kinds])
                     if isinstance(kind, str))


def _text(value: Any) -> str | None:
    """A scalar as text (a number as JSON writes it); None for empty values, objects and booleans."""
    if isinstance(value, list):
        return next((text for text in map(_text, value) if text is not None), None)
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        return None
    text = str(value)
    for _ in range(3):  # shops' templates escape entities into JSON-LD, some twice ("L&amp;#8217;atelier")
        if "&" not in text or html.unescape(text) == text:
            break
        text = html.unescape(text)
    text = _SPACES.sub(" ", text).strip()
    return text if text and text.lower() not in {"none", "null", "undefined"} else None


def _name(value: Any) -> str | None:
    """A name given as text, as an object with a ``name`` (a Brand, an Organization), or a list of either."""
    if isinstance(value, list):
        return next((name for name in map(_name, value) if name is not None), None)
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _count(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text.replace(",", "").replace(" ", "")))
    except ValueError:
        return None


def _availability(value: Any) -> str | None:
    """``"https://schema.org/InStock"`` -> ``"InStock"``: the ItemAvailability's own name."""
    text = _text(value)
    return re.split(r"[/:]", text)[-1] or None if text else None


def _offer_fields(offers: list[dict[str, Any]]) -> tuple[str | None, str | None, str | None]:
    """(price, currency, availability) of the first offer that states a price, else of the first offer."""
    for offer in offers:
        specification = (_objects(offer.get("priceSpecification")) or [{}])[0]
        price = _text(offer.get("price")) or _text(offer.get("lowPrice")) or _text(specification.get("price"))
        if price is not None:
            currency = _text(offer.get("priceCurrency")) or _text(specification.get("priceCurrency"))
            return price, currency, _availability(offer.get("availability"))
    if offers:
        return None, _text(offers[0].get("priceCurrency")), _availability(offers[0].get("availability"))
    return None, None, None


def read_product(ld_objects: list[dict[str, Any]]) -> Product | None:
    """The item of a product page: the first Product (or ProductGroup ...) its JSON-LD describes.

    A ProductGroup without offers of its own takes them from its variants (``hasVariant``); a
    rating is the AggregateRating's value and its review count (else its rating count).  None
    when the page states no product, or a product without any of these fields.
    """
    products = [obj for obj in ld_objects if _types(obj) & _PRODUCT_TYPES]
    if not products:
        return None
    item = products[0]
    offers = _objects(item.get("offers"))
    for variant in _objects(item.get("hasVariant")):
        offers += _objects(variant.get("offers"))
    price, currency, availability = _offer_fields(offers)
    rating = (_objects(item.get("aggregateRating")) or [{}])[0]
    product = Product(
        name=_name(item.get("name")),
        brand=_name(item.get("brand")) or _name(item.get("manufacturer")),
        sku=_text(item.get("sku")) or _text(item.get("productGroupID")) or _text(item.get("mpn")),
        price=price,
        currency=currency.upper() if currency else None,
        availability=availability,
        rating=_text(rating.get("ratingValue")),
        review_count=_count(rating.get("reviewCount")) if rating.get("reviewCount") is not None
        else _count(rating.get("ratingCount")),
    )
    return product if product != Product() else None
