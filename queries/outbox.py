"""The mail outbox as data stewards see it: messages per state and the latest problems, never a body."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import scalar, sql_file

PROBLEMS_SHOWN = 20
HAS_OUTBOX = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'mail_outbox'"


@dataclass(frozen=True)
class OutboxProblem:
    """A failed, uncertain or retrying message; last_error holds the Dutch and the English text ("nl / en")."""

    message_id: int
    kind: str
    recipient: str
    subject: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    smtp_message_id: str | None

    @property
    def retrying(self) -> bool:
        return self.state == "queued"


@dataclass(frozen=True)
class OutboxSummary:
    """Messages per state (retrying: queued after a failed attempt) and the latest problems, newest first."""

    queued: int
    retrying: int
    sending: int
    sent: int
    failed: int
    uncertain: int
    oldest_queued_at: datetime | None
    problems: list[OutboxProblem]


def outbox_summary(cur: duckdb.DuckDBPyConnection, limit: int = PROBLEMS_SHOWN) -> OutboxSummary:
    """The outbox summary; all zero in a published copy made before the outbox existed."""
    if not scalar(cur, HAS_OUTBOX):
        return OutboxSummary(0, 0, 0, 0, 0, 0, None, [])
    result = cur.execute(sql_file("outbox_summary"), {"limit": limit})
    names = [d[0] for d in result.description]
    found = dict(zip(names, result.fetchone()))
    found["problems"] = [OutboxProblem(**problem) for problem in found["problems"]]
    return OutboxSummary(**found)
