"""The webhook outbox against a real HTTP receiver (http.server on 127.0.0.1) and a real warehouse."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import duckdb
import httpx
import pytest

from ingest.outbox import MAX_ATTEMPTS
from ingest.webhooks import (OutgoingWebhook, WebhookSender, allowed_hosts, enqueue_webhooks, signature,
                             webhook_url_problem)
from queries.db import connect, rows, run, scalar
from queries.errors import CapacityError
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from queries.webhooks import webhook_summary

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SECRET = "Geheim-webhook-sleutel-4f9a"
SUBSCRIPTION = "abo-1"
HOSTS = frozenset({"127.0.0.1", "localhost"})
BODY = '{"soort": "status",  "regio": "VR13", "tekst": "vóór vrijdag", "n":1}'   # odd spacing: sent as stored
SELECT_ROW = ("SELECT state, attempts, next_attempt_at, last_status, last_error, sent_at FROM webhook_outbox "
              "WHERE delivery_id = ?")


@dataclass
class Call:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request and answers `status` (or by path)."""

    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    status: int = 200
    status_by_path: dict[str, int] = field(default_factory=dict)
    answer: Callable[[Call], bytes] = lambda call: b"ok"
    answer_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    on_request: Callable[[], object] | None = None
    during_request: list[object] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook?token=t0k3n", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def handler_for(receiver_of: Callable[[], Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            receiver = receiver_of()
            call = Call("POST", self.path, {name.title(): value for name, value in self.headers.items()},
                        self.rfile.read(int(self.headers.get("Content-Length", 0))))
            receiver.calls.append(call)
            if receiver.on_request is not None:
                receiver.during_request.append(receiver.on_request())
            time.sleep(receiver.delay)
            status = receiver.status_by_path.get(self.path.split("?")[0], receiver.status)
            body = b"" if status in (204, 304) else receiver.answer(call)
            try:
                self.send_response(status)
                for name, value in receiver.answer_headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:   # the sender gave up waiting and hung up
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(lambda: made[0]))
    made.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield made[0]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def warehouse(data_paths: DataPaths) -> Iterator[Warehouse]:
    with Warehouse(data_paths) as opened:
        yield opened


