"""Child processes for test_publish: a writer that keeps publishing, a reader that keeps reading.

Run as `python publish_probe.py writer DATA_DIR VERSIONS LOG` or `... reader DATA_DIR LAST_VERSION SECONDS POLL
LOG`.
Each version v adds ROWS_PER_VERSION rows with payload v, so a complete copy at
version v holds exactly v * ROWS_PER_VERSION rows whose payloads sum to
ROWS_PER_VERSION * v * (v + 1) / 2; anything else is a partial read.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from queries.connection import PublishedReader
from queries.db import run
from queries.errors import NoPublishedData
from queries.paths import DataPaths
from queries.warehouse import Warehouse

ROWS_PER_VERSION = 2000


def writer(data_dir: str, versions: int, log: str) -> None:
    with Warehouse(DataPaths(Path(data_dir)), publish_keep=3) as warehouse, open(log, "w") as out:
        run(warehouse.con, "CREATE TABLE IF NOT EXISTS probe (version INTEGER NOT NULL, payload INTEGER NOT NULL)")
        for version in range(1, versions + 1):
            with warehouse.transaction() as con:
                run(con, "INSERT INTO probe SELECT ?, ? FROM range(?)", [version, version, ROWS_PER_VERSION])
            publication = warehouse.publish()
            out.write(json.dumps({"version": version, "sequence": publication.sequence, "t": time.time()}) + "\n")
            out.flush()
            time.sleep(0.05)


def reader(data_dir: str, last_version: int, seconds: float, poll: float, log: str) -> None:
    """Read until the last version was seen (a busy machine only makes that take longer), or `seconds`."""
    published = PublishedReader(DataPaths(Path(data_dir)), poll_seconds=poll)
    deadline = time.time() + seconds
    top = 0
    with open(log, "w") as out:
        while time.time() < deadline and top < last_version:
            started = time.time()
            try:
                with published.cursor() as cur:
                    count, total, top = cur.execute(
                        "SELECT count(*), coalesce(sum(payload), 0), coalesce(max(version), 0) FROM probe").fetchone()
            except NoPublishedData:
                time.sleep(0.01)
                continue
            complete = count == top * ROWS_PER_VERSION and total == ROWS_PER_VERSION * top * (top + 1) // 2
            out.write(json.dumps({"t0": started, "version": top, "complete": complete}) + "\n")
            time.sleep(0.005)
    published.close()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "writer":
        writer(args[0], int(args[1]), args[2])
    else:
        reader(args[0], int(args[1]), float(args[2]), float(args[3]), args[4])
