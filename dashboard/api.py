"""Read-only HTTP API: the `capacity report` exports (JSON, CSV, XLSX) and an Open Referral HSDS 3.1 feed.

  /api/v1/shortfall  level, at, care_type, target_group, framework, region, lang, format
  /api/v1/providers  gemeente, care_type, target_group, age, framework, language, violence_profile,
                     whole_family, available_only, at, format
  /api/v1/sources    at, format
  /api/hsds/services page, per_page (HSDS 3.1 paged services with capacities, see queries/hsds.py)

GET only, on the worker's published copy. Every answer carries Cache-Control: no-store. A bad or
unknown parameter gives 400 with {"error": {"nl": ..., "en": ...}} naming the parameter and its value;
no published data yet gives 503.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import date, datetime, timezone
from typing import Any, Sequence

import duckdb
from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from queries.errors import CapacityError, NoPublishedData
from queries.export import to_csv, to_xlsx
from queries.health import SOURCE_COLUMNS, source_health
from queries.hsds import read_page
from queries.moments import AMSTERDAM, as_of
from queries.providers import PROVIDER_COLUMNS, VIOLENCE_PROFILES, SearchFilters, search_providers
from queries.reference import care_labels, region_levels
from queries.shortfall import REPORT_COLUMNS, shortfall
from queries.suppression import public_level, public_shortfall

from . import data
from .access import is_public

blueprint = Blueprint("api", __name__)

DEFAULT_LEVEL = "veilig_thuis"
FORMATS = ("json", "csv", "xlsx")
LANGUAGES = ("nl", "en")
FRAMEWORKS = ("voluntary", "mandated")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "ja"), ("false", "0", "no", "nee", "")
MAX_AGE = 120
HSDS_PER_PAGE, HSDS_MAX_PER_PAGE, MAX_PAGE = 50, 500, 1_000_000
GEMEENTE_CODE = re.compile(r"GM[0-9]{4}")
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHORTFALL_PARAMETERS = ("level", "at", "care_type", "target_group", "framework", "region", "lang", "format")
PROVIDER_PARAMETERS = ("gemeente", "care_type", "target_group", "age", "framework", "language", "violence_profile",
                       "whole_family", "available_only", "at", "format")
SOURCE_PARAMETERS = ("at", "format")
HSDS_PARAMETERS = ("page", "per_page", "full")  # `full` is accepted and ignored: services are always full
SHOWN_VALUE_LENGTH = 100


class BadParameter(CapacityError):
    """A query parameter that cannot be used; the message names it and its value."""

    def __init__(self, name: str, value: str, rule_nl: str, rule_en: str) -> None:
        shown = value[:SHOWN_VALUE_LENGTH]
        super().__init__(f"ongeldige parameter {name}='{shown}': {rule_nl}",
                         f"invalid parameter {name}='{shown}': {rule_en}")


# --- routes ------------------------------------------------------------------------------------


@blueprint.get("/api/v1/shortfall")
def shortfall_report() -> Response:
    args = _checked(SHORTFALL_PARAMETERS)
    moment, form = _moment(args), _choice(args, "format", FORMATS, "json")
    lang, framework = _choice(args, "lang", LANGUAGES, "nl"), _choice(args, "framework", FRAMEWORKS, None)
    level = args.get("level") or DEFAULT_LEVEL
    with data.snapshot() as (publication, cur):
        levels = [known.level for known in region_levels(cur)]
        if is_public():
            level = _public_choice(args, framework, public_level(levels))
        _known("level", level, levels)
        care_type, target_group = _care_filters(cur, args)
        if is_public():
            cells = public_shortfall(cur, level, moment, care_type, target_group, args.get("region") or None)
        else:
            cells = shortfall(cur, level, moment, care_type, target_group, framework, args.get("region") or None)
    rows = [cell.report_row(lang) for cell in cells]
    return _report(f"shortfall-{level}", form, REPORT_COLUMNS, rows, moment, {"level": level},
                   publication.published_at)


def _public_choice(args: MultiDict[str, str], framework: str | None, level: str) -> str:
    """The public sees one level and no framework split (either would let hidden figures be subtracted)."""
    if framework:
        raise BadParameter("framework", framework, "niet beschikbaar in de openbare weergave",
                           "not available in the public view")
    if args.get("level") not in (None, "", level):
        raise BadParameter("level", args["level"], f"de openbare weergave toont alleen {level}",
                           f"the public view shows {level} only")
    return level


@blueprint.get("/api/v1/providers")
def provider_report() -> Response:
    args = _checked(PROVIDER_PARAMETERS)
    moment, form = _moment(args), _choice(args, "format", FORMATS, "json")
    with data.snapshot() as (publication, cur):
        care_type, target_group = _care_filters(cur, args)
        filters = SearchFilters(
            gemeente=_gemeente(args), care_type=care_type, target_group=target_group,
            age=_whole(args, "age", 0, MAX_AGE), framework=_choice(args, "framework", FRAMEWORKS, None),
            language=args.get("language", "").strip().lower() or None,
            violence_profile=_choice(args, "violence_profile", VIOLENCE_PROFILES, None),
            whole_family=_flag(args, "whole_family"), available_only=_flag(args, "available_only"))
        rows = [asdict(match) for match in search_providers(cur, filters, moment)]
    return _report("providers", form, PROVIDER_COLUMNS, rows, moment, None, publication.published_at)


@blueprint.get("/api/v1/sources")
def source_report() -> Response:
    args = _checked(SOURCE_PARAMETERS)
    moment, form = _moment(args), _choice(args, "format", FORMATS, "json")
    with data.snapshot() as (publication, cur):
        rows = [asdict(health) for health in source_health(cur, moment)]
    return _report("sources", form, SOURCE_COLUMNS, rows, moment, None, publication.published_at)


@blueprint.get("/api/hsds/services")
def hsds_services() -> Response:
    args = _checked(HSDS_PARAMETERS)
    page = _whole(args, "page", 1, MAX_PAGE) or 1
    per_page = _whole(args, "per_page", 1, HSDS_MAX_PER_PAGE) or HSDS_PER_PAGE
    with data.reader().cursor() as cur:
        return _json(read_page(cur, page, per_page))


@blueprint.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> Response:
    return _json({"error": {"nl": error.nl, "en": error.en}}, 400)


@blueprint.errorhandler(NoPublishedData)
def _no_data(error: NoPublishedData) -> Response:
    response = _json({"error": {"nl": "Er zijn nog geen gegevens gepubliceerd; probeer het later opnieuw.",
                                "en": "No data has been published yet; try again later."}}, 503)
    response.headers["Retry-After"] = "60"
    return response


# --- answers -----------------------------------------------------------------------------------


def _report(name: str, form: str, columns: Sequence[str], rows: list[dict[str, Any]], moment: datetime,
            extra: dict[str, Any] | None, published_at: str) -> Response:
    """The rows as JSON (with the moment and the publication they come from) or as a CSV or XLSX download."""
    if form == "json":
        return _json({**(extra or {}), "at": _plain(moment), "published_at": published_at, "columns": list(columns),
                      "rows": [{column: _plain(row.get(column)) for column in columns} for row in rows]})
    file_name = f"{name}-{moment.astimezone(AMSTERDAM):%Y-%m-%d}.{form}"
    if form == "csv":
        response = Response(to_csv(columns, rows), mimetype="text/csv")
    else:
        response = Response(to_xlsx(columns, rows, sheet=name[:31]), mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def _json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, mimetype="application/json")


def _plain(value: Any) -> Any:
    """A value as JSON holds it: moments as ISO 8601 (UTC), lists as lists."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