def free_port() -> int:
    """A loopback port nothing listens on (right now): bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def secrets(subscription_id: str) -> str | None:
    return SECRET if subscription_id == SUBSCRIPTION else None


def sender(warehouse: Warehouse, hosts: frozenset[str] | None = HOSTS, timeout: float = 5.0) -> WebhookSender:
    return WebhookSender(warehouse, secrets, hosts, timeout)


def queue(warehouse: Warehouse, *urls: str, body: str = BODY, subscription_id: str = SUBSCRIPTION,
          now: datetime = NOW) -> list[int]:
    with warehouse.transaction() as con:
        return enqueue_webhooks(con, [OutgoingWebhook(subscription_id, url, body) for url in urls], now)


def row_of(warehouse: Warehouse, delivery_id: int) -> tuple:
    with warehouse.transaction() as con:
        return rows(con, SELECT_ROW, [delivery_id])[0]


def verifies(secret: str, call: Call) -> bool:
    """The receiver's check, written independently of ingest.webhooks."""
    timestamp = call.headers["X-Capacity-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, call.headers["X-Capacity-Signature"])


def test_a_queued_call_arrives_once_with_the_exact_body_and_a_signature_that_verifies(
        warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    before = time.time()

    summary = sender(warehouse).send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed, summary.changed, summary.mail_off) == (
        1, 0, 0, True, False)
    (call,) = receiver.calls
    assert (call.method, call.path) == ("POST", "/hook?token=t0k3n")
    assert call.body == BODY.encode("utf-8") and b"v\xc3\xb3\xc3\xb3r" in call.body
    assert call.headers["Content-Type"] == "application/json; charset=utf-8"
    assert call.headers["User-Agent"] == "capacity-dashboard-alerts/1"
    assert call.headers["X-Capacity-Delivery"] == str(delivery_id)
    timestamp = call.headers["X-Capacity-Timestamp"]
    assert timestamp.isdigit() and before - 1 <= int(timestamp) <= time.time() + 1
    assert verifies(SECRET, call) and not verifies("een-ander-geheim", call)
    assert call.headers["X-Capacity-Signature"] == signature(SECRET, timestamp, call.body)
    assert row_of(warehouse, delivery_id) == ("sent", 1, NOW, 200, None, NOW)

    again = sender(warehouse).send_due(NOW + timedelta(hours=1))
    assert (again.sent, again.changed) == (0, False) and len(receiver.calls) == 1


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("k", "1700000000", b"{}") == "sha256=" + expected
    assert signature("k", "1700000001", b"{}") != signature("k", "1700000000", b"{}")


@pytest.mark.parametrize("status", [200, 202, 204])
def test_every_2xx_answer_makes_the_call_sent(warehouse: Warehouse, receiver: Receiver, status: int) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.status = status
    assert sender(warehouse).send_due(NOW).sent == 1
    assert row_of(warehouse, delivery_id) == ("sent", 1, NOW, status, None, NOW)


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_a_temporary_answer_is_retried_with_backoff_and_arrives_once_when_the_receiver_recovers(
        warehouse: Warehouse, receiver: Receiver, status: int) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    webhooks = sender(warehouse)
    receiver.status = status

    first = webhooks.send_due(NOW)
    assert (first.sent, first.retried, first.failed) == (0, 1, 0)
    state, attempts, next_attempt_at, last_status, last_error, sent_at = row_of(warehouse, delivery_id)
    assert (state, attempts, next_attempt_at, last_status, sent_at) == (
        "queued", 1, NOW + timedelta(seconds=60), status, None)
    assert str(status) in last_error and "tijdelijk" in last_error and "temporary" in last_error

    assert webhooks.send_due(NOW + timedelta(seconds=59)).changed is False   # not due yet
    second = webhooks.send_due(NOW + timedelta(seconds=60))
    assert second.retried == 1
    assert row_of(warehouse, delivery_id)[:3] == ("queued", 2, NOW + timedelta(seconds=60 + 120))

    receiver.status = 200
    assert webhooks.send_due(NOW + timedelta(seconds=179)).changed is False
    back = webhooks.send_due(NOW + timedelta(seconds=180))
    assert back.sent == 1
    assert row_of(warehouse, delivery_id) == ("sent", 3, NOW + timedelta(seconds=180), 200, None,
                                              NOW + timedelta(seconds=180))
    assert [call.body for call in receiver.calls] == [BODY.encode()] * 3   # two refused, then the one that counts
    assert len({call.headers["X-Capacity-Delivery"] for call in receiver.calls}) == 1
    webhooks.send_due(NOW + timedelta(days=1))
    assert len(receiver.calls) == 3


def test_eight_temporary_failures_make_the_call_failed(warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.status = 503
    webhooks = sender(warehouse)
    waits = [60, 120, 240, 480, 960, 1920, 3600]
    at = NOW
    for attempt, wait in enumerate(waits, start=1):
        summary = webhooks.send_due(at)
        assert (summary.retried, summary.failed) == (1, 0)
        state, attempts, next_attempt_at, _, _, _ = row_of(warehouse, delivery_id)
        assert (state, attempts, next_attempt_at) == ("queued", attempt, at + timedelta(seconds=wait))
        at = next_attempt_at
    assert at == NOW + timedelta(seconds=7380)   # the sum of the waits
    last = webhooks.send_due(at)
    assert (last.retried, last.failed) == (0, 1)
    state, attempts, _, last_status, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, attempts, last_status) == ("failed", MAX_ATTEMPTS, 503) == ("failed", 8, 503)
    assert "Opgegeven na 8 pogingen" in last_error and "Given up after 8 attempts" in last_error
    assert f"127.0.0.1:{receiver.port}" in last_error
    assert webhooks.send_due(at + timedelta(days=1)).changed is False and len(receiver.calls) == 8


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_final_4xx_answer_fails_the_call_at_once(warehouse: Warehouse, receiver: Receiver, status: int) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.status = status
    receiver.answer = lambda call: f"Niets\n te vinden op {call.path}".encode()   # echoes the path, token and all
    webhooks = sender(warehouse)

    summary = webhooks.send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed) == (0, 0, 1)
    state, attempts, _, last_status, last_error, sent_at = row_of(warehouse, delivery_id)
    assert (state, attempts, last_status, sent_at) == ("failed", 1, status, None)
    assert f"weigerde de aanroep met {status}" in last_error and f"refused the call with {status}" in last_error
    assert f"127.0.0.1:{receiver.port}" in last_error and "Niets te vinden op" in last_error
    assert "t0k3n" not in last_error and "/hook" not in last_error
    assert webhooks.send_due(NOW + timedelta(days=1)).changed is False and len(receiver.calls) == 1


