"""The ingester's side of provider submissions: check the link and the figures, load the figures, keep the audit.

A submission is refused whole when its link did not exist, was another provider's, or was not live at the
moment of sending (expired or revoked). Its figures are checked with the same function the web form used
(ingest/provider_form.py) against the warehouse as it is now, and loaded as observations only: the
description of each service stays with the source that reports it. Every loaded service gets an audit row
(`provider_update`): link, moment, and which figures changed against the latest figure before.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from queries.db import rows, run

from .load import LoadResult, load_records
from .provider_form import FIGURES, FormExtract, Submission, check_submission, described_services
from .provider_links import LinkStore
from .records import StructuralError
from .validate import Reference, Validated

LATEST_BEFORE = """
SELECT service_id,
       arg_max({'maximum': maximum, 'available': available, 'status': status, 'waiting_count': waiting_count,
                'wait_days_intake': wait_days_intake, 'wait_days_treatment': wait_days_treatment},
               {'valid_at': valid_at, 'ingested_at': ingested_at})
FROM capacity_observation
WHERE service_id IN (SELECT unnest(?::VARCHAR[]))
GROUP BY service_id"""
INSERT_UPDATE = """
INSERT INTO provider_update (submission_id, service_id, link_id, provider_id, action, submitted_at, run_id,
                             processed_at, changes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (submission_id, service_id) DO NOTHING"""


@dataclass
class CheckedForm(Validated):
    """A submission's figures as checked rows, with the submission they came from."""

    submission: Submission | None = None


def check_form(extract: FormExtract, con: duckdb.DuckDBPyConnection, links: LinkStore, reference: Reference,
               now: datetime) -> CheckedForm:
    """The submission in `extract` checked against its link and the warehouse behind `con`; StructuralError
    when the link did not allow it."""
    submission = extract.submission
    assert submission is not None
    link = links.find(submission.link_id)
    if link is None or link.provider_id != submission.provider_id or not link.live_at(
            submission.submitted_at.timestamp()):
        raise StructuralError(
            f"{extract.file_name} is geweigerd: link {submission.link_id} was bij het versturen geen geldige link "
            f"van aanbieder {submission.provider_id} (onbekend, verlopen of ingetrokken)",
            f"{extract.file_name} was refused: link {submission.link_id} was not a live link of provider "
            f"{submission.provider_id} when it was sent (unknown, expired or revoked)")
    checked = check_submission(submission, described_services(con, submission.provider_id), reference, now)
    return CheckedForm(checked.records, checked.rejected, [], submission=submission)


def load_form(con: duckdb.DuckDBPyConnection, source_id: str, run_id: int, checked: CheckedForm,
              now: datetime) -> LoadResult:
    """Load the figures (observations only) and an audit row per loaded service, in the caller's transaction."""
    submission = checked.submission
    assert submission is not None
    before = dict(rows(con, LATEST_BEFORE, [[record.service_id for record in checked.records]]))
    result = load_records(con, source_id, run_id, checked.records, now, figures_only=True)
    for record in checked.records:
        sent = submission.services[record.row - 1]
        after = {name: getattr(record, name) for name in FIGURES}
        run(con, INSERT_UPDATE, [submission.submission_id, record.service_id, submission.link_id,
                                 submission.provider_id, sent.action, submission.submitted_at, run_id, now,
                                 json.dumps(changes(before.get(record.service_id), after))])
    return result


def changes(before: dict | None, after: dict) -> list[dict]:
    """The figures that differ from the latest figure before (all given ones when there was none)."""
    before = before or {}
    return [{"field": name, "before": before.get(name), "after": after[name]} for name in FIGURES
            if before.get(name) != after[name] and not (not before and after[name] is None)]
