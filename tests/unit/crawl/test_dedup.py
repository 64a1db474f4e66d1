"""The crawl's deduplication in 64-bit hashes: the table, the string set over it, Scrapy's filter."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.request import RequestFingerprinter

from scraper.crawl.dedup import SEEN_FILE, Hash64Set, HashDupeFilter, KeySet


def random_hashes(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(count)]


def test_every_member_added_is_found_through_several_growths() -> None:
    members = random_hashes(20_000, seed=1)
    table = Hash64Set()
    assert table.nbytes == 8 * Hash64Set.MIN_SLOTS
    for value in members:
        assert table.add(value)
    assert len(table) == 20_000
    assert all(value in table for value in members)  # no false negatives, growth or not
    # Grown to keep at most 3/4 of its slots taken: 32,768 slots of 8 bytes for 20,000 members.
    assert table.nbytes == 8 * 32_768
    assert sorted(table.to_array().tolist()) == sorted(members)


def test_a_member_added_again_is_not_new_and_strangers_are_absent() -> None:
    members = random_hashes(5_000, seed=2)
    table = Hash64Set(members)
    assert not any(table.add(value) for value in members[:100])
    assert len(table) == 5_000
    strangers = set(random_hashes(5_000, seed=3)) - set(members)
    assert not any(value in table for value in strangers)


def test_the_edges_of_the_64_bit_range_and_python_negative_hashes() -> None:
    table = Hash64Set()
    for value in (0, 1, 2**64 - 1, -1, -(2**63)):
        table.add(value)
    assert 2**64 - 1 in table and -1 in table  # the same 64 bits
    assert 0 in table and 1 in table  # 0 is kept as 1: one more collision in 2**64
    assert -(2**63) in table and 2**63 in table


def test_members_sharing_a_home_slot_wrap_around_the_end_of_the_table() -> None:
    # All in the last home slot of any table up to 2**20 slots: each probes on past the end, to slot 0
    # and onward; and when the table grows, they run past its end again.
    crowd = [(k << 20) | 0xFFFFF for k in range(1, 300)]
    table = Hash64Set(crowd)
    assert all(value in table for value in crowd)
    assert (300 << 20) | 0xFFFFF not in table
    table.update((k << 20) | 5 for k in range(1, 1_000))
    assert table.nbytes > 8 * Hash64Set.MIN_SLOTS  # grown with the crowd in it
    assert all(value in table for value in crowd)
    assert len(table) == 299 + 999


def test_discard_keeps_every_other_member_reachable() -> None:
    rng = random.Random(4)
    # A crowd sharing one home slot among random members: removals must move members of long runs back.
    members = list({*random_hashes(3_000, seed=5), *((rng.getrandbits(40) << 16) | 77 for _ in range(200))})
    table = Hash64Set(members)
    gone = set(rng.sample(members, 1_500))
    for value in gone:
        table.discard(value)
    table.discard(12345)  # absent: nothing happens
    assert len(table) == len(members) - len(gone)
    assert all((value in table) == (value not in gone) for value in members)


def test_key_set_answers_as_a_set_of_strings_would() -> None:
    keys = [f"https://news.example/2026/{n}/story-{n}" for n in range(3_000)]
    seen = KeySet(keys[:1_000])
    seen.update(keys[1_000:2_000])
    seen.add(keys[2_000])
    assert all(key in seen for key in keys[:2_001])
    assert not any(key in seen for key in keys[2_001:])
    seen.discard(keys[5])
    assert keys[5] not in seen and keys[6] in seen
    assert len(seen) == 2_000
    # What it costs: 4,096 slots of 8 bytes for 2,000 keys (16 bytes a key), not their ~100 characters each.
    assert seen.nbytes == 8 * 4_096


def test_the_dupefilter_drops_a_repeat_and_remembers_through_its_job_dir(tmp_path: Path) -> None:
    fingerprinter = RequestFingerprinter()
    first = HashDupeFilter(fingerprinter, str(tmp_path))
    assert not first.request_seen(Request("https://news.example/a?b=1&a=2"))
    assert first.request_seen(Request("https://news.example/a?a=2&b=1"))  # the same canonical URL
    assert not first.request_seen(Request("https://news.example/a?a=2&b=1", method="POST"))
    first.close("finished")
    assert (tmp_path / SEEN_FILE).stat().st_size == 2 * 8  # two requests, 8 bytes each
    with (tmp_path / SEEN_FILE).open("ab") as torn:  # a kill in the middle of a write
        torn.write(b"\x01\x02\x03")
    again = HashDupeFilter(fingerprinter, str(tmp_path))
    assert again.request_seen(Request("https://news.example/a?b=1&a=2"))
    assert not again.request_seen(Request("https://news.example/b"))
    again.close("finished")


@pytest.mark.parametrize("path", [None, ""])
def test_the_dupefilter_without_a_job_dir_writes_nothing(path: str | None, tmp_path: Path) -> None:
    dupefilter = HashDupeFilter(RequestFingerprinter(), path)
    assert dupefilter.file is None
    assert not dupefilter.request_seen(Request("https://news.example/"))
    assert dupefilter.request_seen(Request("https://news.example/"))
