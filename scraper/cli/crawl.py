"""``scraper crawl``: URLs, seed files, sitemaps and feeds in; one crawl run in this process."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import click

from scraper import __version__
from scraper.cli._common import (
    archive_option,
    fail,
    open_catalog,
    parse_duration,
    parse_size,
    read_seed_file,
    require,
    size_text,
)
from scraper.cli._crawl_run import (
    base_overrides,
    browser_options,
    browser_overrides,
    execute_crawl,
    exit_status,
    parse_set_options,
    resume_crawl,
    with_job,
)
from scraper.cli._shared import is_shared_db, shared_crawl
from scraper.dates import DATE_FORMS
from scraper.scope import parse_resolve
from scraper.seeds import InvalidSeed, dedupe_seeds, parse_since, seed_url
from scraper.storage.layout import ArchiveRootError, check_writable_root
from scraper.storage.warc import DEFAULT_MAX_BYTES


@click.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("-i", "--input", "input_file", metavar="FILE|-",
              help="Read seed URLs from FILE (or '-' for stdin): one per line, '#' comments.")
@archive_option("Archive root; the crawl goes to ARCHIVE/crawls/<crawl_id>/.")
@click.option("--db", metavar="URL", envvar="SCRAPER_DB",
              help="Catalog database URL (default: sqlite:///ARCHIVE/catalog.sqlite; or $SCRAPER_DB). A PostgreSQL "
                   "URL (postgresql://...) registers the crawl there for workers on any machine to share "
                   "(scraper worker), and works on it.")
@click.option("--register-only", is_flag=True,
              help="With a PostgreSQL --db: register the crawl, print its id and exit; workers do the work.")
@click.option("--depth", type=click.IntRange(min=0), default=0, show_default=True,
              help="Follow links this many hops from the seeds, on the seeds' hosts. 0: the seeds only.")
@click.option("--max-pages", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stop scheduling pages after this many (0: no limit).")
@click.option("--sitemap", "sitemaps", multiple=True, metavar="URL",
              help="Seed from a sitemap (repeatable): indexes, .xml.gz, news and image sitemaps.")
@click.option("--sitemap-from-robots", is_flag=True,
              help="Also seed from the Sitemap: lines of each seed host's robots.txt.")
@click.option("--feed", "feeds", multiple=True, metavar="URL", help="Seed from an RSS or Atom feed (repeatable).")
@click.option("--discover", "discover", multiple=True, metavar="URL",
              help="Find a page's feeds (link rel=alternate) and sitemaps and seed from them (repeatable).")
@click.option("--since", metavar="DATE",
              help=f"Only sitemap/feed entries the site dates on or after DATE, on each entry's own calendar; "
                   f"undated ones are left out. DATE: {DATE_FORMS} (its day is taken).")
@click.option("--scope", type=click.Choice(["page", "host", "domain", "prefix"]),
              help="Which links --depth follows: the seeds only, their hosts (default), their registered "
                   "domains, or URLs under the seeds' folders.")
@click.option("--allow", multiple=True, metavar="REGEX", help="Follow only links matching one of these (repeatable).")
@click.option("--deny", multiple=True, metavar="REGEX", help="Never follow links matching these (repeatable).")
@click.option("--max-bytes", metavar="SIZE", help="Stop after downloading SIZE (e.g. 500M).")
@click.option("--max-time", metavar="DURATION", help="Stop after DURATION (e.g. 90s, 30m, 2h).")
@click.option("--requisites", is_flag=True,
              help="Also archive what each page needs to render (images, CSS, JS, fonts), for replay.")
@click.option("--respect-noarchive", is_flag=True,
              help="Do not store pages whose X-Robots-Tag or meta robots says noarchive.")
@click.option("--allow-private", is_flag=True,
              help="Let discovered links reach loopback/private addresses (seed hosts always may).")
@click.option("--resolve", "resolve", multiple=True, metavar="HOST:ADDRESS",
              help="Answer DNS for HOST with ADDRESS (repeatable), like curl --resolve.")
@click.option("--jsonl", metavar="PATH|-", help="Also write the page records to PATH, or stream them to stdout (-).")
@click.option("--ignore-robots", is_flag=True, help="Do not fetch or obey robots.txt.")
@click.option("--contact", metavar="URL", help="Contact URL or e-mail to put in the User-Agent.")
@click.option("--user-agent", metavar="UA", help="Replace the User-Agent altogether.")
@click.option("--warc-max-size", metavar="SIZE", default=size_text(DEFAULT_MAX_BYTES), show_default=True,
              help="Start a new WARC file when the current one reaches SIZE.")
@click.option("--no-extract", is_flag=True, help="Archive only; write records without extracted text.")
@browser_options
@click.option("-s", "--set", "set_options", multiple=True, metavar="NAME=VALUE",
              help="Set any Scrapy or scraper setting (repeatable), e.g. -s DOWNLOAD_DELAY=2.")
@click.option("--resume", "resume_id", metavar="CRAWL_ID",
              help="Continue the interrupted crawl ARCHIVE/crawls/CRAWL_ID/ with its own seeds and settings: "
                   "torn files are repaired, what it archived is not fetched again, what it scheduled is. "
                   "A crawl that ran to its end is left alone (exit 0); one stopped by --max-time or "
                   "--max-bytes continues, under the same limit again.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def crawl(urls: tuple[str, ...], input_file: str | None, out: Path, depth: int, max_pages: int,
          sitemaps: tuple[str, ...], sitemap_from_robots: bool, feeds: tuple[str, ...], discover: tuple[str, ...],
          since: str | None, scope: str | None, allow: tuple[str, ...], deny: tuple[str, ...],
          max_bytes: str | None, max_time: str | None, requisites: bool, respect_noarchive: bool,
          allow_private: bool, resolve: tuple[str, ...], jsonl: str | None, ignore_robots: bool, contact: str | None,
          user_agent: str | None, warc_max_size: str, no_extract: bool, set_options: tuple[str, ...],
          resume_id: str | None, quiet: bool, verbose: int, db: str | None, register_only: bool, browser: str,
          screenshot: bool, browser_timeout: str | None) -> None:
    """Crawl URLs and archive them into ARCHIVE (WARC files, pages.jsonl, manifest.json).

    \b
    Ctrl-C (or SIGTERM) stops gracefully: requests in flight finish, files
    are closed and the manifest is written; a second Ctrl-C stops at once.
    Either way, `scraper crawl --resume CRAWL_ID` continues the crawl.
    \b
    Exit status: 0 all pages archived; 1 some pages failed (network errors,
    HTTP 4xx/5xx) or none could be archived; 2 usage error; 4 the catalog is
    damaged, or missing while crawls need it (scraper catalog rebuild); 74 the
    archive could not be written (a full disk: make room, then --resume); 75
    the catalog is locked by another process; 130 interrupted (SIGINT); 143
    terminated (SIGTERM).
    """

    if register_only and not is_shared_db(db):
        fail("--register-only registers a crawl in a shared database: give --db postgresql://...")
    if resume_id is not None and is_shared_db(db):
        fail("--resume: a crawl in a shared database goes on by itself: run scraper worker --db ... to work on it")
    if resume_id is not None:
        given = [name for name, value in (("URL", urls), ("-i", input_file), ("--sitemap", sitemaps),
                                          ("--feed", feeds), ("--discover", discover)) if value]
        if given:
            fail(f"--resume continues a crawl with its own seeds: drop {', '.join(given)}")
        manifest, _settings = resume_crawl(resume_id, out, db, quiet, verbose, set_options)
        raise SystemExit(int(exit_status(manifest)))
    seeds: list[str] = []
    try:
        seeds = [seed_url(u) for u in urls]  # "example.com/news/" is https://example.com/news/
    except InvalidSeed as exc:
        fail(str(exc))
    if input_file:
        seeds += read_seed_file(input_file)
    seeds = dedupe_seeds(seeds)
    sources: dict[str, list[str]] = {}
    for option, values in (("--sitemap", sitemaps), ("--feed", feeds), ("--discover", discover)):
        try:
            sources[option] = dedupe_seeds(seed_url(u) for u in values)
        except InvalidSeed as exc:
            fail(f"{option}: {exc}")
    if not seeds and not any(sources.values()):
        fail("no URLs to crawl: give URLs as arguments, with -i FILE, or --sitemap/--feed/--discover")
    for option, patterns in (("--allow", allow), ("--deny", deny)):
        for pattern in patterns:
            require(option, functools.partial(re.compile, pattern), re.error,
                    f"{pattern!r} is not a regular expression: ")
    require("--resolve", lambda: parse_resolve(resolve))
    if since:
        require("--since", lambda: parse_since(since))
    require("--archive", lambda: check_writable_root(out), ArchiveRootError)
    if db:
        # a bad URL, a missing driver, a server that does not answer
        open_catalog(out, db).close()
    if jsonl and jsonl != "-":
        try:
            Path(jsonl).open("a").close()
        except OSError as exc:
            fail(f"--jsonl: cannot write {jsonl}: {exc.strerror or exc}")

    overrides: dict[str, Any] = {
        **base_overrides(out, db, quiet, verbose),
        "ARCHIVE_SEEDS": seeds,
        "ARCHIVE_DEPTH": depth,
        "ARCHIVE_MAX_PAGES": max_pages,
        "ARCHIVE_JSONL": jsonl,
        "ARCHIVE_WARC_MAX_BYTES": parse_size(warc_max_size),
    }
    overrides.update({
        "ARCHIVE_SITEMAPS": sources["--sitemap"], "ARCHIVE_FEEDS": sources["--feed"],
        "ARCHIVE_DISCOVER": sources["--discover"], "ARCHIVE_SITEMAPS_FROM_ROBOTS": sitemap_from_robots,
        "ARCHIVE_SINCE": since, "ARCHIVE_SCOPE": scope, "ARCHIVE_ALLOW": list(allow), "ARCHIVE_DENY": list(deny),
        "ARCHIVE_REQUISITES": requisites, "ARCHIVE_RESPECT_NOARCHIVE": respect_noarchive,
        "ARCHIVE_ALLOW_PRIVATE": allow_private, "ARCHIVE_RESOLVE": list(resolve),
    })
    if max_bytes:
        overrides["ARCHIVE_MAX_BYTES"] = parse_size(max_bytes)
    if max_time:
        overrides["CLOSESPIDER_TIMEOUT"] = parse_duration(max_time)
    if ignore_robots:
        overrides["ROBOTSTXT_OBEY"] = False
    if no_extract:
        overrides["EXTRACT_ENABLED"] = False
    if user_agent:
        overrides["USER_AGENT"] = user_agent
    elif contact:
        overrides["USER_AGENT"] = f"scraper/{__version__} (web archiver; +{contact})"
        overrides["ARCHIVE_CONTACT"] = contact
    settings_given = parse_set_options(set_options)
    overrides.update(browser_overrides(browser, screenshot, browser_timeout, settings_given, extract=not no_extract))
    overrides.update(settings_given)
    if is_shared_db(db):
        raise SystemExit(shared_crawl(with_job(overrides), register_only=register_only, quiet=quiet))
    manifest = execute_crawl(with_job(overrides), quiet=quiet, jsonl=jsonl)
    raise SystemExit(int(exit_status(manifest)))
