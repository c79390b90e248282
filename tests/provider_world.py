"""A small world of two providers whose services a steward's file source describes, for the provider-link tests:
Stichting Veilig (`veilig`: shelter S1 with 10 places, 2 free; trauma team S2 with 5 waiting, waits 20 and 40
days) and Ander Huis (`ander`: shelter X1, 4 places, none free)."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from ingest.provider_form import form_inbox, form_source
from ingest.runner import RunSummary, SourceRunner
from ingest_support import drop, run_source, write_config
from queries.paths import DataPaths
from queries.warehouse import Warehouse

UTC = timezone.utc
REGISTER = (
    "service_id;service_name;provider_id;provider_name;care_type;target_groups;service_area;valid_at;unit;"
    "maximum;available;status;waiting_count;wait_days_intake;wait_days_treatment\n"
    'S1;Opvang Oost;veilig;Stichting Veilig;shelter;"adult_victim; child";GM0363;{t};place;10;2;;1;0;\n'
    "S2;Traumateam;veilig;Stichting Veilig;trauma_care;child;GM0363;{t};treatment_slot;;;;5;20;40\n"
    "X1;Andere opvang;ander;Ander Huis;shelter;adult_victim;GM0363;{t};place;4;0;;0;;\n")


def register(paths: DataPaths, folder: Path, valid_at: datetime) -> None:
    """The services as a steward's file source describes them, with figures of `valid_at`."""
    config = write_config(folder)
    drop(paths, "register.csv", REGISTER.format(t=valid_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")).encode())
    outcome = run_source(paths, config)
    assert outcome.summary.status == "ok", outcome.summary.line()


def run_forms(paths: DataPaths, publish: bool = False) -> RunSummary:
    """The built-in source `aanbieders` once, with every waiting submission settled; publish when asked."""
    past = time.time() - 60
    for path in form_inbox(paths).iterdir():
        os.utime(path, (past, past))
    with Warehouse(paths) as warehouse:
        summary = SourceRunner(warehouse, paths).run(form_source(paths))
        if publish:
            warehouse.publish()
    return summary
