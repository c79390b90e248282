"""The webhook outbox as data stewards see it: calls per state and the latest problems, never a body."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import scalar, sql_file

PROBLEMS_SHOWN = 20
HAS_WEBHOOK_OUTBOX = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'webhook_outbox'"


@dataclass(frozen=True)
class WebhookProblem:
    """A failed, uncertain or retrying call; host: the receiver's host name only; last_error: "nl / en"."""

    delivery_id: int
    subscription_id: str
    host: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime

    @property
    def retrying(self) -> bool:
        return self.state == "queued"


@dataclass(frozen=True)
class WebhookSummary:
    """Calls per state (retrying: queued after a failed attempt) and the latest problems, newest first."""

    queued: int
    retrying: int
    sending: int
    sent: int
    failed: int
    uncertain: int
    oldest_queued_at: datetime | None
    problems: list[WebhookProblem]


def webhook_summary(cur: duckdb.DuckDBPyConnection, limit: int = PROBLEMS_SHOWN) -> WebhookSummary:
    """The webhook outbox summary; all zero in a published copy made before the webhook outbox existed."""
    if not scalar(cur, HAS_WEBHOOK_OUTBOX):
        return WebhookSummary(0, 0, 0, 0, 0, 0, None, [])
    result = cur.execute(sql_file("webhook_summary"), {"limit": limit})
    names = [d[0] for d in result.description]
    found = dict(zip(names, result.fetchone()))
    found["problems"] = [WebhookProblem(**problem) for problem in found["problems"]]
    return WebhookSummary(**found)
