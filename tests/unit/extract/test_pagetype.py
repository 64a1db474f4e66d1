"""extract.pagetype: the page-type model's features, and its verdict on pages of clear kinds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lxml.html import HtmlElement, document_fromstring

from scraper.article import PAGE_TYPES
from scraper.extract.model import load_model
from scraper.extract.page import _json_ld_objects
from scraper.extract.pagetype import (
    MODEL_NAME,
    PAGE_TYPE_FEATURES,
    PageTypeGuess,
    classify_page_type,
    page_type_features,
)

NAV = ("<nav><ul>" + "".join(f"<li><a href='/{w}/'>{w.title()}</a></li>" for w in ("home", "about", "help"))
       + "</ul></nav>")


def page(body: str, head: str = "", title: str = "A page") -> str:
    return f"<!doctype html><html lang='en'><head><title>{title}</title>{head}</head><body>{NAV}{body}</body></html>"


def ld(data: object) -> str:
    return f"<script type='application/ld+json'>{json.dumps(data)}</script>"


PRODUCT = page(
    head=ld({"@context": "https://schema.org", "@type": "Product", "name": "Trail running shoe", "sku": "TR-42",
             "offers": {"@type": "Offer", "price": "89.90", "priceCurrency": "EUR",
                        "availability": "https://schema.org/InStock"}})
    + "<meta property='og:type' content='product'>",
    body="<main class='product-detail'><div class='product-gallery'><img src='/shoe.jpg' alt='Shoe'></div>"
         "<h1 class='product-title'>Trail running shoe</h1><p class='price'>€89.90</p>"
         "<form class='cart' action='/cart/add'><select name='size'><option>41</option><option>42</option></select>"
         "<input type='number' name='quantity' value='1'><button type='submit' class='add-to-cart'>Add to cart"
         "</button></form><p class='stock'>In stock. Free shipping over €50.</p>"
         "<div class='product-description'><p>A light shoe with a grippy sole for muddy trails.</p></div></main>",
    title="Trail running shoe | Shop")

POSTS = "".join(
    f"<article class='post message' id='post-{n}'><div class='userinfo'><a class='username' href='/members/u{n}'>"
    f"user{n}</a><span>Joined: 2019</span><span>Posts: {10 * n}</span></div><div class='postbody'>"
    f"<time datetime='2024-02-0{n}'>Feb {n}, 2024</time><p>I had the same problem with the router after the update. "
    f"Resetting it to factory settings fixed it for me, number {n}.</p></div><div class='post-actions'>"
    f"<button class='reply'>Reply</button><button class='quote'>Quote</button></div></article>"
    for n in range(1, 7))
FORUM = page(
    head=ld({"@context": "https://schema.org", "@type": "DiscussionForumPosting", "headline": "Router drops WiFi",
             "author": {"@type": "Person", "name": "user1"}, "datePublished": "2024-02-01",
             "comment": [{"@type": "Comment", "text": "Same here"}, {"@type": "Comment", "text": "Fixed"}]}),
    body=f"<main class='thread'><h1 class='thread-title'>Router drops WiFi every hour</h1>{POSTS}"
         "<form class='reply-form'><textarea name='message'></textarea><button>Post reply</button></form></main>",
    title="Router drops WiFi every hour | Community forum")

CARDS = "".join(
    f"<li class='product-card'><a href='/products/item-{n}'><img src='/i{n}.jpg' alt=''>"
    f"<h3 class='card-title'>Ceramic mug {n}</h3></a><span class='price'>${12 + n}.00</span>"
    f"<button class='add-to-cart'>Add to cart</button></li>"
    for n in range(20))
COLLECTION = page(
    body=f"<main><h1>Mugs</h1><div class='filters'><select name='sort'><option>Price</option></select></div>"
         f"<ul class='product-grid'>{CARDS}</ul><nav class='pagination'><a href='?page=2'>2</a></nav></main>",
    title="Mugs | Shop")

ARTICLE = page(
    head="<meta property='og:type' content='article'>"
         "<meta property='article:published_time' content='2024-03-01T08:00:00Z'>"
         + ld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Council approves budget",
               "datePublished": "2024-03-01"}),
    body="<article><h1>Council approves the new budget</h1><p class='byline'>By Jane Doe</p>"
         + "".join("<p>The council voted on Tuesday evening to approve a budget that raises spending on schools "
                   "and roads, after a long debate in which several members argued that the plan leaves too "
                   f"little in reserve for the coming winter, paragraph {n}.</p>" for n in range(8))
         + "</article>",
    title="Council approves budget | The Daily Example")

PAGES = {"product": (PRODUCT, "https://shop.example.com/products/trail-running-shoe"),
         "forum": (FORUM, "https://forum.example.org/threads/router-drops-wifi.12345/"),
         "collection": (COLLECTION, "https://shop.example.com/collections/mugs"),
         "article": (ARTICLE, "https://news.example.com/2024/03/01/council-approves-budget/")}


def parse(html: str) -> tuple[HtmlElement, list[dict[str, object]]]:
    tree = document_fromstring(html)
    return tree, _json_ld_objects(tree)


@pytest.mark.parametrize("html", [PRODUCT, FORUM, COLLECTION, ARTICLE, "<html><body></body></html>",
                                  "<html><body><p>Only a line.</p></body></html>"])
def test_features_are_finite_and_named(html: str) -> None:
    tree, objects = parse(html)
    features = page_type_features(tree, "https://example.com/a/b?c=1", objects)
    assert features.shape == (len(PAGE_TYPE_FEATURES),)
    assert np.isfinite(features).all()
    assert len(set(PAGE_TYPE_FEATURES)) == len(PAGE_TYPE_FEATURES)


def test_features_read_the_url_the_structured_data_and_the_dom() -> None:
    tree, objects = parse(PRODUCT)
    values = dict(zip(PAGE_TYPE_FEATURES, page_type_features(tree, PAGES["product"][1], objects), strict=True))
    assert values["url_product"] >= 1 and values["url_depth"] == 2
    assert values["ld_product"] >= 2  # the Product and its Offer
    assert values["ld_offers_price"] == 1 and values["og_product"] == 1
    assert values["prices"] >= 2 and values["button_words_cart"] >= 1 and values["text_cart"] >= 2
    assert values["n_button"] == 1 and values["n_form"] == 1
    forum_tree, forum_objects = parse(FORUM)
    forum = dict(zip(PAGE_TYPE_FEATURES, page_type_features(forum_tree, PAGES["forum"][1], forum_objects),
                     strict=True))
    assert forum["ld_forum"] >= 3  # the posting and its two comments
    assert forum["group_size"] == 6 and forum["group_is_article"] == 1  # the six posts
    assert forum["text_reply"] >= 12 and forum["url_forum"] >= 1


def test_the_shipped_model_matches_the_features_and_types() -> None:
    model = load_model(MODEL_NAME)
    assert model.classes == PAGE_TYPES
    assert model.feature_names == PAGE_TYPE_FEATURES


@pytest.mark.parametrize(("kind", "expected"), [("product", {"product"}), ("forum", {"forum"}),
                                                ("collection", {"collection", "listing"}),
                                                ("article", {"article"})])
def test_pages_of_clear_kinds(kind: str, expected: set[str]) -> None:
    html, url = PAGES[kind]
    tree, objects = parse(html)
    guess = classify_page_type(tree, url, objects)
    assert isinstance(guess, PageTypeGuess)
    assert guess.page_type in expected, guess
    assert len(guess.probabilities) == len(PAGE_TYPES)
    assert sum(guess.probabilities) == pytest.approx(1.0)
    assert guess.confidence == max(guess.probabilities) == guess.probabilities[PAGE_TYPES.index(guess.page_type)]
