"""Status of a shortfall cell (grey/red/amber/green) and its reasons in words, Dutch and English.

The first rule that holds (DESIGN.md): red without any service; grey when fewer than
half of the services have fresh data; red when a median wait exceeds its norm or the
norm gap is at least 20% of the norm; amber when unmet demand, a wait breach or any
norm gap; else green. Every comparison is decided on the exact value (`exceeds`, `reaches`:
differences within EXACT_TOLERANCE are equal), and a figure that is zero but for floating-point
noise is zero (`settled`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .settings import EXACT_TOLERANCE, GREY_WHEN_FRESH_SHARE_BELOW, RED_WHEN_NORM_GAP_SHARE_AT_LEAST

STATUSES = ("red", "grey", "amber", "green")


@dataclass(frozen=True)
class Assessment:
    status: str
    reasons_nl: tuple[str, ...]
    reasons_en: tuple[str, ...]


def exceeds(value: float, bound: float) -> bool:
    """`value > bound`, decided on the exact values."""
    return value - bound > EXACT_TOLERANCE


def reaches(value: float, bound: float) -> bool:
    """`value >= bound`, decided on the exact values."""
    return value - bound >= -EXACT_TOLERANCE


def settled(value: float | None) -> float | None:
    """A shortfall (unmet demand, norm gap: never negative) that is zero but for floating-point noise is 0."""
    return None if value is None else value if exceeds(value, 0) else 0.0


def number(value: float, lang: str) -> str:
    """Whole numbers plainly, others with one decimal (decimal comma in Dutch); a value below 0.05 that is
    not zero with two significant digits, so that a cause never reads '0'."""
    if 0 < abs(value) < 0.05:
        text = f"{value:.2g}"
    elif abs(value - round(value)) < 0.05:
        return str(int(round(value)))
    else:
        text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "nl" else text


def assess(services: int, services_fresh: int, unmet_now: float | None, norm_places: float | None,
           norm_gap: float | None, median_wait_intake_days: float | None, median_wait_treatment_days: float | None,
           wait_breaches: int, wait_norm_intake_days: int | None, wait_norm_treatment_days: int | None
           ) -> Assessment:
    if services == 0:
        return Assessment("red", ("geen aanbod in deze regio",), ("no service in this region",))
    if services_fresh < GREY_WHEN_FRESH_SHARE_BELOW * services:  # whole numbers: exact
        return Assessment("grey", (f"maar {services_fresh} van {services} aanbieders hebben actuele cijfers",),
                          (f"only {services_fresh} of {services} services have fresh figures",))
    red: list[tuple[str, str]] = []
    for label_nl, label_en, median, norm in (
            ("aanmeldwachttijd", "intake wait", median_wait_intake_days, wait_norm_intake_days),
            ("behandelwachttijd", "treatment wait", median_wait_treatment_days, wait_norm_treatment_days)):
        if median is not None and norm is not None and exceeds(median, norm):
            red.append((f"mediane {label_nl} {number(median, 'nl')} dagen > norm {norm}",
                        f"median {label_en} {number(median, 'en')} days > norm {norm}"))
    if norm_gap is not None and norm_places and reaches(norm_gap, RED_WHEN_NORM_GAP_SHARE_AT_LEAST * norm_places):
        share = round(100 * norm_gap / norm_places)
        red.append((f"{number(norm_gap, 'nl')} plaatsen tekort op een norm van {number(norm_places, 'nl')} ({share}%)",
                    f"{number(norm_gap, 'en')} places short of a norm of {number(norm_places, 'en')} ({share}%)"))
    if red:
        return _assessment("red", red)
    amber: list[tuple[str, str]] = []
    if unmet_now is not None and exceeds(unmet_now, 0):
        amber.append((f"{number(unmet_now, 'nl')} meer wachtenden dan vrije plaatsen",
                      f"{number(unmet_now, 'en')} more waiting than free places"))
    if wait_breaches > 0:
        amber.append((f"{wait_breaches} aanbieder(s) boven de wachttijdnorm",
                      f"{wait_breaches} service(s) above the waiting-time norm"))
    if norm_gap is not None and exceeds(norm_gap, 0):
        amber.append((f"{number(norm_gap, 'nl')} plaatsen onder de norm van {number(norm_places or 0, 'nl')}",
                      f"{number(norm_gap, 'en')} places below the norm of {number(norm_places or 0, 'en')}"))
    if amber:
        return _assessment("amber", amber)
    return Assessment("green", ("geen tekort gevonden",), ("no shortfall found",))


def _assessment(status: str, reasons: list[tuple[str, str]]) -> Assessment:
    nl, en = zip(*reasons)
    return Assessment(status, nl, en)
