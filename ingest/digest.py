"""The weekly digest: per subscription, its regions' status now and a week ago, what changed and why, the top
shortfalls, the share of fresh figures and a 12-week trend chart of each region's worst combination.

It goes out at CAPACITY_DIGEST_SCHEDULE (a weekday and a time, Dutch time) and at most once per subscription
and week: `digest_sent` commits with the queued message, so a second round or a restart sends nothing, and a
digest missed while the process was down goes out when it is back. A subscription made after this week's
moment waits for the next one. The public audience gets the current public view only: no week ago and no
trend (the same rule as on the site, HISTORY_ROLE), and no hidden cell.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import duckdb
from markupsafe import escape

from dashboard.i18n import t
from queries import settings
from queries.connection import PublishedReader
from queries.db import rows, run
from queries.errors import CapacityError
from queries.moments import AMSTERDAM
from queries.reference import care_labels
from queries.settings import HISTORY_ROLE
from queries.shortfall import Figures, Shortfall, shortfall, trends
from queries.status import exceeds, number
from queries.suppression import SUPPRESSED, public_shortfall
from queries.warehouse import Warehouse

from .alert_messages import footer_html, footer_text, page, pick, region_link
from .digest_chart import TrendPoint, trend_png
from .outbox import OutgoingMail, enqueue
from .subscriptions import AUDIENCES, Subscription
from .webhooks import OutgoingWebhook, enqueue_webhooks

DIGEST_KIND = "digest"
SCHEMA = "capacity-digest/1"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE = re.compile(r"(mon|tue|wed|thu|fri|sat|sun)\s+([01]\d|2[0-3]):([0-5]\d)")
STATUS_RANK = {"red": 0, "grey": 1, "amber": 2, "green": 3}
TREND_WEEKS = 12
TOP_SHOWN = 3
SENT = "SELECT subscription_id FROM digest_sent WHERE week_of = ?"
RECORD = """
INSERT INTO digest_sent (subscription_id, week_of, queued_at, message_id, delivery_id) VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING"""


@dataclass(frozen=True)
class RegionDigest:
    level: str
    code: str
    name: str
    now: list[Shortfall]
    week_ago: list[Shortfall] | None      # None: not for this audience
    trend: list[Figures] | None
    worst: Shortfall | None               # the worst combination with fresh figures now (its trend is charted)


def schedule_moment(text: str) -> tuple[int, time]:
    """('mon 07:00' ->) weekday number and time; CapacityError naming the value when it is not one."""
    match = _SCHEDULE.fullmatch(text.strip().lower())
    if not match:
        raise CapacityError(f"CAPACITY_DIGEST_SCHEDULE '{text}' is geen weekdag en tijd zoals 'mon 07:00'.",
                            f"CAPACITY_DIGEST_SCHEDULE '{text}' is not a weekday and time such as 'mon 07:00'.")
    return WEEKDAYS.index(match.group(1)), time(int(match.group(2)), int(match.group(3)))


def last_digest_moment(now: datetime, schedule: str) -> datetime:
    """The latest scheduled digest moment at or before `now` (Dutch wall-clock time, as UTC)."""
    weekday, clock = schedule_moment(schedule)
    local = now.astimezone(AMSTERDAM)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(day, clock, tzinfo=AMSTERDAM)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), clock, tzinfo=AMSTERDAM)
    return moment.astimezone(timezone.utc)


def send_digests(warehouse: Warehouse, reader: PublishedReader, subscriptions: list[Subscription],
                 now: datetime, schedule: str | None = None) -> int:
    """Queue this week's digest for every digest subscription that has not had it; how many were queued."""
    moment = last_digest_moment(now, schedule or settings.get("digest_schedule"))
    week_of = moment.astimezone(AMSTERDAM).date()
    candidates = [s for s in subscriptions if s.kind == "digest" and s.created_at < moment.timestamp()]
    if not candidates:
        return 0
    with warehouse.transaction() as con:
        done = {sid for (sid,) in rows(con, SENT, [week_of])}
    todo = [s for s in candidates if s.subscription_id not in done]
    if not todo:
        return 0
    with reader.snapshot() as (publication, cur):
        labels = care_labels(cur)
        composed = [(s, [region_digest(cur, s, level, code, now) for level, code in s.scope.regions]) for s in todo]
    queued = 0
    with warehouse.transaction() as con:
        done = {sid for (sid,) in rows(con, SENT, [week_of])}
        for subscription, regions in composed:
            if subscription.subscription_id in done:
                continue
            _queue(con, subscription, regions, labels, week_of, publication.sequence, now)
            queued += 1
    return queued