def test_a_redirect_fails_the_call_and_is_not_followed(warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.status = 302
    receiver.answer_headers = {"Location": receiver.url("/elders?token=t0k3n", host="localhost")}

    summary = sender(warehouse).send_due(NOW)

    assert (summary.sent, summary.failed) == (0, 1)
    assert [call.path for call in receiver.calls] == ["/hook?token=t0k3n"]   # exactly one request
    state, attempts, _, last_status, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, attempts, last_status) == ("failed", 1, 302)
    assert "redirect not followed; give the final address" in last_error and "uiteindelijke adres" in last_error
    assert f"to localhost:{receiver.port}" in last_error and "t0k3n" not in last_error


def test_a_redirect_to_no_address_at_all_still_fails_the_call(warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.status = 307
    receiver.answer_headers = {"Location": "http://[kapot/x"}
    assert sender(warehouse).send_due(NOW).failed == 1 and len(receiver.calls) == 1
    state, _, _, last_status, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, last_status) == ("failed", 307) and "redirects (307) to ?;" in last_error


def test_a_receiver_that_is_down_is_retried_and_the_error_names_host_and_port_only(warehouse: Warehouse) -> None:
    port = free_port()
    (delivery_id,) = queue(warehouse, f"http://127.0.0.1:{port}/geheim/pad?token=t0k3n")

    summary = sender(warehouse).send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed) == (0, 1, 0)
    state, attempts, next_attempt_at, last_status, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, attempts, next_attempt_at, last_status) == ("queued", 1, NOW + timedelta(seconds=60), None)
    assert f"127.0.0.1:{port}" in last_error and "niet bereikbaar" in last_error and "cannot be reached" in last_error
    assert "geheim" not in last_error and "pad" not in last_error and "t0k3n" not in last_error


def test_a_receiver_that_does_not_answer_in_time_is_retried(warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())
    receiver.delay = 2.0
    started = time.monotonic()

    summary = sender(warehouse, timeout=0.5).send_due(NOW)

    assert time.monotonic() - started < 1.9
    assert (summary.sent, summary.retried) == (0, 1) and len(receiver.calls) == 1
    state, attempts, next_attempt_at, _, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, attempts, next_attempt_at) == ("queued", 1, NOW + timedelta(seconds=60))
    assert "Timeout" in last_error and f"127.0.0.1:{receiver.port}" in last_error


def test_a_temporary_problem_at_one_host_holds_back_only_that_host(warehouse: Warehouse, receiver: Receiver) -> None:
    receiver.status_by_path = {"/druk": 503}
    busy, held, other = queue(warehouse, receiver.url("/druk"), receiver.url("/ok"),
                              receiver.url("/ok", host="localhost"))

    summary = sender(warehouse).send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed) == (1, 1, 0)
    assert [(call.path, call.headers["Host"]) for call in receiver.calls] == [
        ("/druk", f"127.0.0.1:{receiver.port}"), ("/ok", f"localhost:{receiver.port}")]
    assert row_of(warehouse, busy)[:2] == ("queued", 1)
    assert row_of(warehouse, held)[:5] == ("queued", 0, NOW, None, None)   # untouched
    assert row_of(warehouse, other)[0] == "sent"


