"""The WCXB scoring of bench/extraction.py, on tiny cases worked out by hand.

bench/ is a folder of scripts, not a package: the script is loaded by path, with bench/ on sys.path
for its own ``tables`` import, as it has when run.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench() -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_extraction", BENCH / "extraction.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bench = load_bench()


def test_tokens_are_lower_cased_word_runs() -> None:
    assert bench.word_tokens("Hello, World! It's 42°C") == ["hello", "world", "it", "s", "42", "c"]
    assert bench.word_tokens(None) == []


def test_word_score_counts_the_overlap_of_the_two_bags() -> None:
    # reference {the, cat, sat}; prediction {the ×2, cat, dog}: overlap 2 (one "the", "cat")
    score = bench.word_score("The cat sat.", "the cat, the dog")
    assert score.precision == pytest.approx(2 / 4)
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(4 / 7)  # 2 · (1/2) · (2/3) / (1/2 + 2/3)


def test_word_score_of_empty_texts() -> None:
    assert bench.word_score("", "") == bench.WordScore(1.0, 1.0, 1.0)
    assert bench.word_score("  ...  ", None) == bench.WordScore(1.0, 1.0, 1.0)  # no tokens is empty
    assert bench.word_score("", "anything") == bench.WordScore(0.0, 0.0, 0.0)
    assert bench.word_score("some words", None) == bench.WordScore(0.0, 0.0, 0.0)
    assert bench.word_score("Same WORDS", "same words").f1 == 1.0


def test_snippet_share_is_case_insensitive_and_none_without_snippets() -> None:
    assert bench.snippet_share("Hello World and more", ["hello world", "absent"]) == 0.5
    assert bench.snippet_share(None, ["hello"]) == 0.0
    assert bench.snippet_share("text", []) is None


@pytest.mark.parametrize(("expected", "got", "right"), [
    ("The  Title!", "the title", True),  # case, white space, trailing punctuation folded
    ("The Title", "The Title …", True),  # any Unicode punctuation at the end
    ("C++ guide", "c++ Guide", True),  # "+" is not punctuation
    ("Re-use", "Reuse", False),  # punctuation inside stays
    ("The Title", "The Title | Site", False),
    ("The Title", None, False),
])
def test_title_folding(expected: str, got: str | None, right: bool) -> None:
    assert bench.wcxb_field_correct("title", expected, got) is right


@pytest.mark.parametrize(("expected", "got", "right"), [
    ("Jane Doe and John Smith", ["john smith", "Jane  Doe"], True),
    ("Jane Doe, John Smith", "Jane Doe; John Smith", True),  # trafilatura joins names with "; "
    ("Jane Doe & John Smith", "John Smith, Jane Doe", True),
    ("Jane Doe", "Jane Doe; John Smith", False),
    ("Alexander Sand", "Alexander Sand", True),  # "and" inside a name does not cut it
    ("Jane Doe", [], False),
])
def test_author_names(expected: str, got: object, right: bool) -> None:
    assert bench.wcxb_field_correct("author", expected, got) is right


def test_date_compares_the_first_ten_characters() -> None:
    assert bench.wcxb_field_correct("date", "2025-09-04", "2025-09-04T10:00:00+02:00")
    assert not bench.wcxb_field_correct("date", "2025-09-04", "2025-09-05")
    assert not bench.wcxb_field_correct("date", "2025-09-04", None)


def write_page(corpus: Path, file_id: str, page_type: str, truth: object) -> None:
    (corpus / "dev" / "html" / f"{file_id}.html.gz").write_bytes(gzip.compress(b"<html><body>x</body></html>"))
    (corpus / "dev" / "ground-truth" / f"{file_id}.json").write_text(json.dumps({
        "url": f"https://example.test/{file_id}", "file_id": file_id,
        "_internal": {"page_type": {"primary": page_type}}, "ground_truth": truth}), encoding="utf-8")


def test_corpus_and_scores_of_one_page(tmp_path: Path) -> None:
    for folder in ("html", "ground-truth"):
        (tmp_path / "dev" / folder).mkdir(parents=True)
    (tmp_path / "metadata.json").write_text("{}", encoding="utf-8")
    truth = {"main_content": "a b c d", "with": ["A b"], "without": ["zz"], "title": "T", "author": None,
             "publish_date": ""}
    write_page(tmp_path, "0001", "category", truth)
    write_page(tmp_path, "0002", "article", None)  # no annotation: left out
    write_page(tmp_path, "0003", "forum", truth)
    assert bench.detect_layout(tmp_path) == bench.WCXB_LAYOUT
    pages = bench.load_wcxb_corpus(tmp_path)
    assert [(p.id, p.page_type) for p in pages] == [("0001", "collection"), ("0003", "forum")]
    assert [p.id for p in bench.load_wcxb_corpus(tmp_path, limit=1)] == ["0001"]
    assert pages[0].html() == "<html><body>x</body></html>"

    page = pages[0]
    memory = bench.Memory(0.0, 0.0, 0.0, "none")
    runs = {name: bench.SystemRun({page.id: bench.Extraction(text="A b x", meta={"title": "t.", "author": "Someone"})},
                                  {page.id: 1.0}, {page.id: 1.0}, 0.0, memory)
            for name in bench.WCXB_SYSTEMS}
    record = bench.wcxb_page_record(page, runs)
    entry = record["systems"][bench.EXTRACT_PAGE]
    # reference {a, b, c, d}, prediction {a, b, x}: overlap 2
    assert (entry["precision"], entry["recall"]) == (pytest.approx(2 / 3), pytest.approx(1 / 2))
    assert entry["f1"] == pytest.approx(4 / 7)
    assert (entry["with"], entry["without"]) == (1.0, 0.0)
    # a null author and an empty date do not count, whatever the system gives
    assert entry["right"] == {"title": True, "author": None, "date": None}
    figures = bench.wcxb_quality([record], bench.EXTRACT_PAGE)
    assert (figures["title"], figures["title_pages"], figures["author_pages"], figures["date_pages"]) == (1.0, 1, 0, 0)
