"""Pieces every page uses: the page frame, status badges, labelled controls, empty states, links."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dash import dcc

from queries.providers import ProviderMatch
from queries.publish import Publication

from .access import ROLE_LABELS, allows, config, current_role, current_user
from .demo import demo_notice
from .gate import FORM_ROLES, page_role
from .i18n import STATUS_COLOURS, STATUS_ICONS, t
from .login import csrf_token

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
Element = dict[str, Any]
NAV = (("/", "nav_overview"), ("/zoek", "nav_search"), ("/inkoop", "nav_purchasing"),
       ("/databronnen", "nav_sources"))


def element(tag: str, children: object = None, **props: object) -> Element:
    """html.<tag>(children, **props) as Dash sends it (its JSON form), built as a plain dict: a page's hundreds
    of elements cost more as Dash components (each checks every argument) than the page's queries."""
    if None in props.values():
        props = {name: value for name, value in props.items() if value is not None}
    if children is not None:
        props["children"] = children
    return {"type": tag, "namespace": "dash_html_components", "props": props}


def numeric_cells(*texts: str) -> list[Element]:
    """element("Td", text, className="num") for each text (never None), as literals: a trend's table has two
    hundred such cells, and a call with keywords costs twice a literal."""
    return [{"type": "Td", "namespace": "dash_html_components", "props": {"className": "num", "children": text}}
            for text in texts]


def core(tag: str, **props: object) -> Element:
    """dcc.<tag>(**props) as Dash sends it, as a plain dict like `element` (a dcc component checks its arguments
    when made: four per page cost a tenth of a millisecond). Every prop given is kept, None too, as dcc's."""
    return {"type": tag, "namespace": "dash_core_components", "props": props}


def href(path: str, lang: str, **params: object) -> str:
    """A link that keeps the language and the given filters in the query string."""
    return path + _query_string(lang, tuple((k, str(v)) for k, v in params.items() if v not in (None, "", False)))


@functools.lru_cache(maxsize=1024)
def _query_string(lang: str, params: tuple[tuple[str, str], ...]) -> str:
    """'?k=v&…' for href (remembered: a page's links share their filters, such as every region's level)."""
    query = dict(params)
    if lang == "en":
        query["lang"] = "en"
    return "?" + urlencode(query) if query else ""


def frame(lang: str, path: str, publication: Publication | None, children: list, query: dict | None = None,
          demo: bool = False) -> Element:
    """Header (title, navigation, language switch, last update, demonstration notice) around a page's content."""
    other = "nl" if lang == "en" else "en"
    switch_query = dict(query or {})
    switch_query.pop("lang", None)
    updated = ""
    if publication is not None:
        moment = datetime.fromisoformat(publication.published_at).astimezone(AMSTERDAM)
        updated = f"{t('updated', lang)}: {moment:%d-%m-%Y %H:%M}"
    return element("Div", [
        element("Header", [
            element("Div", [
                element("A", t("app_title", lang), href=href("/", lang), className="brand"),
                element("A", t("switch_language", lang), href=href(path, other, **switch_query), id="language-switch",
                        lang=other, title=t("switch_language_label", lang), className="language-switch"),
            ], className="header-top"),
            element("Nav", [element("A", t(key, lang), href=href(target, lang),
                                    className="active" if target == path else None,
                                    **({"aria-current": "page"} if target == path else {}))
                            for target, key in NAV if allows(current_role(), _nav_role(target))],
                    **{"aria-label": "menu"}),
            element("Div", [element("P", updated, id="data-updated", className="updated"), account(lang, path)],
                    className="header-bottom"),
        ], className="site-header"),
        element("Main", ([demo_notice(lang)] if demo else []) + _access_notice(lang) + children, id="main",
                lang=lang),
    ], className=f"page lang-{lang}", **{"data-page": path})


@functools.lru_cache(maxsize=len(NAV))
def _nav_role(target: str) -> str:
    """The role a page in the navigation needs (pages and their roles are fixed once the app is made)."""
    return page_role(target) or "steward"


def role_label(role: str | None, lang: str) -> str:
    nl, en = ROLE_LABELS.get(role or "", ("geen", "none"))
    return en if lang == "en" else nl


def account(lang: str, path: str) -> Element:
    """Who is logged in with which role, their alerts and a logout button; or a login link; nothing with login
    off."""
    if not config().login_on:
        return element("Div")
    user = current_user()
    if user is None:
        return element("Div", element("A", t("log_in", lang), href=href("/login", lang, next=path), id="login-link"),
                       className="account")
    alerts = ([element("A", t("nav_alerts", lang), href=href("/attenderingen", lang), id="alerts-link")]
              if allows(current_role(), FORM_ROLES["/attenderingen"]) else [])
    return element("Div", [
        element("Span", f"{user['name']} ({role_label(current_role(), lang)})", id="account-name"), *alerts,
        element("Form", [dcc.Input(type="hidden", name="csrf", value=csrf_token(), id="logout-csrf"),
                         element("Button", t("log_out", lang), type="submit", id="logout")],
                action="/logout", method="post", className="logout-form"),
    ], className="account")


