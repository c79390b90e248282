"""Figures a provider sends through its personal update link: one rule set for the web form and the ingester.

The web checks a submission with `check_submission` (so errors show next to the fields at once), writes it
with `write_submission` as a small JSON file in data/inbox/_aanbieders, and the built-in source `aanbieders`
(kind `form`, ingest/sources/provider_forms.py) reads it with `read_submission` and checks it again with the
very same function before loading. A submission only carries figures: each service's description (name,
care type, target groups, area, unit, ...) is the one the warehouse has, so every row is checked by
ingest/validate.py exactly like a row of a file. "Niets veranderd" (action `confirm`) sends the figures the
provider saw, as true at the moment of sending; figures count from the minute they were sent (`valid_at_of`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

from queries.db import sql_file
from queries.errors import CapacityError
from queries.paths import DataPaths

from .config import SourceConfig
from .records import Extract, RawRow, RowError, StructuralError
from .rules import SourceRules
from .signals import write_atomically
from .validate import Reference, Validated, validate

FORM_SOURCE_ID = "aanbieders"
FORM_KIND = "form"
FORM_SCHEDULE = "15s"
FORM_FOLDER = "_aanbieders"       # not a possible source id, so never another source's inbox
FORMAT = "capacity-provider-form/1"
FIGURES = ("available", "maximum", "waiting_count", "wait_days_intake", "wait_days_treatment", "status")
WAITS = ("wait_days_intake", "wait_days_treatment")
WAIT_UNITS = ("days", "weeks")
ACTIONS = ("update", "confirm")
DESCRIPTION = ("service_id", "service_name", "provider_id", "provider_name", "care_type", "target_groups",
               "service_area", "unit", "framework", "age_min", "age_max", "whole_family", "languages",
               "violence_profiles", "phone", "email", "website", "referral_route")
MAX_SUBMISSION_BYTES = 64 * 1024
MAX_SERVICES = 200
MAX_VALUE_CHARS = 12
MAX_PENDING = 10_000
SUBMISSION_KEYS = ("format", "submission_id", "link_id", "provider_id", "submitted_at", "services")
SERVICE_KEYS = ("service_id", "action", "figures", "units")
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
_LINK_ID = re.compile(r"L[0-9a-f]{10}")
_ID_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


class SubmissionRefused(CapacityError):
    """The web could not keep a submission: too many are waiting, or no disk."""


@dataclass(frozen=True)
class ServiceFigures:
    """What a provider sent for one service: the figures as typed ('' = unknown) and the unit of each wait."""

    service_id: str
    action: str
    figures: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    submission_id: str
    link_id: str
    provider_id: str
    submitted_at: datetime
    services: tuple[ServiceFigures, ...]


@dataclass
class FormExtract(Extract):
    """A submission file read: one raw row per service (for counting), and the submission itself."""

    submission: Submission | None = None


@dataclass(frozen=True)
class DescribedService:
    """A service of the provider as the warehouse (or a published copy) describes it, with its latest figure."""

    description: dict[str, Any]      # DESCRIPTION fields, as text for validation
    latest: dict[str, Any]           # FIGURES of the latest figure (None: unknown) and `valid_at`
    freshness_days: int

    @property
    def service_id(self) -> str:
        return self.description["service_id"]

    def shown_figures(self) -> dict[str, str]:
        """The latest figures as the form shows them: text, days, and status empty when it follows from the
        free places (so that changing the free places changes the status too)."""
        shown = {name: "" if self.latest.get(name) is None else str(self.latest[name]) for name in FIGURES}
        if self.latest.get("status") == derived_status(self.latest.get("available")):
            shown["status"] = ""
        return shown


def derived_status(available: int | None) -> str:
    """The status a report without one gets (ingest/validate.py decides the same way)."""
    return "unknown" if available is None else "open" if available > 0 else "full"


def form_inbox(paths: DataPaths) -> Path:
    return paths.inbox / FORM_FOLDER


def form_source(paths: DataPaths) -> SourceConfig:
    """The built-in source that loads the providers' submissions, every FORM_SCHEDULE."""
    return SourceConfig(FORM_SOURCE_ID, FORM_KIND, FORM_SCHEDULE, path=form_inbox(paths))


def described_services(con: duckdb.DuckDBPyConnection, provider_id: str) -> list[DescribedService]:
    """The provider's services with their latest figures, from the warehouse or a published copy."""
    cursor = con.execute(sql_file("provider_services"), {"provider_id": provider_id})
    names = [column[0] for column in cursor.description]
    found = []
    for row in cursor.fetchall():
        values = dict(zip(names, row))
        description = {name: _as_cell(values[name]) for name in DESCRIPTION}
        latest = {name: values[name] for name in (*FIGURES, "valid_at")}
        found.append(DescribedService(description, latest, int(values["freshness_days"])))
    return found


