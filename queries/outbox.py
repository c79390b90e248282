"""The mail outbox as data stewards see it: messages per state and the latest problems, never a body."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import scalar, sql_file

PROBLEMS_SHOWN = 20
HAS_TABLE = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"


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
    """Messages (or webhook calls) per state (retrying: queued after a failed attempt) and the latest problems,
    newest first."""

    queued: int
    retrying: int
    sending: int
    sent: int
    failed: int
    uncertain: int
    oldest_queued_at: datetime | None
    problems: list


def outbox_summary(cur: duckdb.DuckDBPyConnection, limit: int = PROBLEMS_SHOWN) -> OutboxSummary:
    """The mail outbox summary; all zero in a published copy made before the outbox existed."""
    return summary_of(cur, "mail_outbox", "outbox_summary", OutboxProblem, limit)


def summary_of(cur: duckdb.DuckDBPyConnection, table: str, query: str, problem: type, limit: int) -> OutboxSummary:
    """The summary of an outbox table by its query (problems as `problem`); all zero without that table."""
    if not scalar(cur, HAS_TABLE, [table]):
        return OutboxSummary(0, 0, 0, 0, 0, 0, None, [])
    result = cur.execute(sql_file(query), {"limit": limit})
    names = [d[0] for d in result.description]
    found = dict(zip(names, result.fetchone()))
    found["problems"] = [problem(**item) for item in found["problems"]]
    return OutboxSummary(**found)
