"""Child process for test_crash_safety: drops files into a file source's inbox and loads them, in a loop.

Run as `python crash_probe.py DATA_DIR CONFIG PLAN [--finish]`.

PLAN is a JSON list of [drop name, path of the prepared file]. The probe drops the
files in plan order, one per loop, each atomically (written as NAME.part, dated in
the past, then renamed), and after each drop runs the (only) source of CONFIG
through the real SourceRunner. A file counts as dropped when its name is in the
inbox or in the archive, so a restarted probe carries on where the killed one
stopped. Like `capacity ingest`, it first removes the `.part` files a kill left in
archive/ and quarantine/. Without --finish it keeps running (idle runs once all is
dropped) until it is killed; with --finish it stops after the run that follows the
last drop.

Progress lines on stdout: `opening`, `ready`, `drop NAME`, `run`,
`done STATUS LOADED REJECTED UNCHANGED`, `finished`.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from ingest.config import load_sources
from ingest.quarantine import remove_partial_copies
from ingest.runner import SourceRunner
from ingest.sources.files import inbox_of
from queries.paths import DataPaths
from queries.warehouse import Warehouse

ARCHIVED_NAME = re.compile(r"\d{8}T\d{6}Z-(.+)")


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def dropped_names(inbox: Path, archive: Path) -> set[str]:
    names = {path.name for path in inbox.iterdir() if path.suffix != ".part"} if inbox.is_dir() else set()
    if archive.is_dir():
        for path in archive.iterdir():
            match = ARCHIVED_NAME.fullmatch(path.name)
            if match:
                names.add(match.group(1))
    return names


def drop(inbox: Path, name: str, source_file: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    partial = inbox / (name + ".part")
    partial.write_bytes(source_file.read_bytes())
    past = time.time() - 60
    os.utime(partial, (past, past))
    os.replace(partial, inbox / name)


def main(data_dir: str, config: str, plan_file: str, finish: bool) -> None:
    paths = DataPaths(Path(data_dir))
    (source,) = load_sources(Path(config))
    plan = [(name, Path(path)) for name, path in json.loads(Path(plan_file).read_text(encoding="utf-8"))]
    inbox = inbox_of(source, paths)
    archive = paths.archive / source.id
    emit("opening")
    with Warehouse(paths) as warehouse:
        remove_partial_copies(paths)
        emit("ready")
        runner = SourceRunner(warehouse, paths)
        while True:
            done = dropped_names(inbox, archive)
            pending = next(((name, path) for name, path in plan if name not in done), None)
            if pending is not None:
                drop(inbox, *pending)
                emit(f"drop {pending[0]}")
            emit("run")
            summary = runner.run(source)
            emit(f"done {summary.status} {summary.loaded} {summary.rejected} {summary.unchanged}")
            if pending is None:
                if finish:
                    break
                time.sleep(0.02)
    emit("finished")


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--finish"]
    main(*arguments, finish="--finish" in sys.argv[1:])
