"""Login sessions and failed logins, kept on the server in one SQLite file shared by every web worker.

The session cookie holds only a random session id; the server keeps its SHA-256, who it belongs to and
until when. So logging out ends the session everywhere at once (a copied cookie is worth nothing after
it), and so do removing a local user or changing their password (the session remembers a fingerprint of
the password hash it was opened with). Failed logins are counted here too, per address and per address
and name, for every worker together.
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
CREATE TABLE IF NOT EXISTS login_session (
    id_hash    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    via        TEXT NOT NULL,
    role       TEXT,
    credential TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_session_name ON login_session (name, via);
CREATE TABLE IF NOT EXISTS login_failure (
    address TEXT NOT NULL,
    name    TEXT NOT NULL,
    at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failure_address ON login_failure (address, at);
CREATE INDEX IF NOT EXISTS login_failure_name ON login_failure (name, at);
"""
INSERT_SESSION = """
INSERT INTO login_session (id_hash, name, via, role, credential, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
FIND_SESSION = """
SELECT name, via, role, credential, created_at FROM login_session WHERE id_hash = ? AND expires_at > ?
"""
END_SESSION = "DELETE FROM login_session WHERE id_hash = ?"
END_SESSIONS_OF = "DELETE FROM login_session WHERE name = ? AND via = ?"
FORGET_EXPIRED = "DELETE FROM login_session WHERE expires_at <= ?"
COUNT_SESSIONS_OF = "SELECT count(*) FROM login_session WHERE name = ? AND via = ? AND expires_at > ?"
INSERT_FAILURE = "INSERT INTO login_failure (address, name, at) VALUES (?, ?, ?)"
COUNT_FAILURES = """
SELECT count(*) FILTER (WHERE address = ?),
       count(*) FILTER (WHERE address = ? AND name = ?),
       count(*) FILTER (WHERE name = ?)
FROM login_failure WHERE at > ?
"""
FORGET_OLD_FAILURES = "DELETE FROM login_failure WHERE at <= ?"


@dataclass(frozen=True)
class StoredSession:
    name: str
    via: str               # local | oidc
    role: str | None       # the role given at login (OpenID Connect); local users' roles are read anew
    credential: str | None  # fingerprint of a local user's password hash at login
    created_at: float


@dataclass(frozen=True)
class Failures:
    """Failed logins within the window: from this address, from it for this name, for this name anywhere."""

    by_address: int
    by_address_and_name: int
    by_name: int


def credential_fingerprint(password_hash: str) -> str:
    """What a session remembers of a local user's password hash: a new password ends the session."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()


def _id_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """The sessions file of one data folder (created on first use)."""

    def __init__(self, path: Path, lifetime_seconds: float) -> None:
        self.path = path
        self.lifetime = lifetime_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def open(self, name: str, via: str, role: str | None, credential: str | None,
             lifetime_seconds: float | None = None) -> str:
        """A new session (of the store's lifetime unless given); returns the token for the cookie (only its
        hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        lifetime = self.lifetime if lifetime_seconds is None else lifetime_seconds
        with closing(self._connect()) as db:
            db.execute(FORGET_EXPIRED, (now,))
            db.execute(INSERT_SESSION, (_id_hash(token), name, via, role, credential, now, now + lifetime))
        return token

    def find(self, token: object) -> StoredSession | None:
        """The live session of this token, or None (unknown, ended or expired)."""
        if not isinstance(token, str) or not token:
            return None
        with closing(self._connect()) as db:
            row = db.execute(FIND_SESSION, (_id_hash(token), time.time())).fetchone()
        return StoredSession(*row) if row else None

    def end(self, token: object) -> None:
        if isinstance(token, str) and token:
            with closing(self._connect()) as db:
                db.execute(END_SESSION, (_id_hash(token),))

    def end_all_of(self, name: str, via: str = "local") -> None:
        """End every session of a user (removed, or given a new password)."""
        with closing(self._connect()) as db:
            db.execute(END_SESSIONS_OF, (name, via))

    def live_sessions_of(self, name: str, via: str = "local") -> int:
        with closing(self._connect()) as db:
            return db.execute(COUNT_SESSIONS_OF, (name, via, time.time())).fetchone()[0]

    def count_failure(self, address: str, name: str) -> None:
        with closing(self._connect()) as db:
            db.execute(INSERT_FAILURE, (address, name, time.time()))

    def failures(self, address: str, name: str, window_seconds: float) -> Failures:
        since = time.time() - window_seconds
        with closing(self._connect()) as db:
            db.execute(FORGET_OLD_FAILURES, (since,))
            row = db.execute(COUNT_FAILURES, (address, address, name, name, since)).fetchone()
        return Failures(*row)