def test_a_host_no_longer_allowed_when_sending_fails_the_call_unsent(
        monkeypatch: pytest.MonkeyPatch, warehouse: Warehouse, receiver: Receiver) -> None:
    monkeypatch.setenv("CAPACITY_WEBHOOK_HOSTS", " LocalHost , ,127.0.0.1 ")
    assert allowed_hosts() == frozenset({"localhost", "127.0.0.1"})
    first, second = queue(warehouse, receiver.url(), receiver.url())
    webhooks = sender(warehouse, hosts=None)   # reads the setting at each round
    with warehouse.transaction() as con:
        run(con, "UPDATE webhook_outbox SET next_attempt_at = ? WHERE delivery_id = ?", [NOW + timedelta(1), second])
    assert webhooks.send_due(NOW).sent == 1

    monkeypatch.setenv("CAPACITY_WEBHOOK_HOSTS", "localhost")
    summary = webhooks.send_due(NOW + timedelta(days=1))

    assert (summary.sent, summary.failed) == (0, 1) and len(receiver.calls) == 1
    state, attempts, _, last_status, last_error, _ = row_of(warehouse, second)
    assert (state, attempts, last_status) == ("failed", 0, None)
    assert "CAPACITY_WEBHOOK_HOSTS" in last_error and "127.0.0.1" in last_error and "localhost" in last_error
    assert "t0k3n" not in last_error and row_of(warehouse, first)[0] == "sent"


ALLOWED = frozenset({"hooks.example.nl", "127.0.0.1"})


@pytest.mark.parametrize(("url", "said"), [
    ("ftp://hooks.example.nl/x", "https://"),
    ("https:///x", "host name"),
    ("https://:443/x", "host name"),
    ("https://user:pass@hooks.example.nl/x", "user name or password"),
    ("https://hooks.example.nl/x#deel", "#fragment"),
    ("https://hooks.example.nl/x#", "#fragment"),
    ("https://hooks.example.nl/x y", "spaces or control characters"),
    ("https://hooks.example.nl/x\n", "spaces or control characters"),
    ("https://hooks.example.nl:99999/x", "Not a valid webhook address"),
    ("https://other.example.nl/x", "is not in CAPACITY_WEBHOOK_HOSTS"),
    ("https://hooks.example.nl.evil.example/x", "is not in CAPACITY_WEBHOOK_HOSTS"),
    ("https://hooks.example.nl/" + "x" * 1976, "at most 2000 characters"),   # 2001 characters
])
def test_webhook_url_problem_refuses(url: str, said: str) -> None:
    problem = webhook_url_problem(url, ALLOWED)
    assert problem is not None and said in problem.en and problem.nl != problem.en
    assert url[:30].replace("\n", "\\x0a").replace("user:pass@", "***@") in problem.en
    assert "user:pass" not in problem.nl + problem.en
    assert len(problem.en) < 600


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook?token=abc", "https://Hooks.Example.nl/alerts",
                                 "https://hooks.example.nl/" + "x" * 1975])
def test_webhook_url_problem_accepts_an_allowed_http_or_https_address(url: str) -> None:
    assert webhook_url_problem(url, ALLOWED) is None
    assert webhook_url_problem(url, frozenset()) is not None   # the empty list: webhooks are off


def test_with_an_empty_list_every_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPACITY_WEBHOOK_HOSTS", raising=False)
    assert allowed_hosts() == frozenset()
    problem = webhook_url_problem("https://hooks.example.nl/x")
    assert problem is not None and "Webhooks are off" in problem.en and "Webhooks staan uit" in problem.nl
    monkeypatch.setenv("CAPACITY_WEBHOOK_HOSTS", "hooks.example.nl")
    assert webhook_url_problem("https://hooks.example.nl/x") is None


def test_a_deleted_subscription_fails_the_call_unsent(warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url(), subscription_id="opgezegd")
    summary = sender(warehouse).send_due(NOW)
    assert (summary.sent, summary.failed) == (0, 1) and receiver.calls == []
    state, attempts, _, _, last_error, _ = row_of(warehouse, delivery_id)
    assert (state, attempts) == ("failed", 0)
    assert "opgezegd" in last_error and "bestaat niet meer" in last_error and "no longer exists" in last_error


