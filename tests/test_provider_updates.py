"""Providers' own figures through the ingester: a submission file from the form, its link checked, its figures
checked by the same rules as any file, loaded as observations only, audited; wrong ones refused or rejected."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from ingest.provider_form import (ServiceFigures, check_submission, described_services, form_inbox, form_source,
                                  new_submission, pending_submissions, read_submission, write_submission)
from ingest.provider_links import LinkStore
from ingest.records import StructuralError
from ingest.validate import read_reference
from ingest_support import files_under, query
from provider_world import register, run_forms
from queries.paths import DataPaths

UTC = timezone.utc


def figures(**values: str) -> dict[str, str]:
    return {name: values.get(name, "") for name in ("available", "maximum", "waiting_count", "wait_days_intake",
                                                    "wait_days_treatment", "status")}


@pytest.fixture
def world(data_paths: DataPaths, tmp_path: Path) -> tuple[DataPaths, LinkStore, str]:
    register(data_paths, tmp_path, datetime.now(UTC) - timedelta(days=1))
    links = LinkStore(data_paths.provider_links)
    return data_paths, links, links.issue("veilig", "opvang@example.org", 365).link_id


def test_a_submission_loads_figures_only_and_keeps_an_audit_of_what_changed(world) -> None:
    paths, links, link_id = world
    sent = new_submission(link_id, "veilig", [
        ServiceFigures("S1", "update", figures(available="3", maximum="10", waiting_count="4", wait_days_intake="2"),
                       {"wait_days_intake": "weeks"}),
        ServiceFigures("S2", "confirm")])
    write_submission(paths, sent)
    summary = run_forms(paths)
    assert (summary.status, summary.loaded, summary.rejected) == ("ok", 2, 0), summary.line()
    at = sent.submitted_at.replace(second=0, microsecond=0)       # figures count from the minute they were sent
    # 2 weeks is 14 days; the status follows from 3 free places; the confirmation repeats S2's figures now
    assert query(paths, "SELECT service_id, source_id, maximum, available, status, waiting_count, wait_days_intake, "
                        "wait_days_treatment FROM capacity_observation WHERE valid_at = ? ORDER BY 1", [at]) == [
        ("S1", "aanbieders", 10, 3, "open", 4, 14, None), ("S2", "aanbieders", None, None, "unknown", 5, 20, 40)]
    # the description stays with the steward's source
    assert query(paths, "SELECT service_id, source_id FROM service ORDER BY 1") == [
        ("S1", "provider-a"), ("S2", "provider-a"), ("X1", "provider-a")]
    audit = query(paths, "SELECT service_id, link_id, action, submitted_at, changes FROM provider_update ORDER BY 1")
    assert [(s, l, a, t) for s, l, a, t, _ in audit] == [("S1", link_id, "update", sent.submitted_at),
                                                    ("S2", link_id, "confirm", sent.submitted_at)]
    assert json.loads(audit[0][4]) == [{"field": "available", "before": 2, "after": 3},
                                       {"field": "waiting_count", "before": 1, "after": 4},
                                       {"field": "wait_days_intake", "before": 0, "after": 14}]
    assert json.loads(audit[1][4]) == []
    assert not list(form_inbox(paths).iterdir())   # archived
    assert [p.name for p in files_under(paths.archive / "aanbieders")] and not pending_submissions(paths, "veilig")


def test_the_same_rules_as_a_file_reject_a_bad_figure_with_its_column_and_value(world) -> None:
    paths, links, link_id = world
    write_submission(paths, new_submission(link_id, "veilig", [
        ServiceFigures("S1", "update", figures(available="12", maximum="10"), {}),
        ServiceFigures("S2", "update", figures(waiting_count="veel"), {})]))
    summary = run_forms(paths)
    assert (summary.status, summary.loaded, summary.rejected) == ("failed", 0, 2)
    rejected = query(paths, "SELECT row_number, column_name, value, message_en FROM rejected_row ORDER BY 1")
    assert rejected[0][:3] == (1, "available", "12") and "greater than maximum (10)" in rejected[0][3]
    assert rejected[1][:3] == (2, "waiting_count", "veel")


def test_another_providers_service_is_a_row_error(world) -> None:
    paths, _, link_id = world
    write_submission(paths, new_submission(link_id, "veilig", [
        ServiceFigures("X1", "update", figures(available="0", maximum="4"), {}),
        ServiceFigures("S1", "update", figures(available="1", maximum="10"), {})]))
    summary = run_forms(paths)
    assert (summary.status, summary.loaded, summary.rejected) == ("partial", 1, 1)
    assert query(paths, "SELECT row_number, column_name, value FROM rejected_row") == [(1, "service_id", "X1")]
    assert query(paths, "SELECT count(*) FROM capacity_observation WHERE service_id = 'X1'") == [(1,)]


@pytest.mark.parametrize("case", ["revoked", "expired", "other provider", "unknown"])
def test_a_submission_whose_link_was_not_live_is_refused_whole(world, case: str) -> None:
    paths, links, link_id = world
    provider = "veilig"
    if case == "revoked":
        assert links.revoke(link_id)
    elif case == "expired":
        link_id = links.issue("veilig", None, 1, now=time.time() - 2 * 86400).link_id
    elif case == "other provider":
        link_id = links.issue("ander", None, 30).link_id
    else:
        link_id = "L0123456789"
    write_submission(paths, new_submission(link_id, provider, [
        ServiceFigures("S1", "update", figures(available="5", maximum="10"), {})]))
    summary = run_forms(paths)
    assert summary.status == "failed" and "geen geldige link van aanbieder veilig" in summary.line()
    assert query(paths, "SELECT count(*) FROM capacity_observation WHERE source_id = 'aanbieders'") == [(0,)]
    assert ".json" in [p.suffix for p in files_under(paths.quarantine / "aanbieders")]


def test_a_link_revoked_after_sending_still_counts_what_was_sent_before(world) -> None:
    paths, links, link_id = world
    write_submission(paths, new_submission(link_id, "veilig", [
        ServiceFigures("S1", "update", figures(available="6", maximum="10"), {})],
        now=datetime.now(UTC) - timedelta(minutes=5)))
    links.revoke(link_id)
    assert run_forms(paths).loaded == 1


@pytest.mark.parametrize("content", [
    b"not json", b"[]", b'{"format": "capacity-provider-form/1"}',
    json.dumps({"format": "capacity-provider-form/1", "submission_id": "0" * 32, "link_id": "L0123456789",
                "provider_id": "veilig", "submitted_at": "2026-12-01T10:00:00", "services": [
                    {"service_id": "S1", "action": "update", "figures": {}, "units": {}}]}).encode(),
    json.dumps({"format": "capacity-provider-form/1", "submission_id": "0" * 32, "link_id": "L0123456789",
                "provider_id": "veilig", "submitted_at": "2026-12-01T10:00:00+00:00", "services": [
                    {"service_id": "S1", "action": "update", "figures": {"remarks": "Jan Jansen"},
                     "units": {}}]}).encode(),
    json.dumps({"format": "capacity-provider-form/1", "submission_id": "0" * 32, "link_id": "L0123456789",
                "provider_id": "veilig", "submitted_at": "2026-12-01T10:00:00+00:00", "services": [
                    {"service_id": "S1", "action": "update", "figures": {"available": "1" * 40},
                     "units": {}}]}).encode(),
])
def test_a_file_that_is_no_well_formed_submission_is_refused_without_repeating_free_text(content: bytes) -> None:
    with pytest.raises(StructuralError) as refused:
        read_submission("x.json", content)
    assert "Jan" not in refused.value.en and "Jan" not in refused.value.nl


def test_the_web_and_the_ingester_check_with_the_same_function(world) -> None:
    paths, _, link_id = world
    sent = new_submission(link_id, "veilig", [
        ServiceFigures("S1", "update", figures(available="1", maximum="10", status="vol"), {})])
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        checked = check_submission(sent, described_services(con, "veilig"), read_reference(con), datetime.now(UTC))
    finally:
        con.close()
    assert [e.column for e in checked.rejected] == ["status"]
    assert "status 'full' but available is 1" in checked.rejected[0].en
    write_submission(paths, sent)
    summary = run_forms(paths)
    assert (summary.status, summary.rejected) == ("failed", 1)
    assert query(paths, "SELECT column_name, message_en FROM rejected_row") == [
        ("status", checked.rejected[0].en)]
