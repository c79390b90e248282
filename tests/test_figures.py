"""Pure figure builders (dashboard/figures.py): what a chart says, read from the figure itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dashboard.figures import trend_waits_figure
from queries.shortfall import Shortfall

START = datetime(2026, 11, 1, 22, 59, 59, tzinfo=timezone.utc)


def week(n: int, intake: float, treatment: float) -> Shortfall:
    return Shortfall(
        at=START + timedelta(weeks=n), region_level="veilig_thuis", region_code="VT13", region_name="Regio",
        care_type="trauma_care", target_group="child", services=2, services_fresh=2, places=4.0, available=0.0,
        waiting=2.0, unmet_now=2.0, norm_places=1.0, norm_gap=0.0, per_10k=1.0, national_median_per_10k=1.0,
        median_wait_intake_days=intake, median_wait_treatment_days=treatment, wait_breaches=1,
        wait_norm_intake_days=28, wait_norm_treatment_days=70, inhabitants=20_000, target_population=10_000.0,
        status="red", reasons_nl=("iets",), reasons_en=("something",))


def test_wait_norms_are_dotted_lines_named_in_the_legend_not_labels_on_the_data() -> None:
    series = [week(0, 25.0, 75.0), week(1, 24.0, 70.0), week(2, 26.0, 79.5)]
    figure = trend_waits_figure(series, "nl")
    norms = [trace for trace in figure["data"] if trace["name"].startswith("norm ")]
    assert [(n["name"], n["y"], n["x"], n["line"]["dash"]) for n in norms] == [
        ("norm aanmeldwachttijd: 28 dagen", [28, 28], [series[0].at.isoformat(), series[2].at.isoformat()], "dot"),
        ("norm behandelwachttijd: 70 dagen", [70, 70], [series[0].at.isoformat(), series[2].at.isoformat()], "dot")]
    assert not figure["layout"].get("annotations")   # no text inside the plot, where the lines run
    assert "norm treatment wait: 70 days" in [trace["name"] for trace in trend_waits_figure(series, "en")["data"]]
