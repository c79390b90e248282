"""The webhook outbox as data stewards see it: calls per state and the latest problems, never a body."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .outbox import OutboxSummary, summary_of

PROBLEMS_SHOWN = 20


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


def webhook_summary(cur: duckdb.DuckDBPyConnection, limit: int = PROBLEMS_SHOWN) -> OutboxSummary:
    """The webhook outbox summary (problems as WebhookProblem); all zero in a copy made before it existed."""
    return summary_of(cur, "webhook_outbox", "webhook_summary", WebhookProblem, limit)
