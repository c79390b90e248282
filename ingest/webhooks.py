"""The webhook outbox in the warehouse: queue alert calls with the change that causes them, POST them later.

`enqueue_webhooks` adds rows inside the caller's transaction, so a call exists exactly when its cause committed.
`WebhookSender.send_due` sends what is due, one call at a time, and never holds the warehouse during a request:
it commits 'sending' (attempts + 1) first, then POSTs, then commits 'sent' (a 2xx answer), 'queued' again (no
connection, a time-out, or 408, 425, 429, 5xx: back off 1, 2, 4 ... minutes, at most an hour) or 'failed' (a
redirect, which is never followed; any other answer; MAX_ATTEMPTS temporary problems). A row still 'sending' at
the next start was cut off between those commits: `recover_after_restart` makes it 'uncertain' and it is never
sent again (at most once). After a temporary problem the other due calls to that host and port wait for the next
round untouched; calls to other hosts go on. A call whose subscription is gone, or whose host is no longer
allowed, fails without being sent.

Only hosts listed in CAPACITY_WEBHOOK_HOSTS are called, checked by `webhook_url_problem` when a subscription is
made and again before every request (the list may change in between). Plain http is allowed because the list is
explicit: the operator decides which receivers are trusted, and the signature protects the call's integrity (not
its confidentiality). Messages name a receiver as host:port only, never the path or query (they may carry a
token) and never the secret.

Every request is a POST of the stored JSON text, byte for byte (UTF-8), with the headers
    Content-Type: application/json; charset=utf-8
    User-Agent: capacity-dashboard-alerts/1
    X-Capacity-Delivery: the delivery id (the same on every attempt: a receiver can drop repeats)
    X-Capacity-Timestamp: the attempt's time in whole Unix seconds
    X-Capacity-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + raw body, keyed with the secret>
A receiver verifies a call by computing that HMAC itself over the timestamp header, a dot and the raw body as
received (before any JSON parsing), comparing with `hmac.compare_digest`, and refusing a timestamp more than 5
minutes old (a replayed call).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from urllib.parse import urljoin, urlsplit

import duckdb
import httpx

from queries import settings as app_settings
from queries.db import rows, run, scalar
from queries.errors import CapacityError
from queries.text import printable
from queries.warehouse import Warehouse

from .outbox import BATCH_SIZE, MAX_ATTEMPTS, SendSummary, backoff

log = logging.getLogger("capacity.ingest")

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
SHOWN = 200            # characters of an address or an answer kept in a message
ANSWER_READ = 4096     # bytes of an error answer read, at most
USER_AGENT = "capacity-dashboard-alerts/1"
RETRY_STATUSES = frozenset({408, 425, 429})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_USERINFO = re.compile(r"//[^/?#]*@")
_WHITESPACE = re.compile(r"\s+")

INSERT_WEBHOOK = """
INSERT INTO webhook_outbox (subscription_id, url, body, state, attempts, next_attempt_at, created_at)
VALUES (?, ?, ?, 'queued', 0, ?, ?)
RETURNING delivery_id"""
SELECT_DUE = """
SELECT delivery_id, subscription_id, url, body
FROM webhook_outbox
WHERE state = 'queued' AND next_attempt_at <= ?
ORDER BY created_at, delivery_id
LIMIT ?"""
CLAIM = """
UPDATE webhook_outbox SET state = 'sending', attempts = attempts + 1
WHERE delivery_id = ? AND state = 'queued'
RETURNING attempts"""
MARK_SENT = """
UPDATE webhook_outbox SET state = 'sent', sent_at = ?, last_status = ?, last_error = NULL
WHERE delivery_id = ? AND state = 'sending'"""
MARK_RETRY = """
UPDATE webhook_outbox SET state = 'queued', next_attempt_at = ?, last_status = ?, last_error = ?
WHERE delivery_id = ? AND state = 'sending'"""
MARK_FAILED = """
UPDATE webhook_outbox SET state = 'failed', last_status = ?, last_error = ?
WHERE delivery_id = ? AND state = 'sending'"""
REFUSE = """
UPDATE webhook_outbox SET state = 'failed', last_status = NULL, last_error = ?
WHERE delivery_id = ? AND state = 'queued'"""
MARK_UNCERTAIN = """
UPDATE webhook_outbox SET state = 'uncertain', last_error = ?
WHERE state = 'sending'
RETURNING delivery_id"""

SecretOf = Callable[[str], str | None]


@dataclass(frozen=True)
class OutgoingWebhook:
    """One call to queue; body: the exact JSON text (an object) to send."""

    subscription_id: str
    url: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """A queued call as the sender sees it."""

    delivery_id: int
    subscription_id: str
    url: str
    body: str


class WebhookRetryable(CapacityError):
    """A temporary problem (no connection, a time-out, 408, 425, 429 or 5xx): the call may be sent again."""

    def __init__(self, nl: str, en: str, status: int | None = None) -> None:
        super().__init__(nl, en)
        self.status = status


class WebhookRefused(CapacityError):
    """A final answer (a redirect, another 4xx, anything else not 2xx): trying again will not help."""

    def __init__(self, nl: str, en: str, status: int | None = None) -> None:
        super().__init__(nl, en)
        self.status = status


def allowed_hosts() -> frozenset[str]:
    """The host names webhooks may call (CAPACITY_WEBHOOK_HOSTS), lower-cased; empty: webhooks are off."""
    return frozenset(host.strip().lower() for host in app_settings.get("webhook_hosts").split(",") if host.strip())


def webhook_url_problem(url: str, hosts: frozenset[str] | None = None) -> CapacityError | None:
    """Why `url` may not be called as a webhook (hosts: default allowed_hosts()); None when it may."""
    return _url_problem(url, allowed_hosts() if hosts is None else hosts,
                        printable(_USERINFO.sub("//***@", url))[:SHOWN])


def _url_problem(url: str, hosts: frozenset[str], shown: str) -> CapacityError | None:
    """The one rule for a webhook address; messages name it as `shown`."""
    if len(url) > MAX_URL_LENGTH:
        return CapacityError(f"Een webhook-adres is hoogstens {MAX_URL_LENGTH} tekens lang, dit is {len(url)} "
                             f"tekens: '{shown}'.", f"A webhook address is at most {MAX_URL_LENGTH} characters "
                             f"long, this one is {len(url)}: '{shown}'.")
    if any(c.isspace() or not c.isprintable() for c in url):
        return CapacityError(f"Een webhook-adres mag geen spaties of stuurtekens bevatten: '{shown}'.",
                             f"A webhook address must not contain spaces or control characters: '{shown}'.")
    try:
        parts = urlsplit(url)
        parts.port   # noqa: B018 - raises ValueError for a port that is no number from 0 to 65535
    except ValueError:
        return CapacityError(f"Geen geldig webhook-adres: '{shown}'.", f"Not a valid webhook address: '{shown}'.")
    if parts.scheme not in SCHEMES:
        return CapacityError(f"Een webhook-adres begint met https:// of http://: '{shown}'.",
                             f"A webhook address starts with https:// or http://: '{shown}'.")
    if "@" in parts.netloc:
        return CapacityError(f"Een webhook-adres mag geen gebruikersnaam of wachtwoord (naam:wachtwoord@) bevatten; "
                             f"elke aanroep is ondertekend met het geheim van het abonnement: '{shown}'.",
                             "A webhook address must not hold a user name or password (name:password@); every call "
                             f"is signed with the subscription's secret: '{shown}'.")
    if not parts.hostname:
        return CapacityError(f"Een webhook-adres heeft een hostnaam nodig: '{shown}'.",
                             f"A webhook address needs a host name: '{shown}'.")
    if "#" in url:
        return CapacityError(f"Een webhook-adres mag geen #-deel hebben (dat wordt nooit verstuurd): '{shown}'.",
                             f"A webhook address must not have a #fragment (it is never sent): '{shown}'.")
    return _host_problem(parts.hostname, hosts, shown)


def _host_problem(host: str, hosts: frozenset[str], shown: str) -> CapacityError | None:
    if not hosts:
        return CapacityError(f"Webhooks staan uit: CAPACITY_WEBHOOK_HOSTS is leeg, dus geen host mag worden "
                             f"aangeroepen ('{shown}').", "Webhooks are off: CAPACITY_WEBHOOK_HOSTS is empty, so no "
                             f"host may be called ('{shown}').")
    if host in hosts:
        return None
    listed = printable(", ".join(sorted(hosts)))[:SHOWN]
    named = printable(host)[:SHOWN]
    return CapacityError(f"De host {named} staat niet in CAPACITY_WEBHOOK_HOSTS (toegestaan: {listed}): '{shown}'.",
                         f"The host {named} is not in CAPACITY_WEBHOOK_HOSTS (allowed: {listed}): '{shown}'.")


def enqueue_webhooks(con: duckdb.DuckDBPyConnection, hooks: list[OutgoingWebhook], now: datetime) -> list[int]:
    """Queue the calls inside the caller's transaction, due at once; their delivery ids, in order."""
    for hook in hooks:
        _check(hook)
    return [scalar(con, INSERT_WEBHOOK, [hook.subscription_id, hook.url, hook.body, now, now]) for hook in hooks]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Capacity-Signature of a call: 'sha256=' + hex HMAC-SHA256 of timestamp + '.' + body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    """POSTs the webhook outbox's due calls, signed with each subscription's secret."""

    def __init__(self, warehouse: Warehouse, secret_of: SecretOf, hosts: frozenset[str] | None = None,
                 timeout: float = 10.0) -> None:
        self.warehouse = warehouse
        self.secret_of = secret_of   # the subscription's secret, None when it is gone; raising ends the round
        self.hosts = hosts           # None: allowed_hosts() at each round
        self.timeout = timeout

    def recover_after_restart(self, now: datetime) -> int:
        """Make every call cut off while 'sending' 'uncertain' (never sent again); how many there were."""
        moment = now.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        error = (f"Het versturen werd onderbroken (herstart op {moment}); de aanroep is misschien wel, misschien niet "
                 "aangekomen en wordt niet opnieuw verstuurd (de ontvanger kan het nummer uit X-Capacity-Delivery "
                 f"in zijn log opzoeken). / Sending was cut off (restart at {moment}); the call may or may not have "
                 "arrived and is not sent again (the receiver can look the number of X-Capacity-Delivery up in "
                 "its log).")
        with self.warehouse.transaction() as con:
            recovered = rows(con, MARK_UNCERTAIN, [error])
        if recovered:
            log.warning("webhook outbox: %d call(s) uncertain after a restart: %s", len(recovered),
                        ", ".join(str(row[0]) for row in recovered))
        return len(recovered)

    def send_due(self, now: datetime, stopping: threading.Event | None = None) -> SendSummary:
        """Send the calls due at `now`, oldest first, at most BATCH_SIZE; stop early when `stopping`."""
        hosts = allowed_hosts() if self.hosts is None else self.hosts
        with self.warehouse.transaction() as con:
            due = [Delivery(*row) for row in rows(con, SELECT_DUE, [now, BATCH_SIZE])]
        summary = SendSummary()
        if not due:
            return summary
        held: set[str] = set()   # host:port with a temporary problem in this round
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            for delivery in due:
                if stopping is not None and stopping.is_set():
                    break
                where = _where(delivery.url)
                if where not in held and not self._send_one(client, hosts, delivery, now, summary):
                    held.add(where)
        return summary

    def _send_one(self, client: httpx.Client, hosts: frozenset[str], delivery: Delivery, now: datetime,
                  summary: SendSummary) -> bool:
        """Check, claim, POST and record one call; False after a temporary problem (hold its host)."""
        secret = self.secret_of(delivery.subscription_id)
        problem = _url_problem(delivery.url, hosts, _where(delivery.url))
        if secret is None or problem is not None:
            self._failed(REFUSE, [_both(problem or _gone(delivery)), delivery.delivery_id], delivery, summary)
            return True
        with self.warehouse.transaction() as con:
            claimed = rows(con, CLAIM, [delivery.delivery_id])
        if not claimed:
            return True   # no longer queued: another round took it
        (attempts,), = claimed
        try:
            status = _post(client, delivery, secret)
        except WebhookRefused as error:
            self._failed(MARK_FAILED, [error.status, _both(error), delivery.delivery_id], delivery, summary)
            return True
        except WebhookRetryable as error:
            if attempts >= MAX_ATTEMPTS:
                self._failed(MARK_FAILED, [error.status, _gave_up(error, attempts), delivery.delivery_id], delivery,
                             summary)
            else:
                self._finish(MARK_RETRY, [now + backoff(attempts), error.status, _both(error), delivery.delivery_id])
                summary.retried += 1
            return False
        self._finish(MARK_SENT, [now, status, delivery.delivery_id])
        summary.sent += 1
        return True

    def _failed(self, statement: str, params: list, delivery: Delivery, summary: SendSummary) -> None:
        self._finish(statement, params)
        summary.failed += 1
        log.warning("webhook outbox: delivery %d to %s failed", delivery.delivery_id, _where(delivery.url))

    def _finish(self, statement: str, params: list) -> None:
        with self.warehouse.transaction() as con:
            run(con, statement, params)