def _as_cell(value: object) -> object:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    return "" if value is None else value


# --- checking ------------------------------------------------------------------------------------


def check_submission(submission: Submission, services: list[DescribedService], reference: Reference,
                     now: datetime) -> Validated:
    """Every service of the submission as a canonical row through ingest/validate.py; row n is the n-th
    service. A service that is not the provider's, a value longer than a submission file may hold, or a
    confirmation without figures, is a row error."""
    by_id = {service.service_id: service for service in services}
    records, rejected = [], []
    for row, sent in enumerate(submission.services, start=1):
        service = by_id.get(sent.service_id)
        if service is None or service.description["provider_id"] != submission.provider_id:
            rejected.append(RowError(row, "service_id", sent.service_id,
                                     f"dienst {sent.service_id} is geen dienst van aanbieder {submission.provider_id}",
                                     f"service {sent.service_id} is not a service of provider "
                                     f"{submission.provider_id}"))
            continue
        too_long = [name for name, value in sent.figures.items() if len(value) > MAX_VALUE_CHARS]
        if too_long:
            rejected += [RowError(row, name, sent.figures[name][:MAX_VALUE_CHARS],
                                  f"{name}: te lang (hoogstens {MAX_VALUE_CHARS} tekens)",
                                  f"{name}: too long (at most {MAX_VALUE_CHARS} characters)") for name in too_long]
            continue
        if sent.action == "confirm" and service.latest.get("valid_at") is None:
            rejected.append(RowError(row, "service_id", sent.service_id,
                                     "er zijn nog geen cijfers om te bevestigen; vul ze in",
                                     "there are no figures yet to confirm; fill them in"))
            continue
        validated = _check_one(row, submission, sent, service, reference, now)
        records += validated.records
        rejected += validated.rejected
    return Validated(records, rejected, [])


def _check_one(row: int, submission: Submission, sent: ServiceFigures, service: DescribedService,
               reference: Reference, now: datetime) -> Validated:
    figures = service.shown_figures() if sent.action == "confirm" else sent.figures
    units = {} if sent.action == "confirm" else sent.units
    values = {**service.description, **{name: figures.get(name, "") for name in FIGURES},
              "valid_at": valid_at_of(submission)}
    rules = SourceRules(convert={name: "weeks" for name in WAITS if units.get(name) == "weeks"})
    return validate(Extract(f"{submission.submission_id}.json", list(values), [RawRow(row, values)]), rules,
                    reference, now)


def valid_at_of(submission: Submission) -> datetime:
    """When a submission's figures count from: the minute it was sent (the dashboard shows whole minutes, so a
    figure sent now is on it at the next publication, not a minute later)."""
    return submission.submitted_at.replace(second=0, microsecond=0)


# --- the file ------------------------------------------------------------------------------------


def new_submission(link_id: str, provider_id: str, services: list[ServiceFigures],
                   now: datetime | None = None) -> Submission:
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return Submission(uuid.uuid4().hex, link_id, provider_id, moment, tuple(services))


def submission_json(submission: Submission) -> bytes:
    return json.dumps({
        "format": FORMAT, "submission_id": submission.submission_id, "link_id": submission.link_id,
        "provider_id": submission.provider_id, "submitted_at": submission.submitted_at.isoformat(),
        "services": [{"service_id": s.service_id, "action": s.action, "figures": s.figures, "units": s.units}
                     for s in submission.services]}, ensure_ascii=False).encode("utf-8")


def provider_key(provider_id: str) -> str:
    """A file-name-safe key of a provider id (its submissions' names start with it)."""
    return hashlib.sha256(provider_id.encode("utf-8")).hexdigest()[:16]


def submission_file_name(submission: Submission) -> str:
    return (f"{provider_key(submission.provider_id)}--{submission.submitted_at:%Y%m%dT%H%M%SZ}-"
            f"{submission.submission_id}.json")


def write_submission(paths: DataPaths, submission: Submission) -> Path:
    """Leave a checked submission for the ingester (called by the web worker); returns the file written.
    SubmissionRefused when MAX_PENDING files wait already or the file cannot be written."""
    folder = form_inbox(paths)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with os.scandir(folder) as entries:
            waiting = sum(1 for _ in islice((e for e in entries if not e.name.startswith(".")), MAX_PENDING + 1))
        if waiting > MAX_PENDING:
            raise SubmissionRefused(
                "Er wachten al te veel inzendingen op verwerking; probeer het over een paar minuten opnieuw.",
                "Too many submissions are waiting to be processed; try again in a few minutes.")
        return write_atomically(folder, submission_file_name(submission), submission_json(submission))
    except OSError as error:
        raise SubmissionRefused(f"De cijfers konden niet worden opgeslagen ({error.strerror}); probeer het opnieuw.",
                                f"The figures could not be saved ({error.strerror}); try again.") from error


