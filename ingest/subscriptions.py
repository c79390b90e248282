"""Alert subscriptions, kept in one SQLite file shared by the web workers, the CLI and the ingester
(data/alerts/subscriptions.sqlite3).

A subscription says what to watch (its kind and scope), for whom (its audience: the role whose view it gets)
and where to tell it (e-mail or webhook). Every subscription, whether made on the page or with `capacity alerts
subscribe`, passes `check_request`: the one place its rules live. A webhook's signing secret and the key of
the unsubscribe link stay in this file; they never enter the warehouse or its published copies.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import duckdb

from queries.db import rows
from queries.errors import CapacityError
from queries.reference import region_levels, reported_combinations
from queries.suppression import public_level
from queries.text import printable

from .mailer import address_domain
from .webhooks import allowed_hosts, webhook_url_problem

KINDS = ("status", "threshold", "signals", "source", "digest")
# The least role a kind of subscription needs: signals and source health are not public information.
KIND_ROLE = {"status": "public", "threshold": "public", "digest": "public", "signals": "professional",
             "source": "steward"}
AUDIENCES = ("public", "professional", "steward")
METRICS = ("norm_gap", "median_wait_intake_days", "median_wait_treatment_days")
CHANNELS = ("email", "webhook")
LANGS = ("nl", "en")
DEFAULT_FAILURES = 3
MAX_DIGEST_REGIONS = 12
MAX_THRESHOLD = 1_000_000
MAX_PER_USER = 50          # live subscriptions of one logged-in user (the CLI, a steward's tool, has no cap)
ALL_SOURCES = "*"
SHOWN = 120

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscription (
    subscription_id TEXT PRIMARY KEY,
    owner           TEXT NOT NULL,
    owner_via       TEXT NOT NULL,
    audience        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    lang            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    secret          TEXT,
    unsubscribe_key TEXT NOT NULL,
    created_at      REAL NOT NULL,
    ended_at        REAL
);
CREATE INDEX IF NOT EXISTS subscription_owner ON subscription (owner);
"""
INSERT = """
INSERT INTO subscription (subscription_id, owner, owner_via, audience, kind, channel, address, lang, scope, secret,
                          unsubscribe_key, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
COLUMNS = ("subscription_id, owner, owner_via, audience, kind, channel, address, lang, scope, secret, "
           "unsubscribe_key, created_at")
ACTIVE = f"SELECT {COLUMNS} FROM subscription WHERE ended_at IS NULL ORDER BY created_at, subscription_id"
OF_OWNER = (f"SELECT {COLUMNS} FROM subscription WHERE ended_at IS NULL AND owner = ? AND owner_via = ? "
            "ORDER BY created_at, subscription_id")
BY_ID = f"SELECT {COLUMNS} FROM subscription WHERE subscription_id = ? AND ended_at IS NULL"
END = "UPDATE subscription SET ended_at = ? WHERE subscription_id = ? AND ended_at IS NULL"
CATALOGUE_REGIONS = "SELECT level, region_code, region_name FROM region"
CATALOGUE_SOURCES = "SELECT source_id FROM source"
END_OF_OWNER = """
UPDATE subscription SET ended_at = ? WHERE subscription_id = ? AND owner = ? AND owner_via = ? AND ended_at IS NULL"""


class SubscriptionError(CapacityError):
    """A subscription that cannot be made as asked; the message names the field and the value."""


@dataclass(frozen=True)
class Scope:
    """What a subscription watches. status/threshold: one region (care type and target group None: all);
    threshold: a metric above `threshold`; signals: a region's 'nothing found' signals per day above
    `threshold`; source: a source (or every one) failing `failures` runs in a row or turning stale; digest:
    `regions` as (level, code)."""

    region_level: str | None = None
    region_code: str | None = None
    care_type: str | None = None
    target_group: str | None = None
    metric: str | None = None
    threshold: float | str | None = None     # text as typed until check_request makes it a number
    source_id: str | None = None
    failures: int | str | None = None
    regions: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, ())}
        if self.regions:
            data["regions"] = [list(pair) for pair in self.regions]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Scope":
        data = json.loads(text)
        data["regions"] = tuple(tuple(pair) for pair in data.get("regions", ()))
        return cls(**data)


@dataclass(frozen=True)
class SubscriptionRequest:
    """A subscription as asked for, before `check_request`."""

    kind: str
    channel: str
    address: str
    lang: str
    audience: str
    scope: Scope


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    owner: str
    owner_via: str          # local | oidc | cli
    audience: str
    kind: str
    channel: str
    address: str
    lang: str
    scope: Scope
    created_at: float
    secret: str | None = field(default=None, repr=False)
    unsubscribe_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Catalogue:
    """What exists to subscribe to, read from the published copy."""

    regions: dict[tuple[str, str], str]           # (level, code) -> name
    combinations: frozenset[tuple[str, str]]      # reported (care type, target group)
    sources: frozenset[str]
    public_level: str


def catalogue(cur: duckdb.DuckDBPyConnection) -> Catalogue:
    """What exists to subscribe to in a published copy."""
    regions = {(level, code): name for level, code, name in rows(cur, CATALOGUE_REGIONS)}
    return Catalogue(regions, frozenset(reported_combinations(cur)),
                     frozenset(source for (source,) in rows(cur, CATALOGUE_SOURCES)),
                     public_level([level.level for level in region_levels(cur)]))


def check_request(request: SubscriptionRequest, catalogue: Catalogue) -> SubscriptionRequest:
    """The request with its values tidied, or SubscriptionError naming what is wrong (the one rule set)."""
    kind, audience = request.kind, request.audience
    if kind not in KINDS:
        raise _bad("soort", "kind", kind, f"kies uit {', '.join(KINDS)}", f"choose from {', '.join(KINDS)}")
    if audience not in AUDIENCES:
        raise _bad("doelgroep", "audience", audience, f"kies uit {', '.join(AUDIENCES)}",
                   f"choose from {', '.join(AUDIENCES)}")
    if AUDIENCES.index(audience) < AUDIENCES.index(KIND_ROLE[kind]):
        raise SubscriptionError(f"Een abonnement van de soort '{kind}' vraagt minstens de rol {KIND_ROLE[kind]}.",
                                f"A subscription of kind '{kind}' needs at least the role {KIND_ROLE[kind]}.")
    if request.lang not in LANGS:
        raise _bad("taal", "language", request.lang, "kies nl of en", "choose nl or en")
    address = _checked_address(request.channel, request.address.strip())
    scope = _checked_scope(kind, audience, request.scope, catalogue)
    return replace(request, address=address, scope=scope)


def _checked_address(channel: str, address: str) -> str:
    if channel not in CHANNELS:
        raise _bad("kanaal", "channel", channel, "kies email of webhook", "choose email or webhook")
    if channel == "webhook":
        problem = webhook_url_problem(address, allowed_hosts())
        if problem is not None:
            raise SubscriptionError(problem.nl, problem.en)
        return address
    if (not address_domain(address) or any(c in address for c in "\r\n,;<> ") or len(address) > 254):
        raise _bad("e-mailadres", "e-mail address", address, "één adres zoals naam@example.nl",
                   "one address such as name@example.nl")
    return address


def _checked_scope(kind: str, audience: str, scope: Scope, catalogue: Catalogue) -> Scope:
    if kind == "source":
        source = (scope.source_id or "").strip() or ALL_SOURCES
        if source != ALL_SOURCES and source not in catalogue.sources:
            raise _bad("bron", "source", source, "onbekende bron", "unknown source")
        return Scope(source_id=source, failures=_checked_failures(scope.failures))
    if kind == "digest":
        regions = tuple(dict.fromkeys(scope.regions))
        if not 1 <= len(regions) <= MAX_DIGEST_REGIONS:
            raise SubscriptionError(f"Kies 1 tot {MAX_DIGEST_REGIONS} regio's voor het weekoverzicht.",
                                    f"Choose 1 to {MAX_DIGEST_REGIONS} regions for the weekly digest.")
        for level, code in regions:
            _checked_region(level, code, audience, catalogue)
        return Scope(regions=regions)
    if len(scope.regions) > 1:
        raise SubscriptionError("Kies één regio voor deze soort attendering (meer regio's kan bij het weekoverzicht).",
                                "Choose one region for this kind of alert (several regions work for the digest).")
    level, code = _checked_region(scope.region_level or "", scope.region_code or "", audience, catalogue)
    if kind == "signals":
        return Scope(region_level=level, region_code=code, threshold=_checked_threshold(scope.threshold, True))
    care_type, target_group = scope.care_type or None, scope.target_group or None
    if care_type is not None and care_type not in {c for c, _ in catalogue.combinations}:
        raise _bad("zorgsoort", "care type", care_type, "onbekende zorgsoort", "unknown care type")
    if target_group is not None and target_group not in {g for _, g in catalogue.combinations}:
        raise _bad("doelgroep", "target group", target_group, "onbekende doelgroep", "unknown target group")
    if care_type and target_group and (care_type, target_group) not in catalogue.combinations:
        raise SubscriptionError(f"De combinatie {care_type} × {target_group} wordt niet gerapporteerd.",
                                f"The combination {care_type} × {target_group} is not reported.")
    if kind == "status":
        return Scope(region_level=level, region_code=code, care_type=care_type, target_group=target_group)
    if scope.metric not in METRICS:
        raise _bad("maat", "metric", scope.metric, f"kies uit {', '.join(METRICS)}", f"choose from {', '.join(METRICS)}")
    return Scope(region_level=level, region_code=code, care_type=care_type, target_group=target_group,
                 metric=scope.metric, threshold=_checked_threshold(scope.threshold, False))


def _checked_region(level: str, code: str, audience: str, catalogue: Catalogue) -> tuple[str, str]:
    if (level, code) not in catalogue.regions:
        raise _bad("regio", "region", f"{level}/{code}", "onbekende regio op dit niveau",
                   "unknown region at this level")
    if audience == "public" and level != catalogue.public_level:
        raise SubscriptionError(
            f"De openbare weergave toont alleen het niveau {catalogue.public_level}, niet {printable(level)}.",
            f"The public view shows the level {catalogue.public_level} only, not {printable(level)}.")
    return level, code


def _checked_threshold(value: float | str | None, whole: bool) -> float:
    """A threshold as a number from 0 to MAX_THRESHOLD (a whole one for counts); text may use a decimal comma."""
    number = _parsed(value)
    if number is None or not 0 <= number <= MAX_THRESHOLD or (whole and number != int(number)):
        what_nl = "een geheel getal" if whole else "een getal"
        what_en = "a whole number" if whole else "a number"
        raise _bad("drempel", "threshold", "" if value is None else value, f"{what_nl} van 0 tot {MAX_THRESHOLD}",
                   f"{what_en} from 0 to {MAX_THRESHOLD}")
    return number


def _checked_failures(value: int | str | None) -> int:
    number = DEFAULT_FAILURES if value in (None, "") else _parsed(value)
    if number is None or number != int(number) or not 1 <= number <= 100:
        raise _bad("aantal mislukte runs", "failed runs", value, "een geheel getal van 1 tot 100",
                   "a whole number from 1 to 100")
    return int(number)


def _parsed(value: float | str | None) -> float | None:
    """A finite number from a number or text ('2,5' and '2.5'); None when it is neither."""
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _bad(field_nl: str, field_en: str, value: object, why_nl: str, why_en: str) -> SubscriptionError:
    shown = printable(str(value))[:SHOWN]
    return SubscriptionError(f"Ongeldige {field_nl} '{shown}': {why_nl}.", f"Invalid {field_en} '{shown}': {why_en}.")


class SubscriptionStore:
    """The subscriptions file; every call opens its own connection (web workers, CLI and ingester share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10.0)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def add(self, request: SubscriptionRequest, owner: str, owner_via: str) -> Subscription:
        """Store a checked request; the webhook secret is made here and shown to the subscriber once. A user
        with MAX_PER_USER live subscriptions must end one first."""
        if owner_via != "cli" and len(self.of_owner(owner, owner_via)) >= MAX_PER_USER:
            raise SubscriptionError(f"U hebt al {MAX_PER_USER} lopende abonnementen; stop er eerst een.",
                                    f"You already have {MAX_PER_USER} live subscriptions; stop one first.")
        subscription = Subscription(
            subscription_id=secrets.token_hex(8), owner=owner, owner_via=owner_via, audience=request.audience,
            kind=request.kind, channel=request.channel, address=request.address, lang=request.lang,
            scope=request.scope, created_at=time.time(),
            secret=secrets.token_urlsafe(32) if request.channel == "webhook" else None,
            unsubscribe_key=secrets.token_urlsafe(32))
        with closing(self._connect()) as con, con:
            con.execute(INSERT, [subscription.subscription_id, owner, owner_via, subscription.audience,
                                 subscription.kind, subscription.channel, subscription.address, subscription.lang,
                                 subscription.scope.to_json(), subscription.secret, subscription.unsubscribe_key,
                                 subscription.created_at])
        return subscription

    def active(self) -> list[Subscription]:
        return self._select(ACTIVE, [])

    def of_owner(self, owner: str, owner_via: str) -> list[Subscription]:
        return self._select(OF_OWNER, [owner, owner_via])

    def get(self, subscription_id: str) -> Subscription | None:
        found = self._select(BY_ID, [subscription_id])
        return found[0] if found else None

    def secret_of(self, subscription_id: str) -> str | None:
        """The signing secret of a live webhook subscription (None once it ended)."""
        found = self.get(subscription_id)
        return found.secret if found else None

    def end(self, subscription_id: str, owner: tuple[str, str] | None = None) -> bool:
        """End a subscription (only the owner's own when `owner`, (name, via), is given); whether one ended."""
        with closing(self._connect()) as con, con:
            if owner is None:
                return con.execute(END, [time.time(), subscription_id]).rowcount > 0
            return con.execute(END_OF_OWNER, [time.time(), subscription_id, *owner]).rowcount > 0

    def _select(self, statement: str, params: list) -> list[Subscription]:
        with closing(self._connect()) as con:
            found = con.execute(statement, params).fetchall()
        return [Subscription(*row[:8], scope=Scope.from_json(row[8]), secret=row[9], unsubscribe_key=row[10],
                             created_at=row[11]) for row in found]