def _post(client: httpx.Client, delivery: Delivery, secret: str) -> int:
    """POST the stored body, signed; the 2xx status, else WebhookRetryable or WebhookRefused."""
    body = delivery.body.encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Capacity-Delivery": str(delivery.delivery_id), "X-Capacity-Timestamp": timestamp,
               "X-Capacity-Signature": signature(secret, timestamp, body)}
    where = _where(delivery.url)
    try:
        with client.stream("POST", delivery.url, content=body, headers=headers) as response:
            status = response.status_code
            if 200 <= status < 300:
                return status
            if 300 <= status < 400:
                raise _redirected(where, status, delivery.url, response.headers.get("location", ""))
            answer = _answer_text(response, delivery.url)
    except httpx.InvalidURL as error:
        raise WebhookRefused(f"Geen geldig webhook-adres ({where}): {_blotted(str(error), delivery.url)}",
                             f"Not a valid webhook address ({where}): {_blotted(str(error), delivery.url)}") from error
    except httpx.TransportError as error:
        what = _blotted(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, delivery.url)
        raise WebhookRetryable(f"De webhook-ontvanger {where} is niet bereikbaar of antwoordde niet op tijd ({what}); "
                               "de aanroep wordt later opnieuw gedaan.",
                               f"The webhook receiver {where} cannot be reached or did not answer in time ({what}); "
                               "the call will be sent again later.") from error
    if status in RETRY_STATUSES or 500 <= status < 600:
        raise WebhookRetryable(f"De webhook-ontvanger {where} antwoordde {status} (tijdelijk): {answer}",
                               f"The webhook receiver {where} answered {status} (temporary): {answer}", status)
    raise WebhookRefused(f"De webhook-ontvanger {where} weigerde de aanroep met {status}: {answer}",
                         f"The webhook receiver {where} refused the call with {status}: {answer}", status)


