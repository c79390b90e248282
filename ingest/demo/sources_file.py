"""The demo's sources.toml: every source of the world with `demo = true`, read by the real ingest."""
from __future__ import annotations

import json

from .world import Source, World

PACKAGE_FOLDER = "hsds"   # relative to the demo folder, which holds sources.toml
FEED_MAPPING = {
    "id": "service_id", "naam": "service_name", "aanbieder.id": "provider_id", "aanbieder.naam": "provider_name",
    "capaciteit.eenheid": "unit", "capaciteit.totaal": "maximum", "capaciteit.vrij": "available",
    "wachttijd_weken.aanmelding": "wait_days_intake", "wachttijd_weken.behandeling": "wait_days_treatment",
    "leeftijd.min": "age_min", "leeftijd.max": "age_max", "contact.telefoon": "phone", "contact.email": "email",
}
WEEKS_MAPPING = {"wachttijd aanmelding (weken)": "wait_days_intake",
                 "wachttijd behandeling (weken)": "wait_days_treatment"}
WAITS_IN_WEEKS = {"wait_days_intake": "weeks", "wait_days_treatment": "weeks"}


def feed_path(source: Source) -> str:
    return f"/feeds/{source.id}"


def api_path(source: Source) -> str:
    """The HSDS API base; its pages are at <base>/services."""
    return f"/hsds/{source.id}"


def sources_toml(world: World, port: int) -> str:
    head = [(f"# Demonstratiegegevens: fictieve aanbieders en cijfers (capacity demo, seed {world.seed}, "
             f"schaal {world.scale})."),
            "# Demonstration data: fictional providers and figures. Rewritten by `capacity demo`; do not edit.",
            "# The feeds and the HSDS API are served by `capacity demo serve` on 127.0.0.1."]
    return "\n".join(head + [line for source in world.sources for line in _entry(source, port)]) + "\n"


def _entry(source: Source, port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}"
    lines = ["", "[[sources]]", f"id = {_text(source.id)}", f"kind = {_text(source.kind)}",
             f"schedule = {_text(source.schedule)}", f"description = {_text(source.description)}", "demo = true"]
    care_type = source.services[0].care_type
    if source.form == "feed":
        lines += [f"url = {_text(base + feed_path(source))}", "timeout_seconds = 5"]
        lines += _table("mapping", FEED_MAPPING) + _table("convert", WAITS_IN_WEEKS)
        lines += _table("defaults", {"care_type": care_type})
    elif source.form == "hsds_api":
        lines += [f"url = {_text(base + api_path(source))}", "per_page = 20", "timeout_seconds = 5"]
    elif source.form == "hsds_package":
        lines += [f"path = {_text(f'{PACKAGE_FOLDER}/{source.id}')}"]
    else:
        lines += ["settle_seconds = 0   # the demo moves each finished file into the inbox in one step"]
        if source.form == "csv_nl_weeks":
            lines += _table("mapping", WEEKS_MAPPING) + _table("convert", WAITS_IN_WEEKS)
    return lines


def _table(name: str, values: dict[str, str]) -> list[str]:
    return [f"[sources.{name}]", *(f"{_text(key)} = {_text(value)}" for key, value in values.items())]


def _text(value: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    return json.dumps(value, ensure_ascii=False)
