"""Databronnen: every source's runs, failures, rejected rows and staleness; reports received per provider;
providers' personal links, what they sent through them, the mail outbox, and alerts with their webhook calls."""
from __future__ import annotations

from datetime import datetime

import dash
from dash import html

from dashboard.components import AMSTERDAM, empty_state, figure_number, first_rows, frame
from dashboard.alerts_admin import alerts_section
from dashboard.data import page_moment, reader, remembered, snapshot
from dashboard.i18n import lang_of, t
from dashboard.provider_admin import links_section, mail_section, provider_updates, updates_section
from ingest.provider_invites import known_providers
from ingest.subscriptions import SubscriptionStore
from queries.alerts import recent_alerts
from queries.demo import shows_demo_data
from queries.errors import NoPublishedData
from queries.outbox import outbox_summary
from queries.webhooks import webhook_summary
from queries.health import (Correction, ProviderReports, RejectionGroup, SourceHealth, next_runs, provider_reports,
                            recent_corrections, rejection_summary, source_health)

dash.register_page(__name__, path="/databronnen", name="Databronnen", role="steward",
                   title="Databronnen — capaciteit en wachtlijsten")

RUN_ICONS = {"ok": "✔", "partial": "▲", "failed": "✖", "unchanged": "="}


def layout(**query: str) -> html.Div:
    lang = lang_of(query)
    try:
        with snapshot() as (publication, cur):
            demo = remembered(publication, ("demo",), lambda: shows_demo_data(cur))
            moment = page_moment(query.get("at"))
            health, planned, rejections, corrections, reports = remembered(publication, ("sources", moment), lambda: (
                source_health(cur, moment), next_runs(cur), rejection_summary(cur), recent_corrections(cur),
                provider_reports(cur, moment)))
            providers, updates, outbox = remembered(publication, ("provider_links",), lambda: (
                known_providers(cur), provider_updates(cur), outbox_summary(cur)))
            alerts, hooks = remembered(publication, ("alerts",), lambda: (recent_alerts(cur), webhook_summary(cur)))
    except NoPublishedData:
        return frame(lang, "/databronnen", None, [empty_state(lang, t("no_published", lang))], query)
    body = [html.H1(t("sources_title", lang)),
            _sources(health, planned, lang) if health else empty_state(lang),
            _rejections(rejections, lang),
            _corrections(corrections, lang),
            _reports(reports, lang, query),
            links_section(lang, providers),
            updates_section(lang, updates),
            mail_section(lang, outbox),
            alerts_section(lang, SubscriptionStore(reader().paths.subscriptions).active(), alerts, hooks)]
    return frame(lang, "/databronnen", publication, body, query, demo=demo)


def when(moment: datetime | None, lang: str) -> str:
    return t("never", lang) if moment is None else f"{moment.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"


def _outcome(status: str | None, lang: str) -> html.Span:
    if status is None:
        return html.Span(t("never", lang))
    return html.Span([html.Span(RUN_ICONS[status], **{"aria-hidden": "true"}), " ", t(f"run_{status}", lang)],
                     className=f"run run-{status}")


def _sources(health: list[SourceHealth], planned: dict, lang: str) -> html.Section:
    keys = ["source", "kind", "last_run", "run_status", "rows_loaded", "rows_rejected", "rows_filtered", "failures",
            "stale_since", "next_run", "last_error"]
    header = html.Tr([html.Th(t(k, lang), scope="col") for k in keys])
    rows = [html.Tr([
        html.Td(h.source_id), html.Td(h.kind), html.Td(when(h.last_run_at, lang)),
        html.Td(_outcome(h.last_status, lang)),
        html.Td(figure_number(h.last_rows_loaded, lang), className="num"),
        html.Td(figure_number(h.last_rows_rejected, lang), className="num"),
        html.Td(figure_number(h.last_rows_filtered, lang), className="num"),
        html.Td(str(h.consecutive_failures), className="num"),
        html.Td(_staleness(h, lang), className="stale" if h.stale else None),
        html.Td(when(planned.get(h.source_id), lang) if planned.get(h.source_id) else "–"),
        html.Td((h.last_error_en if lang == "en" else h.last_error_nl) or "", className="reasons"),
    ], **{"data-source": h.source_id}) for h in health]
    return html.Section(html.Div(html.Table([html.Thead(header), html.Tbody(rows)], id="sources-table"),
                                 className="table-scroll"), className="card")


def _staleness(health: SourceHealth, lang: str) -> str:
    if not health.stale:
        return t("fresh", lang)
    return when(health.stale_since, lang) if health.stale_since else t("no_figure", lang)


def _rejections(groups: list[RejectionGroup], lang: str) -> html.Section:
    """Each source's latest rejected rows, one line per message and value with how many rows it is."""
    keys = ["source", "file", "column", "rows_rejected", "example_rows", "message"]
    rows = [html.Tr([html.Td(g.source_id), html.Td(g.file_name or ""), html.Td(g.column_name or ""),
                     html.Td(figure_number(g.rows, lang), className="num"),
                     html.Td(", ".join(str(row) for row in g.example_rows if row is not None), className="num"),
                     html.Td(g.message_en if lang == "en" else g.message_nl, className="reasons")])
            for g in groups]
    content = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                    html.Tbody(rows)], id="rejections-table"), className="table-scroll")
               if rows else html.P("–"))
    return html.Section([html.H2(t("rejections_title", lang)), content], className="card")


def _corrections(corrections: list[Correction], lang: str) -> html.Section:
    """Figures a provider corrected by sending the same service and moment again: before and now."""
    keys = ["source", "service", "moment", "corrected_at", "before", "now"]

    def figures(maximum: int | None, available: int | None, waiting: int | None) -> str:
        return t("correction_figures", lang).format(free=figure_number(available, lang),
                                                     total=figure_number(maximum, lang),
                                                     waiting=figure_number(waiting, lang))

    rows = [html.Tr([html.Td(c.source_id), html.Td(c.service_name or c.service_id), html.Td(when(c.valid_at, lang)),
                     html.Td(when(c.superseded_at, lang)),
                     html.Td(figures(c.maximum_before, c.available_before, c.waiting_before)),
                     html.Td(figures(c.maximum_now, c.available_now, c.waiting_now))]) for c in corrections]
    content = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                    html.Tbody(rows)], id="corrections-table"), className="table-scroll")
               if rows else html.P(t("no_corrections", lang)))
    return html.Section([html.H2(t("corrections_title", lang)), content], className="card")


def _reports(reports: list[ProviderReports], lang: str, query: dict) -> html.Section:
    """Per provider the share of expected reports received, least first."""
    shown, more = first_rows(reports, query.get("all") == "reports", lang, "/databronnen", query, "reports")
    keys = ["provider", "services", "expected", "received", "share"]
    rows = [html.Tr([html.Td(r.provider_name), html.Td(str(r.services), className="num"),
                     html.Td(figure_number(r.expected_reports, lang), className="num"),
                     html.Td(figure_number(r.received_reports, lang), className="num"),
                     html.Td(f"{round(100 * r.share_received)}%", className="num")]) for r in shown]
    content = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                    html.Tbody(rows)], id="reports-table"), className="table-scroll")
               if rows else empty_state(lang))
    return html.Section([html.H2(t("reports_title", lang)), content, *more], className="card")
