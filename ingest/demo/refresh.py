"""New reports keep arriving: at every tick of the refresh interval each live file source drops a report as
of that tick into its inbox, the providers that report through their link send the form's submission, and the
HSDS package is rewritten with it. Deterministic given seed and tick."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from queries.paths import DataPaths

from .generate import now_rows, write_atomically, write_package
from .model import tick
from .self_reporting import self_reporting_providers, send_self_reports
from .world import World
from .writers import report_file, suffix

log = logging.getLogger("capacity.demo")


class Refresher:
    def __init__(self, world: World, paths: DataPaths, seconds: int) -> None:
        self.world = world
        self.paths = paths
        self.seconds = seconds

    def run(self, stop: threading.Event) -> None:
        """Write at each new tick until `stop` is set (the current tick was written by `capacity demo`)."""
        last = tick(datetime.now(timezone.utc), self.seconds)
        while not stop.wait(self._until_next(last)):
            moment = tick(datetime.now(timezone.utc), self.seconds)
            if moment > last:
                try:
                    self.write(moment)
                except OSError as error:
                    log.error("demo: new reports as of %s could not be written: %s", moment, error)
                last = moment

    def write(self, moment: datetime) -> None:
        """The reports as of `moment`: one file per live file source (without the providers that report through
        their link), those providers' submissions, and the package rewritten."""
        by_link = set(self_reporting_providers(self.world))
        for source in self.world.sources:
            if not source.live:
                continue
            if source.kind == "file":
                name = f"{source.id}-{moment:%Y%m%dT%H%M%SZ}{suffix(source)}"
                rows = [row for row in now_rows(self.world, source, moment) if row["provider_id"] not in by_link]
                write_atomically(self.paths.inbox / source.id / name, report_file(source, rows))
            elif source.form == "hsds_package":
                write_package(self.world, source, self.paths, moment)
        send_self_reports(self.paths, self.world, moment)

    def _until_next(self, last: datetime) -> float:
        following = last + timedelta(seconds=self.seconds)
        return max(0.05, (following - datetime.now(timezone.utc)).total_seconds() + 0.05)