def _access_notice(lang: str) -> list[Element]:
    """With login off every page says so, and which role every visitor has."""
    if config().login_on:
        return []
    role = role_label(current_role(), lang)
    return [element("P", t("login_off", lang).format(role=role), id="login-off-notice", className="notice",
                    role="note")]


@functools.lru_cache(maxsize=None)
def status_badge(status: str, lang: str) -> Element:
    """Status as icon + word + colour (never colour alone). Remembered, as a table has one a row: the same
    element in every place, which is safe because no element is changed once built."""
    return element("Span", [element("Span", STATUS_ICONS[status], **{"aria-hidden": "true"}), " ", t(status, lang)],
                   className=f"status status-{status}", style={"borderColor": STATUS_COLOURS[status]})


def labelled_dropdown(component_id: str, label: str, options: list[dict], value: object,
                      clearable: bool = False, searchable: bool = False, lang: str = "nl") -> Element:
    """A dropdown with its label; with nothing chosen it says so (a button without text has no name)."""
    return element("Div", [
        element("Label", label, htmlFor=component_id),
        core("Dropdown", id=component_id, options=options, value=value, clearable=clearable, searchable=searchable,
             placeholder=t("choose", lang)),
    ], className="control")


LONG_TABLE_ROWS = 50


def first_rows(rows: list, show_all: bool, lang: str, path: str, query: dict, table: str) -> tuple[list, list]:
    """A long table's first LONG_TABLE_ROWS rows (in their ranked order) and a note linking to all of them;
    building thousands of cells would make the page slow for everyone."""
    if show_all or len(rows) <= LONG_TABLE_ROWS:
        return rows, []
    link = href(path, lang, **{**{k: v for k, v in query.items() if k != "lang"}, "all": table})
    return rows[:LONG_TABLE_ROWS], [element("P", [t("first_rows", lang).format(shown=LONG_TABLE_ROWS, total=len(rows)),
                                                  " ", element("A", t("show_all", lang), href=link)],
                                            className="table-note", id=f"{table}-more")]


def empty_state(lang: str, detail: str = "") -> Element:
    return element("Div", [element("P", t("no_data", lang), className="empty-title"), element("P", detail)],
                   className="empty-state", role="status")


def figure_number(value: float | None, lang: str, decimals: int = 0) -> str:
    """12.5 -> '13' or '12,5'; 1234.5 -> '1.234,5' in Dutch; None -> '–' (unknown is never shown as 0). Grouped
    with '_' for Dutch, so that two replaces make the marks (0.9 µs a number, half of formatting with ',' and
    swapping the marks: a trend table has two hundred)."""
    if value is None:
        return "–"
    if lang == "nl":
        return format(value, f"_.{decimals}f").replace(".", ",").replace("_", ".")
    return format(value, f",.{decimals}f")


def age_text(match: ProviderMatch, lang: str) -> str:
    """'3 dagen oud' / 'vandaag'; stale figures are marked."""
    if match.age_days is None:
        return t("no_figure", lang)
    days = int(match.age_days)
    text = t("today", lang) if days == 0 else t("day_old", lang) if days == 1 else t("days_old", lang).format(n=days)
    return text if match.fresh else f"{text} — {t('stale', lang)}"


def chart_table(table_id: str, headers: list[str], rows: list[list[str]], lang: str) -> Element:
    """A chart's text alternative: the same numbers as a table, folded away under the chart."""
    return element("Details", [
        element("Summary", t("as_table", lang)),
        table(table_id, [element("Th", h, scope="col") for h in headers],
              [element("Tr", [element("Th", row[0], scope="row"), *numeric_cells(*row[1:])]) for row in rows]),
    ], className="chart-table")


def table(table_id: str, header: list[Element], rows: list[Element]) -> Element:
    """A table (header cells, then rows) that scrolls sideways when it is wider than the screen."""
    return element("Div", element("Table", [element("Thead", element("Tr", header)), element("Tbody", rows)],
                                  id=table_id), className="table-scroll")


@functools.lru_cache(maxsize=4096)
def day_text(moment: datetime) -> str:
    """The Dutch date of a moment, as a table row's label (remembered: every trend shows the same weeks)."""
    return f"{moment.astimezone(AMSTERDAM):%d-%m-%Y}"