def effective(subscriptions: list[Subscription], local_role: Callable[[str], str | None]) -> list[Subscription]:
    """The subscriptions their owners may still receive: a local user's subscription is left out while the
    user is gone or has a lower role than the one it was made with (deny by default; it works again when the
    role comes back). OpenID Connect and CLI subscriptions keep the audience they were made with."""
    kept = []
    for subscription in subscriptions:
        if subscription.owner_via == "local":
            role = local_role(subscription.owner)
            if role not in AUDIENCES or AUDIENCES.index(role) < AUDIENCES.index(subscription.audience):
                continue
        kept.append(subscription)
    return kept


def unsubscribe_signature(subscription: Subscription) -> str:
    """The signature of a subscription's unsubscribe link (HMAC-SHA256 with its own key)."""
    return hmac.new(subscription.unsubscribe_key.encode(), b"unsubscribe:" + subscription.subscription_id.encode(),
                    hashlib.sha256).hexdigest()


def unsubscribe_path(subscription: Subscription) -> str:
    """The path of the signed link that ends the subscription without logging in."""
    return f"/attenderingen/afmelden?id={subscription.subscription_id}&sig={unsubscribe_signature(subscription)}"


def verified(store: SubscriptionStore, subscription_id: object, signature: object) -> Subscription | None:
    """The live subscription an unsubscribe link names, when its signature is right; else None."""
    if not isinstance(subscription_id, str) or not isinstance(signature, str) or len(subscription_id) != 16:
        return None
    found = store.get(subscription_id)
    if found is None or not hmac.compare_digest(unsubscribe_signature(found), signature):
        return None
    return found