def region_digest(cur: duckdb.DuckDBPyConnection, subscription: Subscription, level: str, code: str,
                  now: datetime) -> RegionDigest:
    """One region's figures for a subscriber: now, and (when the audience may see history) a week ago and the
    12-week trend of the worst combination now."""
    history = AUDIENCES.index(subscription.audience) >= AUDIENCES.index(HISTORY_ROLE)
    if history:
        cells = shortfall(cur, level, now, region=code)
    else:
        cells = [c for c in public_shortfall(cur, level, now, None, None, code) if c.status != SUPPRESSED]
    name = cells[0].region_name if cells else code
    worst = min((c for c in cells if c.services_fresh), key=_severity, default=None)
    if not history:
        return RegionDigest(level, code, name, cells, None, None, worst)
    week_ago = shortfall(cur, level, now - timedelta(days=7), region=code)
    trend = (trends(cur, level, code, worst.care_type, worst.target_group, now, TREND_WEEKS)
             if worst is not None else None)
    return RegionDigest(level, code, name, cells, week_ago, trend, worst)


def _severity(cell: Shortfall) -> tuple:
    return (STATUS_RANK.get(cell.status, 9), -(cell.norm_gap or 0), -(cell.unmet_now or 0), cell.care_type,
            cell.target_group)


def chart_metric(cell: Shortfall) -> tuple[str, float | None]:
    """What the trend of a cell shows: the intake wait when it is over its norm, else the norm gap where a
    norm exists, else the unmet demand now; with the norm line where there is one."""
    if (cell.median_wait_intake_days is not None and cell.wait_norm_intake_days is not None
            and exceeds(cell.median_wait_intake_days, cell.wait_norm_intake_days)):
        return "median_wait_intake_days", float(cell.wait_norm_intake_days)
    if cell.norm_places is not None:
        return "norm_gap", None
    return "unmet_now", None


CHART_WORDS = {"median_wait_intake_days": ("mediane aanmeldwachttijd (dagen)", "median intake wait (days)"),
               "norm_gap": ("plaatsen tekort op de norm", "places short of the norm"),
               "unmet_now": ("meer wachtenden dan vrije plaatsen", "more waiting than free places")}


def _chart(region: RegionDigest, labels: dict, lang: str) -> tuple[bytes, str] | None:
    if not region.trend or region.worst is None:
        return None
    metric, norm = chart_metric(region.worst)
    combination = _combination(region.worst, labels, lang)
    title = f"{region.name}: {combination}"
    points = [TrendPoint(c.at.astimezone(AMSTERDAM).date(), getattr(c, metric)) for c in region.trend]
    label = pick(lang, *CHART_WORDS[metric])
    png = trend_png(points, title, label, lang, norm, "norm" if norm is not None else None)
    alt = pick(lang, f"Verloop over {TREND_WEEKS} weken van {label} voor {title}",
               f"{TREND_WEEKS}-week trend of {label} for {title}")
    return png, alt


def _combination(cell: Shortfall, labels: dict, lang: str) -> str:
    index = 1 if lang == "en" else 0
    return (f"{labels[('care_type', cell.care_type)][index]} — "
            f"{labels[('target_group', cell.target_group)][index].lower()}")


def _counts(cells: list[Shortfall], lang: str) -> str:
    counted = {s: sum(1 for c in cells if c.status == s) for s in STATUS_RANK}
    return ", ".join(f"{counted[s]} {t(s, lang)}" for s in STATUS_RANK if counted[s]) or pick(lang, "geen", "none")


