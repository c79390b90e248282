"""Databronnen's view of alerts: how many subscriptions, the alerts and digests queued lately, and the webhook
calls that failed, wait for a retry or were cut off (never a body, a secret or a full webhook address)."""
from __future__ import annotations

from collections import Counter

from dash import html

from ingest.subscriptions import Subscription
from ingest.webhooks import allowed_hosts
from queries.alerts import QueuedAlert
from queries.outbox import OutboxSummary

from .components import AMSTERDAM
from .i18n import t


def alerts_section(lang: str, subscriptions: list[Subscription], alerts: list[QueuedAlert],
                   hooks: OutboxSummary) -> html.Section:
    kinds = Counter(s.kind for s in subscriptions)
    listed = ", ".join(f"{count} {t('alert_kind_' + kind, lang)}" for kind, count in sorted(kinds.items()))
    hosts = ", ".join(sorted(allowed_hosts())) or t("webhooks_off", lang)
    return html.Section([
        html.H2(t("alerts_title", lang)),
        html.P(t("alerts_count", lang).format(n=len(subscriptions), kinds=listed or "-"), id="alerts-count"),
        html.P(t("webhook_hosts", lang).format(hosts=hosts)),
        _recent(alerts, lang),
        html.P(t("webhook_counts", lang).format(queued=hooks.queued, retrying=hooks.retrying, sent=hooks.sent,
                                                failed=hooks.failed, uncertain=hooks.uncertain), id="webhook-counts"),
        _problems(hooks, lang),
    ], className="card")


def _recent(alerts: list[QueuedAlert], lang: str) -> html.Div | str:
    if not alerts:
        return ""
    keys = ["queued_at", "subscription", "alert_kind", "alert_changes", "channel", "mail_state"]
    body = [html.Tr([html.Td(f"{a.queued_at.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"), html.Td(a.subscription_id),
                     html.Td(t("alert_kind_" + a.kind, lang)),
                     html.Td("; ".join(f"{c['item']}: {c['from']} → {c['to']}" for c in a.transitions)),
                     html.Td(a.channel), html.Td(t(f"mail_{a.state}", lang) if a.state else "")])
            for a in alerts]
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                html.Tbody(body)], id="alerts-table"), className="table-scroll")


def _problems(hooks: OutboxSummary, lang: str) -> html.Div | str:
    if not hooks.problems:
        return ""
    keys = ["created", "subscription", "host", "mail_state", "attempts", "last_error"]
    body = [html.Tr([html.Td(f"{p.created_at.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"), html.Td(p.subscription_id),
                     html.Td(p.host), html.Td(t(f"mail_{'retrying' if p.retrying else p.state}", lang)),
                     html.Td(str(p.attempts), className="num"), html.Td(p.last_error or "", className="reasons")])
            for p in hooks.problems]
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                html.Tbody(body)], id="webhook-table"), className="table-scroll")