# --- parameters --------------------------------------------------------------------------------


def _checked(allowed: Sequence[str]) -> MultiDict[str, str]:
    """The query parameters, refusing any this route does not know (a typo would silently widen a filter)."""
    for name, value in request.args.items():
        if name not in allowed:
            raise BadParameter(name, value, f"onbekende parameter; toegestaan: {', '.join(allowed)}",
                               f"unknown parameter; allowed: {', '.join(allowed)}")
    return request.args


def _moment(args: MultiDict[str, str]) -> datetime:
    text = args.get("at", "")
    try:
        return as_of(text)
    except ValueError:
        raise BadParameter("at", text, "geen datum (2026-06-30) of tijdstip (2026-06-30T14:00)",
                           "not a date (2026-06-30) or moment (2026-06-30T14:00)") from None


def _choice(args: MultiDict[str, str], name: str, choices: Sequence[str], default: str | None) -> str | None:
    """One of `choices`, or `default` when absent or empty."""
    value = args.get(name, "")
    if value == "":
        return default
    _known(name, value, choices)
    return value


def _known(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        options = ", ".join(choices)
        raise BadParameter(name, value, f"kies uit {options}", f"choose from {options}")


def _care_filters(cur: duckdb.DuckDBPyConnection, args: MultiDict[str, str]) -> tuple[str | None, str | None]:
    """The care_type and target_group filters, each checked against the published care domain."""
    labels = care_labels(cur)
    care_types = [code for kind, code in labels if kind == "care_type"]
    target_groups = [code for kind, code in labels if kind == "target_group"]
    return _choice(args, "care_type", care_types, None), _choice(args, "target_group", target_groups, None)


def _gemeente(args: MultiDict[str, str]) -> str | None:
    value = args.get("gemeente", "")
    code = value.strip().upper()
    if code and not GEMEENTE_CODE.fullmatch(code):
        raise BadParameter("gemeente", value, "geen gemeentecode zoals GM0363", "not a municipality code like GM0363")
    return code or None


def _whole(args: MultiDict[str, str], name: str, low: int, high: int) -> int | None:
    """A whole number from `low` to `high`, or None when absent."""
    value = args.get(name, "")
    if value == "":
        return None
    number = int(value) if WHOLE_NUMBER.fullmatch(value) else None
    if number is None or not low <= number <= high:
        raise BadParameter(name, value, f"moet een geheel getal van {low} tot en met {high} zijn",
                           f"must be a whole number from {low} to {high}")
    return number


def _flag(args: MultiDict[str, str], name: str) -> bool:
    value = args.get(name, "")
    if value.lower() not in TRUE_WORDS + FALSE_WORDS:
        raise BadParameter(name, value, f"kies uit {', '.join(TRUE_WORDS)} of {', '.join(FALSE_WORDS[:-1])}",
                           f"choose from {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS[:-1])}")
    return value.lower() in TRUE_WORDS