def _changes(region: RegionDigest, labels: dict, lang: str) -> list[str]:
    """The combinations whose status differs from a week ago, with the reasons now."""
    if region.week_ago is None:
        return []
    before = {(c.care_type, c.target_group): c.status for c in region.week_ago}
    return [f"{_combination(c, labels, lang)}: {t(before[(c.care_type, c.target_group)], lang)} → {t(c.status, lang)}"
            f" ({'; '.join(c.reasons(lang))})"
            for c in sorted(region.now, key=_severity)
            if (c.care_type, c.target_group) in before and before[(c.care_type, c.target_group)] != c.status]


def _top(region: RegionDigest, labels: dict, lang: str) -> list[str]:
    """The largest norm gaps, unmet demand and waits over the norm, at most TOP_SHOWN of each."""
    lines = []
    gaps = sorted((c for c in region.now if c.norm_gap and exceeds(c.norm_gap, 0)), key=lambda c: -c.norm_gap)
    lines += [pick(lang, f"{_combination(c, labels, lang)}: {number(c.norm_gap, lang)} plaatsen onder de norm",
                   f"{_combination(c, labels, lang)}: {number(c.norm_gap, lang)} places below the norm")
              for c in gaps[:TOP_SHOWN]]
    unmet = sorted((c for c in region.now if c.unmet_now and exceeds(c.unmet_now, 0)), key=lambda c: -c.unmet_now)
    lines += [pick(lang, f"{_combination(c, labels, lang)}: {number(c.unmet_now, lang)} meer wachtenden dan vrije plaatsen",
                   f"{_combination(c, labels, lang)}: {number(c.unmet_now, lang)} more waiting than free places")
              for c in unmet[:TOP_SHOWN]]
    waits = [c for c in region.now if c.median_wait_intake_days is not None and c.wait_norm_intake_days is not None
             and exceeds(c.median_wait_intake_days, c.wait_norm_intake_days)]
    lines += [pick(lang, f"{_combination(c, labels, lang)}: mediane aanmeldwachttijd "
                         f"{number(c.median_wait_intake_days, lang)} dagen, norm {c.wait_norm_intake_days}",
                   f"{_combination(c, labels, lang)}: median intake wait "
                   f"{number(c.median_wait_intake_days, lang)} days, norm {c.wait_norm_intake_days}")
              for c in sorted(waits, key=lambda c: -c.median_wait_intake_days)[:TOP_SHOWN]]
    return lines


def fresh_share(cells: list[Shortfall]) -> float | None:
    """Services with fresh figures over all services, summed over the region's combinations."""
    services = sum(c.services or 0 for c in cells)
    return None if services == 0 else sum(c.services_fresh or 0 for c in cells) / services


def digest_mail(subscription: Subscription, regions: list[RegionDigest], labels: dict, week_of: date
                ) -> tuple[str, str, str, tuple[tuple[str, bytes], ...]]:
    """(subject, text, html, images) of one digest."""
    lang = subscription.lang
    subject = pick(lang, f"Weekoverzicht capaciteit, week van {week_of:%d-%m-%Y}",
                   f"Weekly capacity digest, week of {week_of:%d-%m-%Y}")
    text_parts, html_parts, images = [], [], []
    for index, region in enumerate(regions):
        text, html, chart = _region_section(subscription, region, labels, f"trend-{index}")
        text_parts.append(text)
        html_parts.append(html)
        if chart is not None:
            images.append(chart)
    if subscription.audience == "public":
        note = pick(lang, "Dit overzicht toont het huidige openbare beeld; cijfers van minder dan 3 aanbieders "
                          "zijn afgeschermd en weggelaten.",
                    "This digest shows the current public picture; figures from fewer than 3 providers are "
                    "hidden and left out.")
        text_parts.append(note)
        html_parts.append(f"<p>{escape(note)}</p>")
    text = "\n\n".join(text_parts) + "\n\n" + footer_text(subscription)
    html = "".join(html_parts) + footer_html(subscription)
    return subject, text, page(f"<h1 style=\"font-size:1.3em\">{escape(subject)}</h1>" + html, lang), tuple(images)


