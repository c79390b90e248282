"""The interface's words in Dutch (default) and English."""
from __future__ import annotations

LANGS = ("nl", "en")

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("Capaciteit en wachtlijsten huiselijk geweld en kindermishandeling",
                  "Capacity and waiting lists, domestic violence and child abuse"),
    "nav_overview": ("Overzicht", "Overview"),
    "nav_search": ("Zoek aanbod", "Find a place"),
    "nav_purchasing": ("Inkoop", "Purchasing"),
    "nav_sources": ("Databronnen", "Data sources"),
    "updated": ("Gegevens bijgewerkt", "Data updated"),
    "switch_language": ("English", "Nederlands"),
    "switch_language_label": ("Switch to English", "Schakel naar Nederlands"),
    "no_data": ("Geen gegevens voor deze selectie", "No data for this selection"),
    "no_published": ("Er zijn nog geen gegevens gepubliceerd. Start `capacity init` of `make run`.",
                     "No data has been published yet. Run `capacity init` or `make run`."),
    "level": ("Regio-indeling", "Region level"),
    "care_type": ("Zorgsoort", "Care type"),
    "target_group": ("Doelgroep", "Target group"),
    "colour_by": ("Kleur naar", "Colour by"),
    "status": ("Status", "Status"),
    "unmet_now": ("Onvervulde vraag nu", "Unmet demand now"),
    "norm_gap": ("Tekort op de norm", "Gap to the norm"),
    "per_10k": ("Plaatsen per 10.000", "Places per 10,000"),
    "median_wait": ("Mediane wachttijd (dagen)", "Median wait (days)"),
    "places": ("Plaatsen", "Places"),
    "available": ("Nu vrij", "Free now"),
    "waiting": ("Wachtenden", "Waiting"),
    "fresh_share": ("Aanbieders met actuele cijfers", "Services with fresh figures"),
    "region": ("Regio", "Region"),
    "services": ("Aanbieders", "Services"),
    "reasons": ("Waarom", "Why"),
    "map_title": ("Kaart", "Map"),
    "regions_table": ("Regio's, slechtste eerst", "Regions, worst first"),
    "red": ("rood", "red"), "amber": ("oranje", "amber"), "green": ("groen", "green"), "grey": ("grijs", "grey"),
    "unknown": ("onbekend", "unknown"),
    "norm_places": ("Normplaatsen", "Norm places"),
    "national_median": ("Landelijke mediaan per 10.000", "National median per 10,000"),
}

STATUS_ICONS = {"red": "✖", "amber": "▲", "green": "✔", "grey": "?"}
STATUS_COLOURS = {"red": "#c0392b", "amber": "#d68910", "green": "#1e8449", "grey": "#7f8c8d"}


def t(key: str, lang: str) -> str:
    nl, en = TEXT[key]
    return en if lang == "en" else nl


def lang_of(query: dict[str, str]) -> str:
    return "en" if query.get("lang") == "en" else "nl"
