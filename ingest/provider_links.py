"""Personal update links of providers, kept in one SQLite file shared by the CLI, the web workers and the
ingester (data/links/provider_links.sqlite3).

A link is a long random token; only its SHA-256 is stored. An invite (`capacity providers invite`) is
valid for a number of days and can be revoked; a reminder e-mail carries a fresh link of its own that
belongs to the invite (a child: it ends when the invite is revoked or expires, and never outlives it).
The web exchanges a token for a short session once; the session checks that the link is still live on
every request. Failed exchanges per address and submissions per link are counted here for rate limits.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS provider_link (
    link_id      TEXT PRIMARY KEY,
    parent_id    TEXT REFERENCES provider_link (link_id),
    provider_id  TEXT NOT NULL,
    email        TEXT,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    revoked_at   REAL,
    last_used_at REAL
);
CREATE INDEX IF NOT EXISTS provider_link_provider ON provider_link (provider_id);
CREATE INDEX IF NOT EXISTS provider_link_parent ON provider_link (parent_id);
CREATE TABLE IF NOT EXISTS link_failure (address TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS link_failure_address ON link_failure (address, at);
CREATE TABLE IF NOT EXISTS link_submission (link_id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS link_submission_link ON link_submission (link_id, at);
"""
INSERT_LINK = """
INSERT INTO provider_link (link_id, parent_id, provider_id, email, token_hash, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
# A link is live while it and its invite (for a reminder link) are neither expired nor revoked.
LINK_COLUMNS = """
l.link_id, coalesce(l.parent_id, l.link_id), l.provider_id, coalesce(l.email, p.email), l.created_at,
min(l.expires_at, coalesce(p.expires_at, l.expires_at)), coalesce(l.revoked_at, p.revoked_at)"""
FIND_BY_TOKEN = f"""
SELECT {LINK_COLUMNS} FROM provider_link AS l LEFT JOIN provider_link AS p ON p.link_id = l.parent_id
WHERE l.token_hash = ?"""
FIND_BY_ID = f"""
SELECT {LINK_COLUMNS} FROM provider_link AS l LEFT JOIN provider_link AS p ON p.link_id = l.parent_id
WHERE l.link_id = ?"""
MARK_USED = "UPDATE provider_link SET last_used_at = ? WHERE link_id = ?"
REVOKE = "UPDATE provider_link SET revoked_at = ? WHERE link_id = ? AND parent_id IS NULL AND revoked_at IS NULL"
REVOKE_PROVIDER = "UPDATE provider_link SET revoked_at = ? WHERE provider_id = ? AND parent_id IS NULL AND revoked_at IS NULL"
INVITES = """
SELECT i.link_id, i.provider_id, i.email, i.created_at, i.expires_at, i.revoked_at,
       max(coalesce(i.last_used_at, 0), coalesce(max(c.last_used_at), 0)) AS last_used_at
FROM provider_link AS i LEFT JOIN provider_link AS c ON c.parent_id = i.link_id
WHERE i.parent_id IS NULL AND (? IS NULL OR i.provider_id = ?)
GROUP BY i.link_id ORDER BY i.provider_id, i.created_at"""
INSERT_FAILURE = "INSERT INTO link_failure (address, at) VALUES (?, ?)"
COUNT_FAILURES = "SELECT count(*) FROM link_failure WHERE address = ? AND at > ?"
FORGET_FAILURES = "DELETE FROM link_failure WHERE at <= ?"
INSERT_SUBMISSION = "INSERT INTO link_submission (link_id, at) VALUES (?, ?)"
COUNT_SUBMISSIONS = "SELECT count(*) FROM link_submission WHERE link_id = ? AND at > ?"
FORGET_SUBMISSIONS = "DELETE FROM link_submission WHERE at <= ?"
DAY = 86400.0
REMINDER_LINK_DAYS = 14
KEEP_COUNTS_SECONDS = DAY


@dataclass(frozen=True)
class Link:
    """A link as stored: `invite_id` is its own id for an invite, the invite's for a reminder link."""

    link_id: str
    invite_id: str
    provider_id: str
    email: str | None
    created_at: float
    expires_at: float
    revoked_at: float | None

    def live_at(self, moment: float) -> bool:
        return moment < self.expires_at and (self.revoked_at is None or moment < self.revoked_at)


@dataclass(frozen=True)
class IssuedLink:
    """A new link: the token is known only here, once; the store keeps its hash."""

    link_id: str
    token: str
    provider_id: str
    email: str | None
    expires_at: float


