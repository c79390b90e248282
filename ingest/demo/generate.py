"""`capacity demo`: write the demo world as sources under the data folder.

<data>/demo/ gets sources.toml, demo.json (seed, scale, port) and the HSDS package; the inboxes
<data>/inbox/<source>/ get each file source's history (one file per half-year) and its current week.
Idempotent: an inbox file written before (listed in <data>/demo/inbox-files.txt) is not written again,
even after ingest has moved it to the archive.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from queries.paths import DataPaths

from .hsds import package_files
from .model import AMSTERDAM, Figures, figures, half_years, history_start, report_moments, tick, week_start
from .sources_file import PACKAGE_FOLDER, sources_toml
from .world import DEFAULT_SCALE, DEFAULT_SEED, DemoError, Service, Source, World, build_world
from .writers import Row, canonical_row, faulty_row, report_file, suffix

GENERATION_TICK_SECONDS = 60
SETTINGS_FILE = "demo.json"
MANIFEST_FILE = "inbox-files.txt"


@dataclass(frozen=True)
class DemoSettings:
    seed: int
    scale: float
    port: int       # of `capacity demo serve`, written into the sources' URLs


@dataclass(frozen=True)
class Generated:
    config: Path
    sources: int
    services: int
    files_written: int
    files_before: int       # inbox files written by earlier runs (not written again)


def demo_folder(paths: DataPaths) -> Path:
    return paths.root / "demo"


def read_settings(paths: DataPaths) -> DemoSettings | None:
    """The settings of the demo generated in this data folder, if any."""
    try:
        return DemoSettings(**json.loads((demo_folder(paths) / SETTINGS_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def settings_for(paths: DataPaths, seed: int | None, scale: float | None, port: int | None,
                 default_port: int) -> DemoSettings:
    """The given values, else those of the demo already in this data folder, else the defaults."""
    earlier = read_settings(paths) or DemoSettings(DEFAULT_SEED, DEFAULT_SCALE, default_port)
    return DemoSettings(earlier.seed if seed is None else seed, earlier.scale if scale is None else scale,
                        earlier.port if port is None else port)


def generate_demo(paths: DataPaths, settings: DemoSettings, now: datetime) -> Generated:
    """Write the demo's sources as of `now` (deterministic for the same settings and moment)."""
    folder = demo_folder(paths)
    _refuse_other_world(paths, settings)
    world = build_world(settings.seed, settings.scale)
    moment = tick(now, GENERATION_TICK_SECONDS)
    manifest = folder / MANIFEST_FILE
    written_before = set(manifest.read_text(encoding="utf-8").split()) if manifest.exists() else set()
    written: list[str] = []
    for source in world.sources:
        if source.kind == "file":
            for name, content in inbox_reports(world, source, moment):
                if f"{source.id}/{name}" in written_before:
                    continue
                data = content()
                write_atomically(paths.inbox / source.id / name, data)
                written.append(f"{source.id}/{name}")
        elif source.form == "hsds_package":
            write_package(world, source, paths, moment)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(manifest, "".join(f"{line}\n" for line in sorted(written_before | set(written))).encode())
    write_atomically(folder / "sources.toml", sources_toml(world, settings.port).encode("utf-8"))
    write_atomically(folder / SETTINGS_FILE, json.dumps(asdict(settings), indent=1).encode("utf-8"))
    return Generated(folder / "sources.toml", len(world.sources), len(world.services()), len(written),
                     len(written_before))


def inbox_reports(world: World, source: Source, moment: datetime) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(file name, content maker) of each report a file source has sent by `moment`: the history one file
    per half-year, and (while it still reports) the current week with a report as of `moment`. The names
    sort the current week first (`-actueel-` before `-historie-`), so that a fresh start shows today's
    figures before the two years of history are in."""
    this_week = week_start(moment)
    end = this_week - timedelta(weeks=source.stale_weeks)
    for label, start, stop, whole in half_years(history_start(moment), end):
        if not _schedule(source, start, stop):
            continue
        cut = "" if whole else f"-tot-{_day(stop)}"
        yield (f"{source.id}-historie-{label}{cut}{suffix(source)}",
               lambda start=start, stop=stop: report_file(source, _rows(world, source, start, stop)))
    if source.live:
        yield (f"{source.id}-actueel-{_day(this_week)}-{moment:%Y%m%dT%H%MZ}{suffix(source)}",
               lambda: report_file(source, current_week_rows(world, source, moment)))


def current_week_rows(world: World, source: Source, moment: datetime) -> list[Row]:
    """This week's regular reports, a report as of `moment`, and the source's deliberate error if it has one."""
    rows = _rows(world, source, week_start(moment), moment) + now_rows(world, source, moment)
    if source.fault:
        rows.append(faulty_row(rows[-1], source.fault))
    return rows


def now_rows(world: World, source: Source, moment: datetime) -> list[Row]:
    """A file source's report as of `moment`, to the minute: report files carry minutes, so two reports
    within one minute must hold the same figures (a provider correcting a moment is refused)."""
    minute = moment.replace(second=0, microsecond=0)
    return [canonical_row(s, figures(world.seed, s, minute)) for s in source.services]


def history(world: World, source: Source, service: Service, moment: datetime) -> list[Figures]:
    """Every report of `service` up to `moment`: regular ones and, for a live source, one as of `moment`."""
    end = week_start(moment) - timedelta(weeks=source.stale_weeks) if source.stale_weeks else moment
    moments = report_moments(service, history_start(moment), end, source.every_weeks) + (
        [moment] if source.live else [])
    return [figures(world.seed, service, m) for m in moments]


def write_package(world: World, source: Source, paths: DataPaths, moment: datetime) -> None:
    folder = package_folder(paths, source)
    for name, data in package_files(world.seed, source, lambda s: history(world, source, s, moment)).items():
        write_atomically(folder / name, data)


def package_folder(paths: DataPaths, source: Source) -> Path:
    return demo_folder(paths) / PACKAGE_FOLDER / source.id


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target under a hidden temporary name, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _rows(world: World, source: Source, start: datetime, stop: datetime) -> list[Row]:
    """The regular reports in [start, stop), moment by moment."""
    return [canonical_row(source.services[index], figures(world.seed, source.services[index], moment))
            for moment, index in _schedule(source, start, stop)]


def _schedule(source: Source, start: datetime, stop: datetime) -> list[tuple[datetime, int]]:
    """(moment, service index) of the source's regular reports in [start, stop), in time order."""
    return sorted((moment, index) for index, service in enumerate(source.services)
                  for moment in report_moments(service, start, stop, source.every_weeks))


def _refuse_other_world(paths: DataPaths, settings: DemoSettings) -> None:
    existing = read_settings(paths)
    if existing is not None and (existing.seed, existing.scale) != (settings.seed, settings.scale):
        folder = demo_folder(paths)
        raise DemoError(
            f"In {folder} staat al een demo met seed {existing.seed} en schaal {existing.scale}; kies voor seed "
            f"{settings.seed} en schaal {settings.scale} een lege --data-dir.",
            f"{folder} already holds a demo with seed {existing.seed} and scale {existing.scale}; use an empty "
            f"--data-dir for seed {settings.seed} and scale {settings.scale}.")


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%Y-%m-%d}"
