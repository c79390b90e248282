"""The alert tests' world: shortfall_world.py's hand-made regions, new figures and signals added as the test
goes, a real SMTP server (aiosmtpd) and a real webhook receiver, both on 127.0.0.1.

Region A's shelter cells at T0 (end of 30 June 2026, test_shortfall.py works them out): SH1 (weight 6/11,
11 places, 0 free, 4 waiting) and SH2 (6 places, 2 free, 1 waiting) give 12 places against a norm of 10:
amber (13/11 more waiting than free). `set_sh2(places=1)` makes it 6 + 1 = 7 places: a norm gap of 3, at least
20% of 10: red. `set_sh2(places=6)` brings back amber.
"""
from __future__ import annotations

import email
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from queries.db import run, scalar
from queries.moments import as_of
from queries.warehouse import Warehouse
from support import free_port

T0 = as_of("2026-06-30")        # 2026-06-30 21:59:59.999999 UTC
NEW_RUN = """
INSERT INTO ingest_run (run_id, source_id, started_at, finished_at, status, rows_in, rows_loaded, rows_rejected,
                        file_name, error_nl, error_en)
VALUES (?, ?, ?, ?, ?, 1, ?, 0, 'test', ?, ?)"""
NEW_FIGURE = """
INSERT INTO capacity_observation VALUES (?, ?, 'fixture', 'place', ?, ?, ?, ?, NULL, NULL, ?, ?)"""
NEW_SIGNAL = "INSERT INTO demand_signal VALUES (?, ?, 'shelter', 'adult_victim', 'no_room', ?, 'fixture', ?)"


def new_run(warehouse: Warehouse, source: str = "fixture", status: str = "ok", at: datetime = T0) -> int:
    with warehouse.transaction() as con:
        run_id = scalar(con, "SELECT nextval('ingest_run_id')")
        failed = status == "failed"
        run(con, NEW_RUN, [run_id, source, at, at, status, 0 if failed else 1,
                           "kapot bestand" if failed else None, "broken file" if failed else None])
    return run_id


def set_sh2(warehouse: Warehouse, places: int, valid_at: datetime, free: int = 0, waiting: int = 1) -> None:
    """A new figure of SH2 (region A's own shelter), committed and published."""
    run_id = new_run(warehouse)
    with warehouse.transaction() as con:
        run(con, NEW_FIGURE, ["SH2", valid_at, places, free, "open" if free else "full", waiting, run_id, valid_at])
    warehouse.publish()


def add_signals(warehouse: Warehouse, count: int, at: datetime, gemeente: str = "GM0001") -> None:
    """`count` anonymous 'nothing found' signals in a municipality of region A, published."""
    run_id = new_run(warehouse)
    with warehouse.transaction() as con:
        for _ in range(count):
            run(con, NEW_SIGNAL, [secrets.token_hex(16), gemeente, at, run_id])
    warehouse.publish()


class MailInbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, seconds: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=seconds)


def smtp_server(inbox: MailInbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def mail_env(port: int) -> dict[str, str]:
    return {"CAPACITY_SMTP_HOST": "127.0.0.1", "CAPACITY_SMTP_PORT": str(port), "CAPACITY_SMTP_SECURITY": "none",
            "CAPACITY_MAIL_FROM": "Capaciteit <noreply@example.org>",
            "CAPACITY_PUBLIC_URL": "https://capaciteit.example.org", "CAPACITY_WEBHOOK_HOSTS": "127.0.0.1"}


@dataclass
class HookCall:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HookReceiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers 204."""

    server: ThreadingHTTPServer
    calls: list[HookCall] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def hook_receiver() -> Iterator[HookReceiver]:
    receiver: list[HookReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver[0].calls.append(HookCall(self.path, dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    receiver.append(HookReceiver(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver[0]
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Mail to a free loopback port, webhooks to 127.0.0.1, the public at level testregio."""
    values = {**mail_env(free_port()), "CAPACITY_PUBLIC_LEVEL": "testregio"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def inbox(env: dict[str, str]) -> Iterator[MailInbox]:
    """A real SMTP server on the port `env` names."""
    box = MailInbox()
    controller = smtp_server(box, int(env["CAPACITY_SMTP_PORT"]))
    yield box
    controller.stop()
