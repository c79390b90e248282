"""Publishing for readers: immutable copies, a pointer, switching without restart, two real processes."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from queries.connection import PublishedReader
from queries.db import run, scalar
from queries.paths import DataPaths
from queries.publish import published_copies, prune, read_pointer
from queries.warehouse import Warehouse

PROBE = Path(__file__).with_name("publish_probe.py")


def test_a_writer_and_a_reader_process_never_collide(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Warehouse(DataPaths(data)).close()   # schema only; the reader waits for the first publication
    versions, poll = 25, 0.2
    writer_log, reader_log = tmp_path / "writer.jsonl", tmp_path / "reader.jsonl"
    reader = subprocess.Popen([sys.executable, str(PROBE), "reader", str(data), str(versions), "90", str(poll),
                               str(reader_log)],
                              stderr=subprocess.PIPE, text=True)
    writer = subprocess.run([sys.executable, str(PROBE), "writer", str(data), str(versions), str(writer_log)],
                            capture_output=True, text=True, timeout=120)
    _, reader_errors = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    assert reader.returncode == 0, reader_errors          # no lock errors, no exceptions at all
    published = [json.loads(line) for line in writer_log.read_text().splitlines()]
    observed = [json.loads(line) for line in reader_log.read_text().splitlines()]
    assert [p["version"] for p in published] == list(range(1, versions + 1))
    assert observed and all(o["complete"] for o in observed)            # never a partial copy
    seen = [o["version"] for o in observed]
    assert seen == sorted(seen)                                         # never back in time
    assert seen[-1] == versions
    # within one poll: a read that starts a poll interval (plus scheduling slack) after a
    # publication must see that version or a newer one
    slack = 0.25
    for o in observed:
        due = [p["version"] for p in published if p["t"] <= o["t0"] - poll - slack]
        assert o["version"] >= max(due, default=0), (o, due)


def test_old_copies_are_pruned_unless_a_reader_holds_them(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    with Warehouse(paths, publish_keep=2) as warehouse:
        run(warehouse.con, "CREATE TABLE probe (v INTEGER)")
        first = warehouse.publish()
        reader = PublishedReader(paths, poll_seconds=0)
        with reader.cursor() as cur:                 # holds the first copy while the writer moves on
            for v in range(4):
                with warehouse.transaction() as con:
                    run(con, "INSERT INTO probe VALUES (?)", [v])
                warehouse.publish()
            assert first.path(paths).exists()        # held: not deleted
            assert scalar(cur, "SELECT count(*) FROM probe") == 0   # still reading its own consistent copy
        with reader.cursor() as cur:                 # the next use switches to the newest copy
            assert scalar(cur, "SELECT count(*) FROM probe") == 4
        prune(paths, 2)                              # released by the switch: now it goes
        assert not first.path(paths).exists()
        names = [path.name for _, path in published_copies(paths)]
        assert len(names) == 2 and names[-1] == read_pointer(paths).file
        reader.close()


def test_each_thread_reads_through_its_own_cursor(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    with Warehouse(paths) as warehouse:
        run(warehouse.con, "CREATE TABLE probe AS SELECT range AS v FROM range(100000)")
        warehouse.publish()
    reader = PublishedReader(paths)
    results, errors = [], []

    def work() -> None:
        try:
            for _ in range(20):
                with reader.cursor() as cur:
                    results.append(scalar(cur, "SELECT sum(v) FROM probe"))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [sum(range(100000))] * 160
    reader.close()


def test_the_read_side_is_read_only_without_external_access(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    with Warehouse(paths) as warehouse:
        run(warehouse.con, "CREATE TABLE probe (v INTEGER)")
        warehouse.publish()
    reader = PublishedReader(paths)
    with reader.cursor() as cur:
        for statement, fragment in [("INSERT INTO probe VALUES (1)", "read-only"),
                                    ("SELECT * FROM read_csv('/etc/hostname')", "disabled"),
                                    ("SET enable_external_access = true", "Cannot change")]:
            try:
                cur.execute(statement).fetchall()
            except Exception as error:
                assert fragment.lower() in str(error).lower(), error
            else:
                raise AssertionError(f"{statement} was allowed")
    reader.close()