def _redirected(where: str, status: int, url: str, location: str) -> WebhookRefused:
    """The refusal of a redirect, naming where it leads as host:port (its path may carry the token again)."""
    try:
        target = _where(urljoin(url, location))
    except ValueError:   # a Location that is no address at all
        target = "?"
    return WebhookRefused(f"De webhook-ontvanger {where} stuurt door ({status}) naar {target}; een doorverwijzing "
                          "wordt niet gevolgd: geef het uiteindelijke adres op.",
                          f"The webhook receiver {where} redirects ({status}) to {target}; redirect not followed; "
                          "give the final address.", status)


def _answer_text(response: httpx.Response, url: str) -> str:
    """The start of an error answer, as messages show it (see _blotted)."""
    read = b""
    try:
        for chunk in response.iter_bytes():
            read += chunk
            if len(read) >= ANSWER_READ:
                break
    except httpx.HTTPError:   # the status says enough; the answer is a courtesy
        pass
    return _blotted(read[:ANSWER_READ].decode("utf-8", "replace"), url)


def _blotted(text: str, url: str) -> str:
    """Text from outside on one line, shortened, with the call's path and query (a token?) blotted out."""
    text = _WHITESPACE.sub(" ", text).strip()
    parts = urlsplit(url)
    for secretive in (parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query):
        if len(secretive) > 1:
            text = text.replace(secretive, "…")
    return printable(text)[:SHOWN]


