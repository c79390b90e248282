"""The demo's HSDS 3.1 output: API pages (services with organization, areas, attributes, capacities) and a
tabular package (a folder of CSV files), in the form ingest/sources/hsds.py reads.

Care type, target groups, framework, whole-family and violence profiles are service attributes in the
taxonomy "capacity"; waits are not published here (a service attribute holds one value for all of a
service's capacities, so it cannot tell the history). No locations, so no addresses.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable

from ..sources.hsds import CAPACITY_TAXONOMY
from .model import AMSTERDAM, Figures
from .world import Service, Source, demo_uuid
from .writers import DUTCH

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "Engels", "ar": "Arabisch", "tr": "Turks", "pl": "Pools",
                  "ti": "Tigrinya", "so": "Somalisch", "uk": "Oekraïens"}
TERM_NAMES = {"care_type": DUTCH["care_type"], "target_group": DUTCH["target_groups"],
              "framework": DUTCH["framework"], "violence_profile": DUTCH["violence_profiles"],
              "whole_family": {"true": "heel gezin"}}
History = Callable[[Service], list[Figures]]


def api_page(seed: int, source: Source, history: History, page: int, per_page: int) -> bytes:
    """Page `page` of /services (HSDS Page fields), every service in full with its capacities."""
    services = source.services
    total_pages = max(1, math.ceil(len(services) / per_page))
    chosen = services[(page - 1) * per_page: page * per_page]
    document = {"total_items": len(services), "total_pages": total_pages, "page_number": page,
                "size": len(chosen), "first_page": page == 1, "last_page": page >= total_pages,
                "empty": not chosen, "contents": [api_service(seed, s, history(s)) for s in chosen]}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def api_service(seed: int, service: Service, capacities: list[Figures]) -> dict:
    sid = service.service_id
    return {
        **_service_fields(service),
        "organization": _organization(service),
        "languages": [{"id": demo_uuid(seed, f"language/{service.key}/{code}"), "service_id": sid,
                       "name": LANGUAGE_NAMES.get(code, code), "code": code} for code in service.languages],
        "phones": [{"id": demo_uuid(seed, f"phone/{service.key}"), "service_id": sid, "number": service.phone,
                    "type": "voice"}],
        "service_areas": [{"id": demo_uuid(seed, f"area/{service.key}/{area}"), "service_id": sid, "name": area}
                          for area in service.areas],
        "attributes": [{"id": demo_uuid(seed, f"attribute/{service.key}/{code}"), "link_id": sid,
                        "taxonomy_term_id": _term(seed, code)["id"], "link_entity": "service",
                        "taxonomy_term": _term(seed, code)} for code in _attribute_codes(service)],
        "capacities": [{**_capacity(seed, service, figures), "unit": _unit(seed, service.unit)}
                       for figures in capacities],
    }


def package_files(seed: int, source: Source, history: History) -> dict[str, bytes]:
    """The CSV files of an HSDS package holding the source's services and their capacities."""
    services = source.services
    codes = sorted({code for s in services for code in _attribute_codes(s)})
    taxonomy_id = demo_uuid(seed, f"taxonomy/{CAPACITY_TAXONOMY}")
    tables = {
        "organizations.csv": [_organization(s) for s in {s.provider_id: s for s in services}.values()],
        "services.csv": [_service_fields(s) for s in services],
        "units.csv": [_unit(seed, unit) for unit in sorted({s.unit for s in services})],
        "service_capacity.csv": [_capacity(seed, s, figures) for s in services for figures in history(s)],
        "service_areas.csv": [{"id": demo_uuid(seed, f"area/{s.key}/{area}"), "service_id": s.service_id,
                               "name": area} for s in services for area in s.areas],
        "phones.csv": [{"id": demo_uuid(seed, f"phone/{s.key}"), "service_id": s.service_id, "number": s.phone,
                        "type": "voice"} for s in services],
        "languages.csv": [{"id": demo_uuid(seed, f"language/{s.key}/{code}"), "service_id": s.service_id,
                           "name": LANGUAGE_NAMES.get(code, code), "code": code}
                          for s in services for code in s.languages],
        "taxonomies.csv": [{"id": taxonomy_id, "name": CAPACITY_TAXONOMY,
                            "description": "Kenmerken voor capaciteit (demonstratiegegevens).", "version": "1"}],
        "taxonomy_terms.csv": [{**{k: v for k, v in _term(seed, code).items() if k != "taxonomy"},
                                "taxonomy_id": taxonomy_id} for code in codes],
        "attributes.csv": [{"id": demo_uuid(seed, f"attribute/{s.key}/{code}"), "link_id": s.service_id,
                            "taxonomy_term_id": _term(seed, code)["id"], "link_entity": "service"}
                           for s in services for code in _attribute_codes(s)],
    }
    return {name: _csv(rows) for name, rows in tables.items()}


def _service_fields(service: Service) -> dict:
    fields = {"id": service.service_id, "organization_id": service.provider_id, "name": service.name,
              "description": "Fictief aanbod (demonstratiegegevens).", "email": service.email, "status": "active",
              "minimum_age": service.age_min, "maximum_age": service.age_max}
    return {k: v for k, v in fields.items() if v is not None}


def _organization(service: Service) -> dict:
    return {"id": service.provider_id, "name": service.provider_name,
            "description": "Fictieve organisatie (demonstratiegegevens)."}


def _capacity(seed: int, service: Service, figures: Figures) -> dict:
    updated = figures.valid_at.astimezone(AMSTERDAM).isoformat()
    return {"id": demo_uuid(seed, f"capacity/{service.key}/{updated}"), "service_id": service.service_id,
            "unit_id": _unit(seed, service.unit)["id"], "available": figures.available,
            "maximum": figures.maximum, "updated": updated}


def _unit(seed: int, unit: str) -> dict:
    return {"id": demo_uuid(seed, f"unit/{unit}"), "name": DUTCH["unit"][unit], "identifier": unit}


def _attribute_codes(service: Service) -> list[str]:
    codes = [f"care_type:{service.care_type}", *(f"target_group:{g}" for g in service.target_groups),
             *(f"violence_profile:{p}" for p in service.violence_profiles)]
    if service.framework:
        codes.append(f"framework:{service.framework}")
    if service.whole_family:
        codes.append("whole_family:true")
    return codes


def _term(seed: int, code: str) -> dict:
    key, _, value = code.partition(":")
    name = TERM_NAMES[key][value]
    return {"id": demo_uuid(seed, f"term/{code}"), "code": code, "name": name,
            "description": f"Kenmerk {name} (demonstratiegegevens).", "taxonomy": CAPACITY_TAXONOMY}


def _csv(rows: list[dict]) -> bytes:
    header = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
