"""The writer side: the one read-write connection to the warehouse, transactions, publishing."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import duckdb

from . import settings
from .db import connect, run
from .errors import WarehouseError
from .migrate import apply_migrations
from .paths import DataPaths
from .publish import Publication, copy_for_publication, finish_publication, read_pointer, remove_partials


class Warehouse:
    """The read-write warehouse. Only the ingest process (or `capacity init`) opens one.

    Every write goes through `transaction()`, which serialises writers in this
    process with one lock and commits all statements together or none.
    """

    def __init__(self, paths: DataPaths, publish_keep: int | None = None) -> None:
        self.paths = paths
        self.publish_keep = publish_keep if publish_keep is not None else int(settings.get("publish_keep"))
        paths.ensure()
        self.lock = threading.RLock()
        self.publish_lock = threading.Lock()
        self.con = _connect_writer(paths)
        self.applied_migrations = apply_migrations(self.con)
        remove_partials(paths)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One explicit transaction: commit on success, roll back on any error."""
        with self.lock:
            run(self.con, "BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                run(self.con, "ROLLBACK")
                raise
            run(self.con, "COMMIT")

    def publish(self) -> Publication:
        """Publish the committed state for readers. Writers wait only for the checkpoint and the file copy;
        publications follow each other in order."""
        with self.publish_lock:
            with self.lock:
                pending = copy_for_publication(self.con, self.paths)
            return finish_publication(self.paths, pending, self.publish_keep)

    def latest_publication(self) -> Publication | None:
        return read_pointer(self.paths)

    def close(self) -> None:
        with self.lock:
            self.con.close()

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_writer(paths: DataPaths) -> duckdb.DuckDBPyConnection:
    memory = settings.get("writer_memory")
    try:
        return connect(paths.warehouse, config={"memory_limit": memory})
    except (duckdb.InvalidInputException, duckdb.ParserException) as error:   # not an amount of memory
        raise WarehouseError(f"CAPACITY_WRITER_MEMORY '{memory}' is geen hoeveelheid geheugen (bijvoorbeeld 256MB "
                             f"of 2GB): {error}",
                             f"CAPACITY_WRITER_MEMORY '{memory}' is no amount of memory (e.g. 256MB or 2GB): "
                             f"{error}") from error
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseError(
                f"De warehouse {paths.warehouse} is in gebruik door een ander proces (waarschijnlijk "
                "`capacity ingest`). Er kan maar één proces tegelijk schrijven; stop dat proces eerst.",
                f"The warehouse {paths.warehouse} is in use by another process (probably `capacity ingest`). "
                "Only one process may write at a time; stop that process first.") from error
        raise WarehouseError(f"De warehouse {paths.warehouse} kan niet worden geopend: {error}",
                             f"The warehouse {paths.warehouse} cannot be opened: {error}") from error
