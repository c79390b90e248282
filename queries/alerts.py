"""Alerts and digests as data stewards see them: what was queued lately and how its message went."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import scalar, sql_file

SHOWN = 20
HAS_ALERTS = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alert_sent'"


@dataclass(frozen=True)
class QueuedAlert:
    """One alert or digest; transitions: [{"item", "from", "to"}] (empty for a digest); state: its message's."""

    queued_at: datetime
    subscription_id: str
    kind: str
    transitions: list[dict]
    state: str | None
    channel: str


def recent_alerts(cur: duckdb.DuckDBPyConnection, limit: int = SHOWN) -> list[QueuedAlert]:
    """The latest alerts and digests, newest first; none in a copy made before alerts existed."""
    if not scalar(cur, HAS_ALERTS):
        return []
    found = cur.execute(sql_file("recent_alerts"), {"limit": limit}).fetchall()
    return [QueuedAlert(at, sid, kind, json.loads(transitions), state, channel)
            for at, sid, kind, transitions, state, channel in found]
