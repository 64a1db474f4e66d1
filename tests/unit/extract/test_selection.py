"""The block model: its inputs as the code computes them, its training deterministic, its choices on pages
whose main text a person can tell at a glance."""

from __future__ import annotations

import numpy as np
import pytest

from scraper.compat.trafilatura import load_html
from scraper.extract.blocks import FEATURE_NAMES, SECOND_STAGE_FEATURES, as_markdown, block_features, segment
from scraper.extract.model import dumps, load_model
from scraper.extract.page import extract_page
from scraper.extract.selection import FIRST_STAGE, SECOND_STAGE
from scraper.extract.train.blocks import PageBlocks, kept_share, label_blocks, page_blocks, train_block_models
from scraper.extract.train.corpora import LabelledPage

PROSE = ("The council voted on Tuesday to rebuild the old swimming baths, after a campaign that ran for six years "
         "and gathered more than ten thousand signatures from people across the town.")


def page(body: str) -> str:
    nav = "<nav><ul>" + "".join(f"<li><a href='/s{i}/'>Section {i}</a></li>" for i in range(8)) + "</ul></nav>"
    footer = "<footer><p>© 2026 The Town Paper. All rights reserved.</p><a href='/privacy/'>Privacy</a></footer>"
    return f"<html><head><title>Baths | Town Paper</title></head><body>{nav}<main>{body}</main>{footer}</body></html>"


def test_the_shipped_models_read_the_features_the_code_computes() -> None:
    assert load_model(FIRST_STAGE).feature_names == FEATURE_NAMES
    assert load_model(SECOND_STAGE).feature_names == (*FEATURE_NAMES, *SECOND_STAGE_FEATURES)


def test_blocks_are_the_visible_text_in_order_hidden_text_marked() -> None:
    html = ("<html><head><title>t</title><style>p{}</style></head><body><h1>Head</h1>"
            "<p>One <b>two</b> three</p>"
            "<script>var x = 1;</script><ul><li>a</li><li>b</li></ul><div hidden>secret menu</div>"
            "<noscript><p>for readers without scripts</p></noscript>"
            "<button><div>Share now</div></button></body></html>")
    blocks = segment(load_html(html))
    assert [b.text for b in blocks] == ["Head", "One two three", "a", "b", "secret menu",
                                        "for readers without scripts", "Share now"]
    rows = block_features(blocks, "One two three")
    assert rows.shape == (7, len(FEATURE_NAMES)) and np.isfinite(rows).all()
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert rows[4, column["hidden"]] == 1.0 and rows[1, column["hidden"]] == 0.0
    assert rows[5, column["in_noscript"]] == 1.0 and rows[6, column["in_button"]] == 1.0
    assert rows[1, column["trafilatura_contained"]] == 1.0 and rows[0, column["trafilatura_contained"]] == 0.0
    assert as_markdown(blocks[:4]) == "# Head\n\nOne **two** three\n\n- a\n- b"


def test_an_article_keeps_its_paragraphs_and_drops_the_chrome() -> None:
    body = "<h1>Baths to be rebuilt</h1>" + "".join(f"<p>{PROSE} Paragraph {i}.</p>" for i in range(6))
    article = extract_page(page(body), "https://town.example/2026/baths")
    assert article is not None and article.text
    assert article.text.count("The council voted on Tuesday") == 6
    assert "Section 3" not in article.text and "All rights reserved" not in article.text


def test_labels_are_the_share_of_a_block_the_annotation_kept() -> None:
    truth = ["the", "cat", "sat", "on", "the", "mat", "today"]
    trigrams = {tuple(truth[i:i + 3]) for i in range(len(truth) - 2)}
    bigrams = {tuple(truth[i:i + 2]) for i in range(len(truth) - 1)}
    assert kept_share(["the", "cat", "sat", "on"], trigrams, bigrams, set(truth)) == 1.0
    assert kept_share(["the", "cat", "sat", "home", "now"], trigrams, bigrams, set(truth)) == pytest.approx(3 / 5)
    assert kept_share(["mat", "today"], trigrams, bigrams, set(truth)) == 1.0
    assert kept_share(["today", "mat"], trigrams, bigrams, set(truth)) == 0.0
    snippets = LabelledPage(corpus="trafilatura-eval", page_id="x", url="https://x.test/", html=b"", site="x.test",
                            with_snippets=("Paragraph 1",), without_snippets=("Section 3",))
    blocks = segment(load_html(page("".join(f"<p>{PROSE} Paragraph {i}.</p>" for i in range(3)))))
    labels = label_blocks(snippets, blocks)
    by_text = {b.text: label for b, label in zip(blocks, labels, strict=True)}
    assert by_text[f"{PROSE} Paragraph 1."] == 1.0 and by_text["Section 3"] == 0.0
    assert np.isnan(by_text[f"{PROSE} Paragraph 0."])  # neither snippet: left out of training


def test_training_twice_gives_the_same_model_files() -> None:
    pages: list[PageBlocks] = []
    for n in range(12):
        body = "".join(f"<p>{PROSE} Story {n} part {i}.</p>" for i in range(3 + n % 4))
        labelled = LabelledPage(corpus="wcxb", page_id=str(n), url=f"https://s{n % 6}.example/{n}",
                                html=page(body).encode(), site=f"s{n % 6}.example",
                                main_text="\n".join(f"{PROSE} Story {n} part {i}." for i in range(3 + n % 4)))
        built = page_blocks(labelled)
        assert built is not None
        pages.append(built)
    first = [dumps(model) for model in train_block_models(pages, seed=0)]
    again = [dumps(model) for model in train_block_models(pages, seed=0)]
    assert first == again