class Killed(BaseException):
    """Stands in for the process being killed while the request is under way."""


def test_a_call_cut_off_while_sending_becomes_uncertain_and_is_never_sent(
        monkeypatch: pytest.MonkeyPatch, data_paths: DataPaths, receiver: Receiver) -> None:
    def killed(*args: object, **kwargs: object) -> None:
        raise Killed()

    with Warehouse(data_paths) as warehouse:
        (delivery_id,) = queue(warehouse, receiver.url())
        with monkeypatch.context() as patched:
            patched.setattr(httpx.Client, "stream", killed)
            with pytest.raises(Killed):
                sender(warehouse).send_due(NOW)
        assert row_of(warehouse, delivery_id)[:2] == ("sending", 1)

    with Warehouse(data_paths) as restarted:
        webhooks = sender(restarted)
        assert webhooks.recover_after_restart(NOW + timedelta(minutes=5)) == 1
        assert webhooks.recover_after_restart(NOW + timedelta(minutes=6)) == 0
        summary = webhooks.send_due(NOW + timedelta(days=1))
        state, attempts, _, _, last_error, sent_at = row_of(restarted, delivery_id)
    assert summary.changed is False and receiver.calls == []
    assert (state, attempts, sent_at) == ("uncertain", 1, None)
    assert "may or may not have arrived" in last_error and "misschien wel, misschien niet" in last_error


def test_the_state_sending_is_committed_and_the_warehouse_free_while_the_receiver_holds_the_request(
        warehouse: Warehouse, receiver: Receiver) -> None:
    (delivery_id,) = queue(warehouse, receiver.url())

    def look() -> tuple[bool, str | None]:
        """From the receiver's thread: can another writer take the warehouse, and what does it see?"""
        free = warehouse.lock.acquire(timeout=2)
        try:
            return free, (row_of(warehouse, delivery_id)[0] if free else None)
        finally:
            if free:
                warehouse.lock.release()

    receiver.on_request = look
    sender(warehouse).send_due(NOW)
    assert receiver.during_request == [(True, "sending")]
    assert row_of(warehouse, delivery_id)[0] == "sent"


def test_the_secret_appears_in_no_message_and_no_log(caplog: pytest.LogCaptureFixture, warehouse: Warehouse,
                                                     receiver: Receiver) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.status_by_path = {"/weg": 404, "/druk": 500}
    receiver.answer = lambda call: call.body + json.dumps(dict(call.headers)).encode()   # echoes all it got
    queue(warehouse, receiver.url("/ok"), receiver.url("/weg"), receiver.url("/druk"),
          f"http://localhost:{free_port()}/", "https://niet-toegestaan.example/x")
    queue(warehouse, receiver.url("/ok", host="localhost"), subscription_id="opgezegd")
    webhooks = sender(warehouse)
    summary = webhooks.send_due(NOW)
    with warehouse.transaction() as con:
        run(con, "UPDATE webhook_outbox SET state = 'sending' WHERE state = 'queued'")
    webhooks.recover_after_restart(NOW)

    assert (summary.sent, summary.retried, summary.failed) == (1, 2, 3)
    with warehouse.transaction() as con:
        errors = [error for (error,) in rows(con, "SELECT last_error FROM webhook_outbox WHERE last_error IS NOT NULL")]
    assert len(errors) == 5 and caplog.records
    assert not any(SECRET in error for error in errors) and SECRET not in caplog.text
    assert not any(SECRET.encode() in call.body or SECRET in str(call.headers) for call in receiver.calls)