def pending_submissions(paths: DataPaths, provider_id: str) -> list[Submission]:
    """The provider's submissions still waiting in the inbox (unreadable ones left out), oldest first."""
    folder = form_inbox(paths)
    prefix = provider_key(provider_id) + "--"
    found = []
    for path in sorted(folder.glob(prefix + "*.json")) if folder.is_dir() else []:
        try:
            extract = read_submission(path.name, path.read_bytes())
        except (OSError, StructuralError):
            continue
        if extract.submission is not None and extract.submission.provider_id == provider_id:
            found.append(extract.submission)
    return found


def read_submission(name: str, data: bytes) -> FormExtract:
    """A submission file, checked strictly; StructuralError naming what is wrong (never a value that could
    be free text)."""
    if len(data) > MAX_SUBMISSION_BYTES:
        raise StructuralError(f"{name}: groter dan {MAX_SUBMISSION_BYTES} bytes; geen inzending",
                              f"{name}: larger than {MAX_SUBMISSION_BYTES} bytes; not a submission")
    try:
        content = json.loads(data.decode("utf-8"))
    except ValueError:
        raise StructuralError(f"{name}: geen geldige JSON (UTF-8)", f"{name}: not valid JSON (UTF-8)") from None
    problem = _structure_problem(content)
    if problem:
        raise StructuralError(f"{name} is geweigerd: {problem[0]}", f"{name} was refused: {problem[1]}")
    moment = datetime.fromisoformat(content["submitted_at"]).astimezone(timezone.utc)
    services = tuple(ServiceFigures(s["service_id"], s["action"], dict(s["figures"]), dict(s["units"]))
                     for s in content["services"])
    submission = Submission(content["submission_id"], content["link_id"], content["provider_id"], moment, services)
    rows = [RawRow(n, {"service_id": s.service_id, "action": s.action}) for n, s in enumerate(services, start=1)]
    return FormExtract(name, ["service_id", "action"], rows, submission=submission)


def _structure_problem(content: Any) -> tuple[str, str] | None:
    if not isinstance(content, dict) or sorted(content) != sorted(SUBMISSION_KEYS):
        return ("niet precies de velden " + ", ".join(SUBMISSION_KEYS), "not exactly the fields " +
                ", ".join(SUBMISSION_KEYS))
    if content["format"] != FORMAT:
        return (f"format is niet {FORMAT}", f"format is not {FORMAT}")
    checks = ((_SUBMISSION_ID, "submission_id"), (_LINK_ID, "link_id"), (_ID_TEXT, "provider_id"))
    for pattern, key in checks:
        if not isinstance(content[key], str) or not pattern.fullmatch(content[key]):
            return (f"'{key}' is ongeldig", f"'{key}' is invalid")
    if not _aware_moment(content["submitted_at"]):
        return ("'submitted_at' is geen ISO-tijdstip met tijdzone", "'submitted_at' is not an ISO moment with a "
                "time zone")
    services = content["services"]
    if not isinstance(services, list) or not 1 <= len(services) <= MAX_SERVICES:
        return (f"'services' moet 1 tot {MAX_SERVICES} diensten bevatten",
                f"'services' must hold 1 to {MAX_SERVICES} services")
    for number, service in enumerate(services, start=1):
        if not _well_formed_service(service):
            return (f"dienst nummer {number} is ongeldig", f"service number {number} is invalid")
    return None


def _aware_moment(raw: object) -> bool:
    try:
        return isinstance(raw, str) and datetime.fromisoformat(raw).tzinfo is not None
    except ValueError:
        return False


def _well_formed_service(service: Any) -> bool:
    if not isinstance(service, dict) or sorted(service) != sorted(SERVICE_KEYS):
        return False
    figures, units = service["figures"], service["units"]
    return (isinstance(service["service_id"], str) and _ID_TEXT.fullmatch(service["service_id"]) is not None
            and service["action"] in ACTIONS
            and isinstance(figures, dict) and set(figures) <= set(FIGURES)
            and all(isinstance(v, str) and len(v) <= MAX_VALUE_CHARS for v in figures.values())
            and isinstance(units, dict) and set(units) <= set(WAITS)
            and all(v in WAIT_UNITS for v in units.values()))
