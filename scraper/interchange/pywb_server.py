"""pywb's replay server, run in pywb's own Python environment by ``scraper replay``.

pywb depends on brotlipy, whose ``brotli`` module replaces the one Scrapy decodes ``br``
responses with, so pywb cannot live in the project's environment.  This module therefore
imports only the standard library at the top, and pywb, gevent (and, through pywb, yaml)
when called: it must never import another module of ``scraper``.  ``scraper replay``
runs it by path, so that importing it does not run ``scraper/interchange/__init__.py``::

    PYWB_PYTHON scraper/interchange/pywb_server.py --config ARCHIVE/.pywb/config.yaml \\
        --host 127.0.0.1 --port 8080 [--quiet]

Once it listens it prints ``READY <port>`` on stdout (the port bound: ``--port 0`` picks
one), serves until SIGINT or SIGTERM, and exits 0.  A port it cannot bind is one line on
stderr, ``cannot listen on HOST:PORT: <reason>``, and exit status 1.

Importing pywb's front end monkey-patches the process for gevent, so :func:`create_app`
imports it only when called.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

READY = "READY"  # the first word of the line announcing the port bound


class ListenError(Exception):
    """The address could not be bound: one line for the user."""


def create_app(config_path: str | Path) -> Any:
    """pywb's WSGI app for a config file.  Monkey-patches this process for gevent."""
    from gevent import monkey

    with warnings.catch_warnings():
        # urllib3 imported ssl before the patch; replay speaks plain HTTP on localhost only
        warnings.simplefilter("ignore", monkey.MonkeyPatchWarning)
        monkey.patch_all()
        from pywb.apps.frontendapp import FrontEndApp
    # The front end asks its own warcserver, on localhost, for every capture: never through a proxy.
    os.environ["no_proxy"] = ",".join(filter(None, [os.environ.get("no_proxy"), "localhost", "127.0.0.1"]))
    # An explicit config file: without one, pywb reads ./config.yaml from wherever it was started.
    app = FrontEndApp(config_file=str(config_path))
    # That warcserver's access log would double the one of the server in front.
    app.warcserver_server.server.log = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the app
    return app


def serve(app: Any, host: str, port: int, on_ready: Callable[[int], None], access_log: bool = True) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then stop and return; ``on_ready`` gets the port bound.

    The signals are handled in a greenlet of their own: left to Python, the KeyboardInterrupt
    lands in whichever greenlet runs, often one answering a request, which gevent reports
    with a traceback.  Once stopping, further signals are ignored (Ctrl-C in a terminal
    reaches this process both directly and forwarded by ``scraper replay``).
    """
    import gevent
    from gevent.event import Event
    from gevent.pywsgi import WSGIServer
    from pywb.utils.geventserver import RequestURIWSGIHandler

    server = WSGIServer((host, port), app, handler_class=RequestURIWSGIHandler, log="default" if access_log else None)
    try:
        server.start()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # gevent's strerror repeats the address
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from exc
    stop = Event()
    handlers = [gevent.signal_handler(signum, stop.set) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        on_ready(server.server_port)
        stop.wait()
    finally:
        for handler in handlers:
            handler.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        server.stop(timeout=1)


def announce_ready(port: int) -> None:
    print(f"{READY} {port}", flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pywb_server", description="Serve a pywb config until SIGINT or SIGTERM.")
    parser.add_argument("--config", required=True, help="pywb's config.yaml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Run by path, this file's folder comes first on sys.path: its siblings must not shadow anything.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if not p or str(Path(p).resolve()) != here]
    try:
        serve(create_app(args.config), args.host, args.port, announce_ready, access_log=not args.quiet)
    except ListenError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:  # SIGINT while starting: before the server was up
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