def test_the_steward_summary_counts_states_and_lists_problems_without_bodies(
        warehouse: Warehouse, receiver: Receiver, data_paths: DataPaths) -> None:
    receiver.status_by_path = {"/weg": 404, "/druk": 503}
    sent, refused, elsewhere, busy, waiting = queue(
        warehouse, receiver.url("/ok"), receiver.url("/weg"), "https://Hooks.Example.nl:8443/p?token=t0k3n",
        receiver.url("/druk"), receiver.url("/ok"))
    with warehouse.transaction() as con:   # created later, so listed first; then cut off while sending
        (cut_off,) = enqueue_webhooks(con, [OutgoingWebhook(SUBSCRIPTION, receiver.url(), BODY)],
                                      NOW + timedelta(minutes=1))
        run(con, "UPDATE webhook_outbox SET state = 'sending', attempts = 1 WHERE delivery_id = ?", [cut_off])
    webhooks = sender(warehouse)
    webhooks.recover_after_restart(NOW + timedelta(minutes=2))
    # sent; refused fails; elsewhere is not allowed; busy is retried, which holds back waiting (same host and port)
    assert webhooks.send_due(NOW + timedelta(minutes=2)).failed == 2
    warehouse.publish()

    reader = connect(warehouse.latest_publication().path(data_paths), read_only=True)
    try:
        summary, newest = webhook_summary(reader), webhook_summary(reader, limit=1)
    finally:
        reader.close()
    assert (summary.queued, summary.retrying, summary.sending, summary.sent, summary.failed, summary.uncertain) == (
        2, 1, 0, 1, 2, 1)
    assert summary.oldest_queued_at == NOW
    assert [(p.delivery_id, p.state, p.attempts, p.last_status, p.host) for p in summary.problems] == [
        (cut_off, "uncertain", 1, None, "127.0.0.1"), (busy, "queued", 1, 503, "127.0.0.1"),
        (elsewhere, "failed", 0, None, "hooks.example.nl"), (refused, "failed", 1, 404, "127.0.0.1")]
    busy_problem = summary.problems[1]
    assert busy_problem.retrying and busy_problem.next_attempt_at == NOW + timedelta(minutes=3)
    assert busy_problem.subscription_id == SUBSCRIPTION and "503" in busy_problem.last_error
    assert not any(hasattr(problem, "body") or hasattr(problem, "url") for problem in summary.problems)
    assert "t0k3n" not in repr(summary) and "vrijdag" not in repr(summary)
    assert {sent, waiting}.isdisjoint(p.delivery_id for p in summary.problems)
    assert [p.delivery_id for p in newest.problems] == [cut_off] and newest.failed == 2


def test_the_summary_is_empty_on_a_copy_from_before_the_webhook_outbox(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        empty = webhook_summary(con)
    finally:
        con.close()
    assert (empty.queued, empty.retrying, empty.sent, empty.failed, empty.uncertain, empty.oldest_queued_at,
            empty.problems) == (0, 0, 0, 0, 0, None, [])


def test_enqueue_belongs_to_the_callers_transaction(warehouse: Warehouse) -> None:
    with pytest.raises(RuntimeError):
        with warehouse.transaction() as con:
            enqueue_webhooks(con, [OutgoingWebhook(SUBSCRIPTION, "https://hooks.example.nl/x", BODY)], NOW)
            raise RuntimeError("the alert that caused the call failed")
    with warehouse.transaction() as con:
        assert scalar(con, "SELECT count(*) FROM webhook_outbox") == 0
        assert enqueue_webhooks(con, [], NOW) == []


@pytest.mark.parametrize(("subscription_id", "body"), [
    ("", BODY), ("  ", BODY), (SUBSCRIPTION, "geen json"), (SUBSCRIPTION, "[1, 2]"), (SUBSCRIPTION, '"tekst"'),
    (SUBSCRIPTION, '{"n": NaN}'), (SUBSCRIPTION, '{"a": 1} {"b": 2}'), (SUBSCRIPTION, ""),
])
def test_enqueue_refuses_what_could_never_be_sent(warehouse: Warehouse, subscription_id: str, body: str) -> None:
    with pytest.raises(CapacityError) as caught:
        queue(warehouse, "https://hooks.example.nl/x", body=body, subscription_id=subscription_id)
    assert caught.value.nl != caught.value.en
    with warehouse.transaction() as con:
        assert scalar(con, "SELECT count(*) FROM webhook_outbox") == 0
