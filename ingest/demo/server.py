"""`capacity demo serve`: the demo's JSON feeds and HSDS API on 127.0.0.1, and new reports arriving.

Answers are figures as of the current tick of the refresh interval (history included), so they change
once per tick; feeds send an ETag per tick and answer 304 to a repeat. The failing source's feed answers
500 with an HTML page. Runs in the foreground until SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from queries.paths import DataPaths

from .generate import DemoSettings, history, read_settings
from .hsds import api_page
from .model import tick
from .refresh import Refresher
from .sources_file import api_path, feed_path
from .world import DemoError, Source, World, build_world
from .writers import canonical_row, feed_bytes

log = logging.getLogger("capacity.demo")
HOST = "127.0.0.1"
DEFAULT_REFRESH_SECONDS = 60
MAX_PER_PAGE = 500
FAILURE_PAGE = (b"<!DOCTYPE html><html lang=\"nl\"><head><title>500 Interne serverfout</title></head>"
                b"<body><h1>Interne serverfout</h1><p>De koppeling van deze fictieve aanbieder is stuk "
                b"(demonstratiegegevens).</p></body></html>")


def serve_demo(paths: DataPaths, port: int | None, refresh_seconds: int | None) -> int:
    """Serve the demo generated in `paths` (on its port unless given) and keep reports arriving every
    `refresh_seconds` (default 60) until SIGTERM or Ctrl-C."""
    refresh_seconds = refresh_seconds or DEFAULT_REFRESH_SECONDS
    if refresh_seconds < 1:
        raise DemoError("--refresh-seconds moet minstens 1 zijn", "--refresh-seconds must be at least 1")
    settings = _settings(paths)
    world = build_world(settings.seed, settings.scale)
    server = DemoServer(world, port or settings.port, refresh_seconds)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    refresher = Refresher(world, paths, refresh_seconds)
    threads = [threading.Thread(target=server.serve, name="demo-server", daemon=True),
               threading.Thread(target=refresher.run, args=(stop,), name="demo-refresh", daemon=True)]
    for thread in threads:
        thread.start()
    print(f"Demo-bronnen op http://{HOST}:{server.port}/ (nieuwe cijfers elke {refresh_seconds} s; "
          "Ctrl-C stopt / stops)", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        for thread in threads:
            thread.join(timeout=10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


class DemoServer:
    """A threaded HTTP server on 127.0.0.1 answering the world's feeds and HSDS APIs."""

    def __init__(self, world: World, port: int, refresh_seconds: int) -> None:
        self.world = world
        self.refresh_seconds = refresh_seconds
        self.feeds = {feed_path(s): s for s in world.sources if s.form == "feed"}
        self.apis = {f"{api_path(s)}/services": s for s in world.sources if s.form == "hsds_api"}
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), self._handler())
        except OSError as error:
            raise DemoError(f"Poort {port} op {HOST} is niet te gebruiken ({error.strerror}); kies een andere "
                            "met --port (of --demo-port bij capacity run)",
                            f"Port {port} on {HOST} cannot be used ({error.strerror}); choose another with "
                            "--port (or --demo-port for capacity run)") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._lock = threading.Lock()
        self._tick: datetime | None = None
        self._answers: dict[tuple, bytes] = {}

    def serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def now(self) -> datetime:
        return tick(datetime.now(timezone.utc), self.refresh_seconds)

    def feed(self, source: Source, moment: datetime) -> bytes:
        def make() -> bytes:
            rows = [canonical_row(service, figures) for service in source.services
                    for figures in history(self.world, source, service, moment)]
            return feed_bytes(source, rows, moment)

        return self._answer((source.id, moment), make)

    def page(self, source: Source, moment: datetime, page: int, per_page: int) -> bytes:
        return self._answer((source.id, moment, page, per_page), lambda: api_page(
            self.world.seed, source, lambda service: history(self.world, source, service, moment), page, per_page))

    def _answer(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        """Each answer is made once per tick: every poll within a tick gets the same bytes."""
        with self._lock:
            if key[1] != self._tick:
                self._tick, self._answers = key[1], {}
            found = self._answers.get(key)
        if found is None:
            found = make()
            with self._lock:
                if key[1] == self._tick:
                    self._answers[key] = found
        return found

    def index(self) -> bytes:
        lines = ["Demonstratiegegevens: fictieve aanbieders en cijfers / demo data: fictional providers", ""]
        lines += [f"{path}  ({source.id})" for path, source in {**self.feeds, **self.apis}.items()]
        return "\n".join(lines).encode("utf-8")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                moment = server.now()
                if parts.path in server.feeds:
                    self._feed(server.feeds[parts.path], moment)
                elif parts.path in server.apis:
                    query = parse_qs(parts.query)
                    page = _number(query, "page", 1, 10**6)
                    per_page = _number(query, "per_page", 50, MAX_PER_PAGE)
                    self._send(200, server.page(server.apis[parts.path], moment, page, per_page))
                elif parts.path == "/":
                    self._send(200, server.index(), "text/plain; charset=utf-8")
                else:
                    self._send(404, b'{"error": "not found"}')

            def _feed(self, source: Source, moment: datetime) -> None:
                if source.failing:
                    self._send(500, FAILURE_PAGE, "text/html; charset=utf-8")
                    return
                etag = f'"{source.id}-{int(moment.timestamp())}"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", headers={"ETag": etag})
                else:
                    self._send(200, server.feed(source, moment), headers={"ETag": etag})

            def _send(self, status: int, body: bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)),
                                    **(headers or {})}.items():
                    if status != 304 or name == "ETag":
                        self.send_header(name, value)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("demo server: " + format, *args)

        return Handler


def _number(query: dict[str, list[str]], name: str, default: int, highest: int) -> int:
    """A whole number from the query string, kept within 1..highest (the default when absent or wrong)."""
    text = (query.get(name) or [""])[0]
    return min(highest, max(1, int(text))) if text.isdigit() else default


def _settings(paths: DataPaths) -> DemoSettings:
    settings = read_settings(paths)
    if settings is None:
        raise DemoError(f"In {paths.root} is nog geen demo gemaakt; draai eerst `capacity demo`.",
                        f"No demo has been generated in {paths.root}; run `capacity demo` first.")
    return settings