@dataclass(frozen=True)
class Invite:
    """An invite with the last use of it or of any of its reminder links (None: never used)."""

    link_id: str
    provider_id: str
    email: str | None
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None

    def state(self, now: float) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if now < self.expires_at else "expired"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LinkStore:
    """The links file of one data folder (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def issue(self, provider_id: str, email: str | None, days: int, now: float | None = None) -> IssuedLink:
        """A new invite for `provider_id`, valid for `days` days."""
        moment = time.time() if now is None else now
        return self._insert(None, provider_id, email, moment, moment + days * DAY)

    def issue_reminder_link(self, invite_id: str, now: float | None = None) -> IssuedLink | None:
        """A fresh link for one reminder e-mail of a live invite (valid REMINDER_LINK_DAYS, never longer than the
        invite); None when the invite is gone, expired or revoked."""
        moment = time.time() if now is None else now
        invite = self.find(invite_id)
        if invite is None or invite.invite_id != invite_id or not invite.live_at(moment):
            return None
        expires = min(invite.expires_at, moment + REMINDER_LINK_DAYS * DAY)
        return self._insert(invite_id, invite.provider_id, None, moment, expires)

    def _insert(self, parent_id: str | None, provider_id: str, email: str | None, now: float,
                expires_at: float) -> IssuedLink:
        token = secrets.token_urlsafe(32)
        link_id = "L" + secrets.token_hex(5)
        with closing(self._connect()) as db:
            db.execute(INSERT_LINK, (link_id, parent_id, provider_id, email, token_hash(token), now, expires_at))
        return IssuedLink(link_id, token, provider_id, email, expires_at)

    def redeem(self, token: object, now: float | None = None) -> Link | None:
        """The live link of this token (its use is recorded), or None: unknown, expired or revoked."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        moment = time.time() if now is None else now
        with closing(self._connect()) as db:
            row = db.execute(FIND_BY_TOKEN, (token_hash(token),)).fetchone()
            link = Link(*row) if row else None
            if link is None or not link.live_at(moment):
                return None
            db.execute(MARK_USED, (moment, link.link_id))
        return link

    def find(self, link_id: object) -> Link | None:
        """The link with this id (live or not), or None."""
        if not isinstance(link_id, str):
            return None
        with closing(self._connect()) as db:
            row = db.execute(FIND_BY_ID, (link_id,)).fetchone()
        return Link(*row) if row else None

    def live(self, link_id: object, now: float | None = None) -> Link | None:
        """The link while it is live, else None."""
        link = self.find(link_id)
        return link if link is not None and link.live_at(time.time() if now is None else now) else None

    def revoke(self, link_id: str, now: float | None = None) -> bool:
        """Revoke an invite (and with it its reminder links); whether it was live."""
        with closing(self._connect()) as db:
            return db.execute(REVOKE, (time.time() if now is None else now, link_id)).rowcount == 1

    def revoke_provider(self, provider_id: str, now: float | None = None) -> int:
        """Revoke every invite of a provider; how many were live."""
        with closing(self._connect()) as db:
            return db.execute(REVOKE_PROVIDER, (time.time() if now is None else now, provider_id)).rowcount

    def invites(self, provider_id: str | None = None) -> list[Invite]:
        """Invites (of one provider, or all), with their last use."""
        with closing(self._connect()) as db:
            found = db.execute(INVITES, (provider_id, provider_id)).fetchall()
        return [Invite(*row[:6], row[6] or None) for row in found]

    def count_failure(self, address: str) -> None:
        with closing(self._connect()) as db:
            db.execute(INSERT_FAILURE, (address, time.time()))

    def failures(self, address: str, window_seconds: float) -> int:
        """Failed link exchanges from `address` within the window."""
        now = time.time()
        with closing(self._connect()) as db:
            db.execute(FORGET_FAILURES, (now - KEEP_COUNTS_SECONDS,))
            return db.execute(COUNT_FAILURES, (address, now - window_seconds)).fetchone()[0]

    def count_submission(self, link_id: str) -> None:
        """Count a submission through the link (for its limit); it is a use of the link too."""
        now = time.time()
        with closing(self._connect()) as db:
            db.execute(INSERT_SUBMISSION, (link_id, now))
            db.execute(MARK_USED, (now, link_id))

    def submissions(self, link_id: str, window_seconds: float) -> int:
        """Submissions through `link_id` within the window."""
        now = time.time()
        with closing(self._connect()) as db:
            db.execute(FORGET_SUBMISSIONS, (now - KEEP_COUNTS_SECONDS,))
            return db.execute(COUNT_SUBMISSIONS, (link_id, now - window_seconds)).fetchone()[0]
