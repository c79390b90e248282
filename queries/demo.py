"""Whether the warehouse holds demonstration data (fictional providers and figures)."""
from __future__ import annotations

import duckdb

from .db import scalar, sql_file


def shows_demo_data(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when any source marked `demo = true` has been registered."""
    return bool(scalar(cur, sql_file("demo_sources")))
