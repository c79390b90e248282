"""http sources end to end: a real HTTP server on 127.0.0.1, sources.toml, the real SourceRunner and warehouse.

Each failure case first loads the feed once, then lets the source fail, and checks
that the failed run is in the ledger with its message while the warehouse's
observations (and what it remembers of the feed) stay exactly as they were.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from support import run_cli

from ingest.config import SourceConfig, load_sources
from ingest.runner import RunSummary, SourceRunner
from queries.db import rows
from queries.paths import DataPaths
from queries.warehouse import Warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "feed"
CAPACITY = (FIXTURES / "capacity.json").read_bytes()              # a top-level list, 4 valid records
UPDATE = (FIXTURES / "capacity_update.json").read_bytes()         # {"records": [...]}, 3 valid records
INVALID = (FIXTURES / "capacity_invalid.json").read_bytes()       # {"records": [...]}, record 2 has available > maximum
# counted by hand from capacity.json: service, care type (default shelter), target groups (default adult_victim+child)
CAPACITY_SERVICES = {
    "feed-shelter-ams": ("shelter", ["adult_victim", "child"], 12, 3, "open"),
    "feed-trauma-gron": ("trauma_care", ["child"], 8, 0, "waitlist"),
    "feed-shelter-both": ("shelter", ["adult_victim", "child"], 6, 0, "full"),
    "feed-peer-ams": ("peer_group", ["adult_victim"], 10, 4, "open"),
}
JSON = "application/json"
Step = Callable[[BaseHTTPRequestHandler], None]
pytestmark = pytest.mark.timeout(60)


def answer(status: int, body: bytes = b"", content_type: str = JSON, headers: dict[str, str] | None = None,
           declare_length: bool = True) -> Step:
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        if status != 304:
            handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if declare_length and status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body and status != 304:
            handler.wfile.write(body)
    return step


def ok(body: bytes = CAPACITY, **headers: str) -> Step:
    return answer(200, body, headers=headers)


class ScriptedServer:
    """ThreadingHTTPServer on 127.0.0.1:0; answers scripted per path, the last step of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.handle_error = lambda request, address: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def script(self, path: str, *steps: Step) -> str:
        with self.lock:
            self.scripts[path] = list(steps)
        return path

    def count(self, path: str) -> int:
        with self.lock:
            return len(self.requests[path])

    def hang(self, handler: BaseHTTPRequestHandler) -> None:
        """Say nothing until the test ends (at most 10 s)."""
        self.release.wait(10)

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server.lock:
                    seen = server.requests[self.path]
                    seen.append({k.lower(): v for k, v in self.headers.items()} | {"at": str(time.monotonic())})
                    steps = server.scripts.get(self.path) or [answer(404, b"{}")]
                    step = steps[min(len(seen), len(steps)) - 1]
                step(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class Feeds:
    """Sources in a sources.toml in tmp_path pointing at the server; one Warehouse on the private data folder."""

    def __init__(self, server: ScriptedServer, paths: DataPaths, folder: Path) -> None:
        self.server = server
        self.paths = paths
        self.config = folder / "sources.toml"
        self.config.write_text("", encoding="utf-8")
        self.warehouse: Warehouse | None = None

    def add(self, source_id: str, path: str, **options: object) -> None:
        lines = [f'[[sources]]\nid = "{source_id}"\nkind = "http"\nschedule = "15m"',
                 f'url = "http://127.0.0.1:{self.server.port}{path}"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in {"timeout_seconds": 0.5, **options}.items()]
        lines.append('[sources.defaults]\ncare_type = "shelter"\ntarget_groups = ["adult_victim", "child"]\n')
        with self.config.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def source(self, source_id: str) -> SourceConfig:
        return next(source for source in load_sources(self.config) if source.id == source_id)

    def run(self, source_id: str) -> RunSummary:
        if self.warehouse is None:
            self.warehouse = Warehouse(self.paths)
        return SourceRunner(self.warehouse, self.paths).run(self.source(source_id))

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        if self.warehouse is not None:
            with self.warehouse.lock:
                return rows(self.warehouse.con, sql, params)
        con = duckdb.connect(str(self.paths.warehouse), read_only=True)
        try:
            return rows(con, sql, params)
        finally:
            con.close()

    def observations(self) -> list[tuple]:
        return self.query("SELECT service_id, valid_at, source_id, unit, maximum, available, status, waiting_count, "
                          "run_id FROM capacity_observation ORDER BY ALL")

    def ledger(self, source_id: str) -> list[tuple]:
        """(status, rows_in, rows_loaded, rows_rejected, error_nl, error_en) per run, oldest first."""
        return self.query("SELECT status, rows_in, rows_loaded, rows_rejected, error_nl, error_en FROM ingest_run "
                          "WHERE source_id = ? ORDER BY run_id", [source_id])

    def feed_state(self, source_id: str) -> list[tuple]:
        return self.query("SELECT etag, content_hash FROM feed_state WHERE source_id = ?", [source_id])

    def close(self) -> None:
        if self.warehouse is not None:
            self.warehouse.close()
            self.warehouse = None


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.stop()


@pytest.fixture
def feeds(server: ScriptedServer, data_paths: DataPaths, tmp_path: Path) -> Iterator[Feeds]:
    made = Feeds(server, data_paths, tmp_path)
    yield made
    made.close()


def assert_capacity_loaded(feeds: Feeds, source_id: str) -> None:
    loaded = feeds.query("SELECT service_id, maximum, available, status FROM capacity_observation "
                         "WHERE source_id = ? ORDER BY service_id", [source_id])
    assert loaded == sorted((service, maximum, available, status)
                            for service, (_, _, maximum, available, status) in CAPACITY_SERVICES.items())
    services = feeds.query("SELECT s.service_id, s.care_type, list_sort(list(t.target_group)) FROM service AS s "
                           "JOIN service_target_group AS t USING (service_id) WHERE s.source_id = ? "
                           "GROUP BY ALL ORDER BY 1", [source_id])
    assert services == sorted((service, care, groups) for service, (care, groups, *_) in CAPACITY_SERVICES.items())
    areas = feeds.query("SELECT area_code FROM service_area WHERE service_id = 'feed-shelter-both' ORDER BY 1")
    assert areas == [("GM0014",), ("GM0363",)]


def load_then_fail(feeds: Feeds, server: ScriptedServer, failure: Step | list[Step], **options: object
                   ) -> tuple[RunSummary, int, float]:
    """Load capacity.json once, then let the same source fail: the failed run's summary, requests and seconds."""
    failures = failure if isinstance(failure, list) else [failure]
    feeds.add("feed", server.script("/feed", ok(), *failures), **options)
    first = feeds.run("feed")
    assert (first.status, first.loaded) == ("ok", 4)
    before = feeds.observations(), feeds.feed_state("feed")
    requests = server.count("/feed")
    started = time.monotonic()
    summary = feeds.run("feed")
    seconds = time.monotonic() - started
    assert summary.status == "failed" and summary.loaded == 0 and summary.messages
    assert (feeds.observations(), feeds.feed_state("feed")) == before   # untouched, the feed not remembered
    assert_capacity_loaded(feeds, "feed")
    status, rows_in, rows_loaded, rows_rejected, error_nl, error_en = feeds.ledger("feed")[-1]
    assert (status, rows_in, rows_loaded, rows_rejected) == ("failed", 0, 0, 0)
    assert error_nl and error_en
    assert not feeds.query("SELECT * FROM rejected_row")
    return summary, server.count("/feed") - requests, seconds


def test_503_then_200_is_retried_and_loaded(feeds: Feeds, server: ScriptedServer) -> None:
    feeds.add("feed", server.script("/feed", answer(503, b"busy", "text/plain"), ok()))
    summary = feeds.run("feed")
    assert (summary.status, summary.loaded, summary.rejected) == ("ok", 4, 0)
    assert server.count("/feed") == 2
    assert feeds.ledger("feed") == [("ok", 4, 4, 0, None, None)]
    assert_capacity_loaded(feeds, "feed")
    assert feeds.query("SELECT count(*) FROM capacity_observation")[0][0] == 4
    assert feeds.query("SELECT kind, location FROM source WHERE source_id = 'feed'") == [
        ("http", f"http://127.0.0.1:{server.port}/feed")]


def test_hanging_source_times_out_and_fails(feeds: Feeds, server: ScriptedServer) -> None:
    _, requests, seconds = load_then_fail(feeds, server, server.hang)
    assert requests == 4                                   # every attempt timed out (4 attempts)
    assert 4 * 0.5 <= seconds < 10
    error_nl, error_en = feeds.ledger("feed")[-1][4:]
    assert "no answer within 0.5 seconds" in error_en, error_en
    assert "geen antwoord binnen 0,5 seconden" in error_nl, error_nl
    assert "/feed" in error_en


def test_html_with_status_200_fails(feeds: Feeds, server: ScriptedServer) -> None:
    page = b"<!DOCTYPE html><html><body><h1>Onderhoud</h1></body></html>"
    _, requests, _ = load_then_fail(feeds, server, answer(200, page, "text/html; charset=utf-8"))
    assert requests == 1
    error_nl, error_en = feeds.ledger("feed")[-1][4:]
    assert "HTML" in error_en and "webpagina" in error_nl


def test_html_sent_as_json_fails_too(feeds: Feeds, server: ScriptedServer) -> None:
    _, requests, _ = load_then_fail(feeds, server, answer(200, b"\n  <html><body>Login</body></html>"))
    assert requests == 1
    assert "webpagina" in feeds.ledger("feed")[-1][4]


def test_truncated_json_fails(feeds: Feeds, server: ScriptedServer) -> None:
    _, requests, _ = load_then_fail(feeds, server, answer(200, CAPACITY[: len(CAPACITY) // 2]))
    assert requests == 1
    error_en = feeds.ledger("feed")[-1][5]
    assert "truncated or invalid" in error_en and "line" in error_en


def test_oversized_body_fails(feeds: Feeds, server: ScriptedServer) -> None:
    """max_bytes = the size of capacity.json: that loads; one record more (streamed, no length) is refused."""
    bigger = json.dumps(json.loads(CAPACITY) + [json.loads(UPDATE)["records"][2]]).encode()
    _, requests, _ = load_then_fail(feeds, server, answer(200, bigger, declare_length=False),
                                 max_bytes=len(CAPACITY))
    assert requests == 1
    error_en = feeds.ledger("feed")[-1][5]
    assert f"larger than the limit of {len(CAPACITY)} bytes" in error_en, error_en


def test_oversized_declared_length_fails(feeds: Feeds, server: ScriptedServer) -> None:
    _, requests, _ = load_then_fail(feeds, server, answer(200, CAPACITY + b" " * 100), max_bytes=len(CAPACITY))
    assert requests == 1
    assert "larger than the limit" in feeds.ledger("feed")[-1][5]


def test_429_with_retry_after_is_retried_after_a_second_and_loaded(feeds: Feeds, server: ScriptedServer) -> None:
    feeds.add("feed", server.script("/feed", answer(429, b"slow down", "text/plain", {"Retry-After": "1"}), ok()))
    summary = feeds.run("feed")
    assert (summary.status, summary.loaded) == ("ok", 4)
    first, second = server.requests["/feed"]
    assert 0.9 <= float(second["at"]) - float(first["at"]) < 3
    assert feeds.ledger("feed") == [("ok", 4, 4, 0, None, None)]
    assert_capacity_loaded(feeds, "feed")


def test_404_fails_after_a_single_request(feeds: Feeds, server: ScriptedServer) -> None:
    summary, requests, _ = load_then_fail(feeds, server, answer(404, b"not here", "text/plain"))
    assert requests == 1
    error_nl, error_en = feeds.ledger("feed")[-1][4:]
    assert "404" in error_en and "404" in error_nl
    assert any("404" in message for message in summary.messages)


def test_etag_gives_304_unchanged_then_changed_content_loads(feeds: Feeds, server: ScriptedServer) -> None:
    current = {"etag": '"v1"', "body": CAPACITY}

    def conditional(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == current["etag"]:
            answer(304, headers={"ETag": current["etag"]})(handler)
        else:
            ok(current["body"], ETag=current["etag"])(handler)

    feeds.add("feed", server.script("/feed", conditional))
    assert (feeds.run("feed").status, server.count("/feed")) == ("ok", 1)
    assert "if-none-match" not in server.requests["/feed"][0]
    first_state = feeds.feed_state("feed")
    assert first_state[0][0] == '"v1"'
    before = feeds.observations()

    second = feeds.run("feed")
    assert (second.status, second.loaded, second.rejected) == ("unchanged", 0, 0)
    assert server.requests["/feed"][1]["if-none-match"] == '"v1"'
    assert feeds.observations() == before
    assert feeds.ledger("feed")[-1] == ("unchanged", 0, 0, 0, None, None)
    assert feeds.feed_state("feed") == first_state

    current.update(etag='"v2"', body=UPDATE)
    third = feeds.run("feed")
    assert (third.status, third.loaded) == ("ok", 3)
    assert server.requests["/feed"][2]["if-none-match"] == '"v1"'
    assert feeds.ledger("feed") == [("ok", 4, 4, 0, None, None), ("unchanged", 0, 0, 0, None, None),
                                    ("ok", 3, 3, 0, None, None)]
    assert len(feeds.observations()) == 7
    assert feeds.query("SELECT count(*) FROM capacity_observation WHERE valid_at >= '2025-06-03'")[0][0] == 3
    assert feeds.feed_state("feed")[0][0] == '"v2"'
    assert feeds.query("SELECT care_type FROM service WHERE service_id = 'feed-perp-ams'") == [
        ("perpetrator_programme",)]


def test_same_content_without_etag_is_unchanged_by_its_hash(feeds: Feeds, server: ScriptedServer) -> None:
    feeds.add("feed", server.script("/feed", ok()))
    assert (feeds.run("feed").status, server.count("/feed")) == ("ok", 1)
    before = feeds.observations()
    second = feeds.run("feed")
    assert (second.status, second.loaded) == ("unchanged", 0)
    assert server.count("/feed") == 2
    assert "if-none-match" not in server.requests["/feed"][1]
    assert feeds.observations() == before
    assert feeds.ledger("feed") == [("ok", 4, 4, 0, None, None), ("unchanged", 0, 0, 0, None, None)]


def test_available_above_maximum_rejects_that_record_only(feeds: Feeds, server: ScriptedServer) -> None:
    feeds.add("feed", server.script("/feed", ok(INVALID)))
    summary = feeds.run("feed")
    assert (summary.status, summary.loaded, summary.rejected) == ("partial", 2, 1)
    assert feeds.ledger("feed") == [("partial", 3, 2, 1, None, None)]
    assert feeds.query("SELECT service_id FROM capacity_observation ORDER BY 1") == [("feed-peer-ams",),
                                                                                     ("feed-shelter-ams",)]
    assert not feeds.query("SELECT * FROM service WHERE service_id = 'feed-overfull'")
    rejected = feeds.query("SELECT row_number, column_name, value, message_nl, message_en FROM rejected_row")
    assert len(rejected) == 1
    row, column, value, message_nl, message_en = rejected[0]
    assert (row, column, value) == (2, "available", "7")           # the second record of the feed
    assert "7" in message_en and "5" in message_en and "maximum" in message_en, message_en
    assert "beschikbaar (7)" in message_nl and "maximum (5)" in message_nl, message_nl


def test_provider_name_without_latin_letters_loads(feeds: Feeds, server: ScriptedServer) -> None:
    """A provider may be named in another script; the derived provider id must not be empty.

    Product bug (found here): validate._record derives provider_id by slugging the name to [a-z0-9-], which
    leaves '' for 'مأوى'; the provider insert then violates CHECK (length(trim(provider_id)) > 0), and that
    database error escapes SourceRunner.run (no ledger row, nothing stops it reaching the caller).
    """
    record = {**json.loads(CAPACITY)[0], "service_id": "feed-arabic", "provider_name": "مأوى"}
    feeds.add("feed", server.script("/feed", ok(json.dumps([record, json.loads(CAPACITY)[1]]).encode())))
    summary = feeds.run("feed")
    assert (summary.status, summary.loaded) == ("ok", 2), summary.line()
    assert feeds.ledger("feed") == [("ok", 2, 2, 0, None, None)]
    assert feeds.query("SELECT name FROM provider WHERE name = 'مأوى'") == [("مأوى",)]


def test_a_failing_source_does_not_stop_another(feeds: Feeds, server: ScriptedServer) -> None:
    feeds.add("broken", server.script("/broken", answer(404, b"gone", "text/plain")))
    feeds.add("good", server.script("/good", ok()))
    feeds.close()   # the CLI is the writer now
    result = run_cli("ingest", "--data-dir", str(feeds.paths.root), "--config", str(feeds.config), "--once",
                     env={"CAPACITY_LANG": "en"}, timeout=50)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    broken = next(line for line in lines if line.startswith("broken:"))
    good = next(line for line in lines if line.startswith("good:"))
    assert broken.startswith("broken: failed"), result.stdout
    assert good.startswith("good: ok") and "loaded 4" in good, result.stdout
    assert "404" in result.stdout
    assert (server.count("/broken"), server.count("/good")) == (1, 1)
    assert feeds.ledger("broken")[0][:4] == ("failed", 0, 0, 0) and feeds.ledger("broken")[0][5]
    assert feeds.ledger("good") == [("ok", 4, 4, 0, None, None)]
    assert_capacity_loaded(feeds, "good")
    assert not feeds.query("SELECT * FROM capacity_observation WHERE source_id = 'broken'")


def test_a_source_whose_load_raises_does_not_stop_the_next(feeds: Feeds, server: ScriptedServer) -> None:
    """Whatever goes wrong inside one source's load is that source's failed (or loaded) run, never the end of
    `capacity ingest --once`. Product bug (found here): the database error of the empty provider id above
    escapes SourceRunner.run, so the CLI stops with a traceback before it runs the next source."""
    record = {**json.loads(CAPACITY)[0], "service_id": "feed-arabic", "provider_name": "مأوى"}
    feeds.add("script", server.script("/script", ok(json.dumps([record]).encode())))
    feeds.add("good", server.script("/good", ok()))
    feeds.close()
    result = run_cli("ingest", "--data-dir", str(feeds.paths.root), "--config", str(feeds.config), "--once",
                     env={"CAPACITY_LANG": "en"}, timeout=50)
    lines = result.stdout.splitlines()
    assert any(line.startswith(("script: ok", "script: failed")) for line in lines), \
        result.stdout + result.stderr[-2000:]
    assert any(line.startswith("good: ok") for line in lines), result.stdout + result.stderr[-2000:]
    assert server.count("/good") == 1
    assert feeds.ledger("good") == [("ok", 4, 4, 0, None, None)]
    assert len(feeds.ledger("script")) == 1 and feeds.ledger("script")[0][0] in ("ok", "failed")
