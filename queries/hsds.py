"""Open Referral HSDS 3.1 export: services with their latest capacity, as pages of the HSDS API.

Ids: a service or provider id that already is a UUID is kept; any other becomes a UUID5 over it, and
phones, languages, service areas, capacities, units, attributes and taxonomy terms get UUID5s over
their parent and key, so each export of the same data has the same ids.
Descriptive fields are attributes in the convention of ingest/sources/hsds.py, so that our own HSDS
reader reads the export back: taxonomy "capacity", code "key:value" (care_type, target_group,
framework, whole_family, violence_profile), or code "key" with a `value` for the waiting days.
Never an address or a location (none is stored); e-mail and web addresses only when well-formed.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import duckdb

from .db import sql_file

NAMESPACE = uuid.UUID("8ab689e6-23d4-4945-8ce6-95eb5dd51814")
CAPACITY_TAXONOMY = "capacity"
KEY_DESCRIPTIONS = {
    "care_type": "Care type of the service.",
    "target_group": "A target group of the service.",
    "framework": "Framework of a perpetrator programme: voluntary, mandated or both.",
    "whole_family": "Whether the service helps the whole family together.",
    "violence_profile": "A violence profile the service is meant for.",
    "wait_days_intake": "Days from referral to intake, as last reported.",
    "wait_days_treatment": "Days from intake to start of treatment, as last reported.",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def read_page(cur: duckdb.DuckDBPyConnection, page: int, per_page: int) -> dict[str, Any]:
    """Page `page` (from 1) of all services, `per_page` services per page, in HSDS form."""
    total, rows = cur.execute(sql_file("hsds_services"),
                              {"limit": per_page, "offset": (page - 1) * per_page}).fetchone()
    return hsds_page([service(row) for row in rows], total, page, per_page)


def hsds_page(contents: list[dict], total_items: int, page: int, per_page: int) -> dict[str, Any]:
    """The HSDS (openapi `Page`) envelope around one page of contents."""
    total_pages = math.ceil(total_items / per_page)
    return {"total_items": total_items, "total_pages": total_pages, "page_number": page, "size": len(contents),
            "first_page": page == 1, "last_page": page >= total_pages, "empty": not contents,
            "contents": contents}


def service(row: dict[str, Any]) -> dict[str, Any]:
    """One row of hsds_services.sql as an HSDS 3.1 service."""
    service_id = entity_id("service", row["service_id"])
    organization_id = entity_id("organization", row["provider_id"])
    return _present({
        "id": service_id,
        "name": row["name"],
        "status": "temporarily closed" if row["reported_status"] == "closed" else "active",
        "organization_id": organization_id,
        "organization": {"id": organization_id, "name": row["provider_name"], "description": ""},
        "email": row["email"] if _is_email(row["email"]) else None,
        "url": row["website"] if _is_web_address(row["website"]) else None,
        "minimum_age": row["age_min"],
        "maximum_age": row["age_max"],
        "languages": [{"id": child_id(service_id, "language", code), "service_id": service_id, "code": code}
                      for code in row["languages"]],
        "phones": [{"id": child_id(service_id, "phone", row["phone"]), "service_id": service_id,
                    "number": row["phone"]}] if row["phone"] else [],
        "service_areas": [service_area(service_id, area) for area in row["areas"]],
        "capacities": capacities(service_id, row),
        "attributes": [attribute(service_id, code, value) for code, value in attribute_codes(row)],
    })


def service_area(service_id: str, area: dict[str, str]) -> dict[str, str]:
    """A municipality by its exact name; a region as `level:code` (what our reader accepts back), named in the
    description."""
    if area["level"] == "gemeente":
        return {"id": child_id(service_id, "service_area", area["level"], area["code"]), "service_id": service_id,
                "name": area["name"]}
    return {"id": child_id(service_id, "service_area", area["level"], area["code"]), "service_id": service_id,
            "name": f"{area['level']}:{area['code']}", "description": area["name"]}


def capacities(service_id: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest observation as a service capacity (none when it has no available count)."""
    if row["available"] is None:
        return []
    unit = row["unit"]
    return [_present({"id": child_id(service_id, "capacity", unit), "service_id": service_id,
                      "unit": {"id": str(uuid.uuid5(NAMESPACE, f"unit/{unit}")), "name": unit},
                      "available": row["available"], "maximum": row["maximum"], "updated": iso(row["valid_at"])})]


def attribute_codes(row: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(taxonomy term code, attribute value) of each descriptive attribute."""
    words = [("care_type", row["care_type"]), *(("target_group", group) for group in row["target_groups"]),
             ("framework", row["framework"]), ("whole_family", "true" if row["whole_family"] else "false"),
             *(("violence_profile", profile) for profile in row["violence_profiles"])]
    days = [("wait_days_intake", row["wait_days_intake"]), ("wait_days_treatment", row["wait_days_treatment"])]
    return ([(f"{key}:{word}", None) for key, word in words if word]
            + [(key, str(number)) for key, number in days if number is not None])


def attribute(service_id: str, code: str, value: str | None) -> dict[str, Any]:
    """A service attribute with its taxonomy term in the capacity taxonomy."""
    term_id = str(uuid.uuid5(NAMESPACE, f"taxonomy_term/{code}"))
    term = {"id": term_id, "code": code, "name": code, "description": KEY_DESCRIPTIONS[code.partition(":")[0]],
            "taxonomy": CAPACITY_TAXONOMY}
    return _present({"id": child_id(service_id, "attribute", code), "link_id": service_id, "link_entity": "service",
                     "taxonomy_term_id": term_id, "value": value, "taxonomy_term": term})


def entity_id(kind: str, key: str) -> str:
    """`key` itself when it is a UUID (canonical form), else a UUID5 over kind and key."""
    try:
        if str(uuid.UUID(key)) == key:
            return key
    except ValueError:
        pass
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def child_id(parent_id: str, kind: str, *key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join((parent_id, kind, *key))))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def _is_email(text: str | None) -> bool:
    return bool(text) and _EMAIL.fullmatch(text) is not None


def _is_web_address(text: str | None) -> bool:
    if not text:
        return False
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields with a value (HSDS has no nulls: an unknown field is left out)."""
    return {name: value for name, value in fields.items() if value is not None}