def _region_section(subscription: Subscription, region: RegionDigest, labels: dict,
                    content_id: str) -> tuple[str, str, tuple[str, bytes] | None]:
    lang = subscription.lang
    lines = [pick(lang, f"Nu: {_counts(region.now, lang)}", f"Now: {_counts(region.now, lang)}")]
    if region.week_ago is not None:
        lines.append(pick(lang, f"Een week geleden: {_counts(region.week_ago, lang)}",
                          f"A week ago: {_counts(region.week_ago, lang)}"))
    share = fresh_share(region.now)
    if share is not None:
        lines.append(pick(lang, f"Actuele cijfers: {round(100 * share)}% van de aanbieders",
                          f"Fresh figures: {round(100 * share)}% of the services"))
    changes, top = _changes(region, labels, lang), _top(region, labels, lang)
    link = region_link(subscription, region.level, region.code)
    chart = _chart(region, labels, lang)
    text = "\n".join([region.name, *lines])
    if region.week_ago is not None:
        text += "\n" + pick(lang, "Veranderd:", "Changed:") + "".join(f"\n  - {c}" for c in changes or
                                                                      [pick(lang, "niets", "nothing")])
    text += "\n" + pick(lang, "Grootste tekorten:", "Largest shortfalls:") + "".join(
        f"\n  - {line}" for line in top or [pick(lang, "geen", "none")])
    text += f"\n{link}"
    html = (f"<h2 style=\"font-size:1.1em\">{escape(region.name)}</h2><p>"
            + "<br>".join(str(escape(line)) for line in lines) + "</p>")
    if region.week_ago is not None:
        html += (f"<p>{escape(pick(lang, 'Veranderd:', 'Changed:'))}</p><ul>"
                 + "".join(f"<li>{escape(c)}</li>" for c in changes or [pick(lang, "niets", "nothing")]) + "</ul>")
    html += (f"<p>{escape(pick(lang, 'Grootste tekorten:', 'Largest shortfalls:'))}</p><ul>"
             + "".join(f"<li>{escape(line)}</li>" for line in top or [pick(lang, "geen", "none")]) + "</ul>")
    if chart is not None:
        html += (f'<p><img src="cid:{content_id}" width="600" height="260" alt="{escape(chart[1])}" '
                 'style="max-width:100%;height:auto"></p>')
    html += f'<p><a href="{escape(link)}">{escape(pick(lang, "Bekijk de regio", "View the region"))}</a></p>'
    return text, html, (content_id, chart[0]) if chart is not None else None


def digest_payload(subscription: Subscription, regions: list[RegionDigest], week_of: date, publication: int,
                   now: datetime) -> dict:
    """The webhook body of a digest (schema capacity-digest/1): per region the status counts and worst cell."""
    def counts(cells: list[Shortfall] | None) -> dict | None:
        return None if cells is None else {s: sum(1 for c in cells if c.status == s) for s in STATUS_RANK}
    return {"schema": SCHEMA, "subscription_id": subscription.subscription_id, "week_of": week_of.isoformat(),
            "publication": publication, "lang": subscription.lang,
            "evaluated_at": now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "regions": [{"region_level": r.level, "region_code": r.code, "region_name": r.name,
                         "now": counts(r.now), "week_ago": counts(r.week_ago), "fresh_share": fresh_share(r.now),
                         "worst": None if r.worst is None else {
                             "care_type": r.worst.care_type, "target_group": r.worst.target_group,
                             "status": r.worst.status, "reasons": list(r.worst.reasons(subscription.lang))},
                         "url": region_link(subscription, r.level, r.code)} for r in regions]}


def _queue(con: duckdb.DuckDBPyConnection, subscription: Subscription, regions: list[RegionDigest], labels: dict,
           week_of: date, publication: int, now: datetime) -> None:
    message_id = delivery_id = None
    if subscription.channel == "email":
        subject, text, html, images = digest_mail(subscription, regions, labels, week_of)
        (message_id,) = enqueue(con, [OutgoingMail(DIGEST_KIND, subscription.address, subject, text, html,
                                                   images=images)], now)
    else:
        body = json.dumps(digest_payload(subscription, regions, week_of, publication, now), ensure_ascii=False,
                          sort_keys=True)
        (delivery_id,) = enqueue_webhooks(con, [OutgoingWebhook(subscription.subscription_id, subscription.address,
                                                                body)], now)
    run(con, RECORD, [subscription.subscription_id, week_of, now, message_id, delivery_id])