def _where(url: str) -> str:
    """host:port of a webhook address as messages name it, never its path or query (they may carry a token)."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return "?"
    host = printable(parts.hostname or "?")[:SHOWN]
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _gone(delivery: Delivery) -> CapacityError:
    shown = printable(delivery.subscription_id)[:SHOWN]
    return CapacityError(f"Het abonnement {shown} bestaat niet meer; de aanroep is niet gedaan.",
                         f"The subscription {shown} no longer exists; the call was not sent.")


def _check(hook: OutgoingWebhook) -> None:
    """Refuse a call that could never be sent: no subscription, a body that is not one JSON object."""
    if not hook.subscription_id.strip():
        raise CapacityError("Een webhook-aanroep in de outbox hoort bij een abonnement.",
                            "A webhook call in the outbox belongs to a subscription.")
    try:
        hook.body.encode("utf-8")
        parsed = json.loads(hook.body, parse_constant=_not_json)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        shown = printable(hook.body)[:SHOWN]
        raise CapacityError(f"De inhoud van een webhook-aanroep moet één JSON-object zijn: '{shown}'.",
                            f"The body of a webhook call must be one JSON object: '{shown}'.")


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _both(error: CapacityError) -> str:
    return f"{error.nl} / {error.en}"


def _gave_up(error: WebhookRetryable, attempts: int) -> str:
    return (f"Opgegeven na {attempts} pogingen; de laatste: {error.nl} / "
            f"Given up after {attempts} attempts; the last: {error.en}")
