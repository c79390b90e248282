"""ingest.fetch against a real HTTP server on 127.0.0.1, scripted per path."""
from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.fetch import MAX_REDIRECTS, FetchError, fetch, parse_json
from ingest.records import StructuralError

JSON = "application/json"
Step = Callable[[BaseHTTPRequestHandler], None]


class ScriptedServer:
    """A threaded HTTP server whose answers are scripted per path; the last step of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.release = threading.Event()
        self.client_went_away = threading.Event()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.handle_error = lambda request, address: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def script(self, path: str, *steps: Step) -> str:
        self.scripts[path] = list(steps)
        return self.url(path)

    def count(self, path: str) -> int:
        return len(self.requests[path])

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
                    seen.append(dict(self.headers))
                    steps = server.scripts[self.path]
                    step = steps[min(len(seen), len(steps)) - 1]
                step(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.stop()


@pytest.fixture
def delays() -> list[float]:
    return []


def reply(status: int, body: bytes = b"", content_type: str = JSON, **headers: str) -> Step:
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)
    return step


def hang(server: ScriptedServer) -> Step:
    """Answer nothing until the test ends."""
    return lambda handler: server.release.wait(10)


def declare_huge(server: ScriptedServer) -> Step:
    """Promise a gigabyte, send nothing."""
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**9))
        handler.end_headers()
        handler.wfile.flush()
        server.release.wait(10)
    return step


def stream_forever(server: ScriptedServer) -> Step:
    """Send bytes without a Content-Length until the client hangs up (or 10 s pass)."""
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", JSON)
        handler.end_headers()
        deadline = time.monotonic() + 10
        try:
            handler.wfile.write(b"[")
            while time.monotonic() < deadline:
                handler.wfile.write(b"1," * 8192)
        except OSError:
            server.client_went_away.set()
    return step


def recording_real_sleep(delays: list[float]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(seconds)
    return sleep


def test_503_then_200_is_retried_and_succeeds(server, delays):
    url = server.script("/flaky", reply(503), reply(200, b'{"ok": true}'))
    result = fetch(url, sleep=delays.append)
    assert (result.not_modified, result.attempts, server.count("/flaky")) == (False, 2, 2)
    assert len(delays) == 1 and 0 <= delays[0] <= 0.5
    assert parse_json(result.body, result.content_type, "feed") == {"ok": True}


def test_persistent_503_gives_up_with_a_plain_message(server, delays):
    url = server.script("/down", reply(503))
    with pytest.raises(FetchError) as caught:
        fetch(url, max_attempts=3, backoff_base=0.1, sleep=delays.append)
    error = caught.value
    assert (error.retryable, error.status, server.count("/down")) == (True, 503, 3)
    assert "de bron antwoordde 3 keer met 503 (Service Unavailable)" in error.nl
    assert "answered 503 (Service Unavailable) 3 times" in error.en
    assert url in error.nl and url in error.en
    assert len(delays) == 2 and 0 <= delays[0] <= 0.1 and 0 <= delays[1] <= 0.2


@pytest.mark.timeout(30)
def test_hanging_source_times_out_and_is_retried(server, delays):
    url = server.script("/hang", hang(server))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, timeout=0.5, max_attempts=2, sleep=delays.append)
    assert time.monotonic() - started < 3
    assert caught.value.retryable and caught.value.status is None
    assert "geen antwoord binnen 0,5 seconden" in caught.value.nl
    assert "no answer within 0.5 seconds" in caught.value.en
    assert server.count("/hang") == 2 and len(delays) == 1


def test_connection_refused_is_retried(delays):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://127.0.0.1:{port}/feed", max_attempts=2, timeout=2, sleep=delays.append)
    assert caught.value.retryable and "geen verbinding mogelijk" in caught.value.nl
    assert len(delays) == 1


def test_html_with_200_fetches_but_does_not_parse(server):
    url = server.script("/html", reply(200, b"<!DOCTYPE html><html><body>Login</body></html>", "text/html"))
    result = fetch(url)
    with pytest.raises(StructuralError) as caught:
        parse_json(result.body, result.content_type, "Veilig Thuis feed")
    assert caught.value.nl == "Veilig Thuis feed: de bron stuurde een webpagina (HTML) in plaats van JSON."
    assert caught.value.en == "Veilig Thuis feed: the source sent a web page (HTML) instead of JSON."


def test_html_is_recognised_by_its_content_too():
    with pytest.raises(StructuralError, match="HTML"):
        parse_json(b"\n  <html><body>Maintenance</body></html>", JSON, "feed")


def test_truncated_json_names_line_and_column(server):
    url = server.script("/cut", reply(200, b'{\n  "a": 1,\n  "b": [1, 2'))
    result = fetch(url)
    with pytest.raises(StructuralError) as caught:
        parse_json(result.body, result.content_type, "feed")
    assert "de JSON is afgebroken of ongeldig bij regel 3, kolom 13" in caught.value.nl
    assert "the JSON is truncated or invalid at line 3, column 13" in caught.value.en


@pytest.mark.timeout(30)
def test_declared_length_over_cap_is_refused_before_reading(server):
    url = server.script("/huge", declare_huge(server))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, max_bytes=1000, timeout=5)
    assert time.monotonic() - started < 2
    assert not caught.value.retryable and "1000 bytes" in caught.value.nl and "1000 bytes" in caught.value.en
    assert server.count("/huge") == 1


@pytest.mark.timeout(30)
def test_streamed_body_over_cap_stops_reading(server):
    url = server.script("/endless", stream_forever(server))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, max_bytes=100_000, timeout=5)
    assert time.monotonic() - started < 3
    assert not caught.value.retryable and "100000 bytes" in caught.value.en
    assert server.client_went_away.wait(5)
    assert server.count("/endless") == 1


def test_cap_counts_decompressed_bytes(server):
    bomb = gzip.compress(b" " * 5_000_000)
    url = server.script("/bomb", reply(200, bomb, Content_Encoding="gzip"))
    with pytest.raises(FetchError) as caught:
        fetch(url, max_bytes=100_000)
    assert not caught.value.retryable and len(bomb) < 100_000


@pytest.mark.timeout(30)
def test_429_retry_after_seconds_is_honoured(server, delays):
    url = server.script("/busy", reply(429, Retry_After="1"), reply(200, b"[]"))
    started = time.monotonic()
    result = fetch(url, sleep=recording_real_sleep(delays))
    assert delays == [1.0] and time.monotonic() - started >= 1.0
    assert (result.attempts, server.count("/busy"), result.body) == (2, 2, b"[]")


def test_retry_after_date_is_capped_at_backoff_max(server, delays):
    later = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    url = server.script("/maintenance", reply(503, Retry_After=later))
    with pytest.raises(FetchError):
        fetch(url, max_attempts=2, backoff_max=2.0, sleep=delays.append)
    assert delays == [2.0] and server.count("/maintenance") == 2


def test_404_is_not_retried(server, delays):
    url = server.script("/gone", reply(404))
    with pytest.raises(FetchError) as caught:
        fetch(url, sleep=delays.append)
    error = caught.value
    assert (error.retryable, error.status, server.count("/gone"), delays) == (False, 404, 1, [])
    assert "404 (Not Found)" in error.nl and url in error.nl and url in error.en


def test_etag_gives_304_not_modified(server):
    def conditional(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            reply(304, ETag='"v1"')(handler)
        else:
            reply(200, b'{"beds": 3}', ETag='"v1"', Last_Modified="Mon, 02 Mar 2026 08:00:00 GMT")(handler)

    url = server.script("/beds", conditional)
    first = fetch(url)
    assert (first.not_modified, first.body, first.etag) == (False, b'{"beds": 3}', '"v1"')
    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert (second.not_modified, second.body, second.etag) == (True, None, '"v1"')
    assert second.last_modified == "Mon, 02 Mar 2026 08:00:00 GMT"
    assert server.count("/beds") == 2
    sent_first, sent_second = server.requests["/beds"]
    assert "If-None-Match" not in sent_first
    assert sent_second["If-None-Match"] == '"v1"'
    assert sent_second["If-Modified-Since"] == "Mon, 02 Mar 2026 08:00:00 GMT"


def test_headers_and_bearer_token(server):
    url = server.script("/auth", reply(200, b"{}"))
    fetch(url, token="s3cret-token")
    fetch(url)
    with_token, without_token = server.requests["/auth"]
    assert with_token["Authorization"] == "Bearer s3cret-token"
    assert "Authorization" not in without_token
    assert with_token["Accept"] == JSON
    assert "capacity-dashboard-ingest" in with_token["User-Agent"]


def test_token_and_password_never_appear_in_messages(server):
    server.script("/private", reply(401))
    url = server.url("/private").replace("http://", "http://reader:hunter2@")
    with pytest.raises(FetchError) as caught:
        fetch(url, token="s3cret-token")
    error = caught.value
    assert (error.retryable, error.status) == (False, 401)
    for text in (error.nl, error.en, str(error), repr(error)):
        assert "s3cret-token" not in text and "hunter2" not in text
    assert server.url("/private") in error.en and "token" in error.en


def test_redirect_is_followed(server):
    server.script("/target", reply(200, b"[1]"))
    url = server.script("/moved", reply(302, Location="/target"))
    assert fetch(url).body == b"[1]"


def test_redirect_loop_is_not_retried(server):
    url = server.script("/loop", reply(302, Location="/loop"))
    with pytest.raises(FetchError) as caught:
        fetch(url)
    assert not caught.value.retryable and "doorverwijzingen" in caught.value.nl
    assert server.count("/loop") == MAX_REDIRECTS + 1


def test_duplicate_keys_are_refused():
    body = json.dumps({"items": []})[:-1].encode() + b', "x": {"beds": 1, "beds": 2}}'
    with pytest.raises(StructuralError) as caught:
        parse_json(body, JSON, "feed")
    assert 'de sleutel "beds" komt twee keer voor' in caught.value.nl
    assert 'the key "beds" occurs twice' in caught.value.en


@pytest.mark.parametrize("body", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000])
def test_deep_nesting_is_a_clean_error(body):
    with pytest.raises(StructuralError) as caught:
        parse_json(body, JSON, "feed")
    assert "dieper genest dan 64 niveaus" in caught.value.nl


def test_recursion_limit_is_a_clean_error_even_with_a_high_max_depth():
    with pytest.raises(StructuralError) as caught:
        parse_json(b"[" * 100_000 + b"]" * 100_000, JSON, "feed", max_depth=10**6)
    assert "nested deeper than 1000000 levels" in caught.value.en


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = json.dumps({"note": "[{" * 1000 + '\\"[', "deep": [[[1]]]}).encode()
    assert parse_json(body, JSON, "feed")["deep"] == [[[1]]]


@pytest.mark.parametrize(("body", "nl"), [
    (b'{"naam": "caf\xe9"}', "geen geldige UTF-8-tekst (fout bij byte 14)"),
    (b"  \n", "leeg antwoord"),
    (b'{"beds": NaN}', "bevat NaN"),
])
def test_other_garbage_is_a_structural_error(body, nl):
    with pytest.raises(StructuralError) as caught:
        parse_json(body, JSON, "feed")
    assert nl in caught.value.nl


def test_a_number_with_very_many_digits_is_kept_as_written():
    """No longer a parse error: the number is kept as the provider wrote it, for validation to report."""
    assert parse_json(b"1" * 5000, JSON, "feed") == "1" * 5000


def test_byte_order_mark_is_allowed():
    assert parse_json(b'\xef\xbb\xbf{"beds": 2}', "application/json; charset=utf-8", "feed") == {"beds": 2}


@pytest.mark.parametrize("url", ["http://feed.example:port/", "ftp://127.0.0.1/feed.json"])
def test_unusable_address_is_not_retried(url, delays):
    with pytest.raises(FetchError) as caught:
        fetch(url, sleep=delays.append)
    assert not caught.value.retryable and url in caught.value.en and delays == []
