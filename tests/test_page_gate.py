"""The page gate decides on exactly the page Dash renders, and refuses what it cannot decide.

Against a real `capacity serve` with login on and anonymous visitors in the public role: for every page,
a generated set of path variants (doubled, trailing and leading slashes, percent-encoding, case, dot
segments, query strings), each sent as a raw request line (no client normalises it) and as Dash's
page-routing callback; and routing-callback bodies with inputs in another order, missing, duplicated,
extra or of the wrong type. Whatever answers 200 must render a page the role may see: the rendered
layout is inspected (its `data-page` and the ids only a protected page has), not only the status."""
from __future__ import annotations

import http.client
import json
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from access_site import PAGES, Site, allowed, routing_body, routing_output, site, visitors

__all__ = ["site", "visitors"]  # fixtures from access_site

# Ids that only a page's own layout holds (written by hand).
OWN_IDS = {"/": "overview-rendered", "/regio/B": "region-rendered", "/zoek": "search-rendered",
           "/inkoop": "purchasing-rendered", "/databronnen": "sources-table"}
SLASH_VARIANTS = ("{p}/", "{p}//", "{p}///", "/{q}", "//{q}", "{p}/?level=testregio", "{p}//?x=1", "{p}?x=1")
OTHER_VARIANTS = ("{P}", "{T}", "/./{q}", "{p}/.", "{p}/..", "/x/..{p}", "{p}/./", "{e}", "{p}%2F", "{p}%2f%2f",
                  "/%2F{q}", "{p};x", "{p}%00", "{p}%09", "{p}%20", "{p}/%2e", "/%2e%2e{p}", "{p}\\",
                  "{p}/index.html")


def variants(path: str) -> tuple[list[str], list[str]]:
    """(variants Dash renders as the same page: slashes at the ends and a query; others)."""
    q = path.strip("/")
    fill = {"p": path.rstrip("/") if path != "/" else "", "q": q, "P": path.upper(), "T": path.title(),
            "e": "/" + "".join(f"%{ord(c):02X}" if i == 0 else c for i, c in enumerate(q)) if q else "/%2F"}
    same = [_rooted(v.format(**fill)) for v in SLASH_VARIANTS]
    other = [_rooted(v.format(**fill)) for v in OTHER_VARIANTS]
    return list(dict.fromkeys(same)), [o for o in dict.fromkeys(other) if o and o not in same and o != path]


def _rooted(target: str) -> str:
    return target if target.startswith("/") else "/" + target


def raw_get(url: str, target: str, cookie: str | None) -> tuple[int, str]:
    """GET with exactly this request target (http.client sends it as written)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        if cookie:
            connection.putheader("Cookie", f"capacity_session={cookie}")
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def rendered_page(answer: dict) -> str | None:
    """The `data-page` of the layout in a routing-callback answer (None: no page frame)."""
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and "data-page" in props:
                found.append(props["data-page"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(answer)
    return found[0] if found else None


def page_key(data_page: str) -> str:
    return "/regio/B" if data_page.startswith("/regio/") else data_page


def assert_shows_only_what_the_role_may_see(role: str, status: int, text: str, asked: object) -> None:
    assert status in (200, 400, 403, 404), (role, asked, status, text[:200])
    if status != 200:
        assert "Traceback" not in text
        for own in OWN_IDS.values():
            assert own not in text, (role, asked, own)
        return
    shown = rendered_page(json.loads(text))
    assert shown is not None, (role, asked, text[:200])
    assert allowed(role, PAGES[page_key(shown)]), (role, asked, shown)
    for page, own in OWN_IDS.items():
        if not allowed(role, PAGES[page]):
            assert own not in text, (role, asked, own)


@pytest.fixture(scope="module")
def routing(visitors) -> str:
    return routing_output(visitors["steward"])


@pytest.fixture(scope="module")
def cookies(visitors) -> dict[str, str | None]:
    return {role: visitor.cookies.get("capacity_session") for role, visitor in visitors.items()}


def test_the_examples_of_the_issue_are_refused_to_the_public(site: Site, cookies, visitors, routing) -> None:
    for target in ("/databronnen//", "/zoek//?gemeente=GM0003", "/regio/B//", "/inkoop//"):
        status, text = raw_get(site.url, target, cookies["public"])
        assert status == 403 and "Geen toegang" in text, (target, status)
        path, _, query = target.partition("?")
        answer = visitors["public"].post("/_dash-update-component",
                                         json=routing_body(routing, path, "?" + query if query else ""))
        assert answer.status_code == 403, (target, answer.text[:200])


@pytest.mark.timeout(170)
def test_path_variants_of_every_page_for_every_role(site: Site, visitors, cookies, routing) -> None:
    for path, needed in PAGES.items():
        same, other = variants(path)
        for role, visitor in visitors.items():
            for target in same:
                status, text = raw_get(site.url, target, cookies[role])
                expected = 200 if allowed(role, needed) else 403
                assert status == expected, (role, target, status)
                pathname, _, query = target.partition("?")
                answer = visitor.post("/_dash-update-component",
                                      json=routing_body(routing, pathname, "?" + query if query else ""))
                assert answer.status_code == expected, (role, target, answer.status_code)
                assert_shows_only_what_the_role_may_see(role, answer.status_code, answer.text, target)
                if expected == 200:
                    assert page_key(rendered_page(answer.json())) == path, (role, target)
            for target in other:
                status, text = raw_get(site.url, target, cookies[role])
                assert status in (200, 400, 403, 404), (role, target, status)
                assert "Traceback" not in text
                if status == 200:  # the shell itself holds no figures; what it may lead to is checked below
                    assert "_dash-config" in text
                pathname, _, query = target.partition("?")
                answer = visitor.post("/_dash-update-component",
                                      json=routing_body(routing, pathname, "?" + query if query else ""))
                assert_shows_only_what_the_role_may_see(role, answer.status_code, answer.text, target)


def bodies(routing: str, protected: str) -> Iterator[tuple[str, dict]]:
    """Hand-built routing requests that try to get `protected` rendered past the gate."""
    pathname = {"id": "_pages_location", "property": "pathname"}
    search = {"id": "_pages_location", "property": "search"}
    base = routing_body(routing, protected)
    yield "reversed", {**base, "inputs": [{**search, "value": ""}, {**pathname, "value": protected}]}
    yield "protected first, harmless second", {**base, "inputs": [{**pathname, "value": protected},
                                                                 {**pathname, "value": "/"}]}
    yield "search value holds the path", {**base, "inputs": [{**search, "value": protected},
                                                            {**search, "value": ""}]}
    yield "pathname left out", {**base, "inputs": [{**search, "value": ""}]}
    yield "only the protected pathname", {**base, "inputs": [{**pathname, "value": protected}]}
    yield "no inputs key", {key: value for key, value in base.items() if key != "inputs"}
    yield "duplicated", {**base, "inputs": [{**pathname, "value": "/"}, {**search, "value": ""},
                                            {**pathname, "value": protected}]}
    yield "extra input", {**base, "inputs": [*base["inputs"], {"id": "x", "property": "y", "value": protected}]}
    yield "extra state", {**base, "state": [{**pathname, "value": protected}]}
    yield "inputs as a dict", {**base, "inputs": {"pathname": protected}}
    yield "pattern-style list", {**base, "inputs": [[{**pathname, "value": protected}], {**search, "value": ""}]}
    yield "other id", {**base, "inputs": [{"id": "_pages_location2", "property": "pathname", "value": protected},
                                          {**search, "value": ""}]}
    yield "id as a dict", {**base, "inputs": [{"id": {"type": "_pages_location"}, "property": "pathname",
                                               "value": protected}, {**search, "value": ""}]}
    for name, value in (("number", 5), ("null", None), ("list", [protected]), ("object", {"p": protected}),
                        ("true", True)):
        yield f"pathname {name}", routing_body(routing, value)
    for name, value in (("number", 5), ("list", ["?a=1"]), ("object", {"at": "x"})):
        yield f"search {name}", routing_body(routing, protected, value)
    yield "parameter twice", routing_body(routing, protected, "?level=a&level=b")
    yield "output renamed", {**base, "output": routing.replace("..", ".", 1)}
    yield "output missing", {key: value for key, value in base.items() if key != "output"}


@pytest.mark.timeout(120)
def test_routing_callback_bodies_for_every_role(visitors, routing) -> None:
    for protected in ("/databronnen", "/zoek", "/regio/B"):
        for role, visitor in visitors.items():
            for name, body in bodies(routing, protected):
                answer = visitor.post("/_dash-update-component", json=body)
                assert answer.status_code == 400, (role, protected, name, answer.status_code, answer.text[:200])
                assert "Traceback" not in answer.text and answer.json()["error"]["en"].startswith("Bad request")


def test_a_path_that_is_no_page_is_not_found_for_everyone(site: Site, visitors, cookies, routing) -> None:
    for role, visitor in visitors.items():
        for target in ("/nergens", "/databronnen/extra", "/zoek/x", "/api/v1/shortfall/", "/static/x.css",
                       "/_reload-hash", "/regio"):
            status, text = raw_get(site.url, target, cookies[role])
            assert status == 404 and "Traceback" not in text, (role, target, status)
            answer = visitor.post("/_dash-update-component", json=routing_body(routing, target))
            assert answer.status_code == 404, (role, target, answer.status_code)


def test_every_route_in_the_server_is_classified(site: Site) -> None:
    """A new Flask route (a Dash upgrade, a blueprint) is refused until the gate knows it: the unknown
    ones answer 404, whatever role asks."""
    for target in ("/static/style.css", "/_reload-hash", "/_dash-mcp", "/_alive_x"):
        status, _ = raw_get(site.url, target, None)
        assert status == 404, (target, status)


# --- history: the public sees the current picture only ---------------------------------------------------


def test_another_moment_needs_the_professional_role(site: Site, visitors, cookies, routing) -> None:
    """`at` on a page (the shell, the routing callback) or the API: 403 for the public, 200 from professional
    up. An empty `at` is now; a second `at` behind an empty one counts too."""
    asks = [("/", "?at=2026-06-30"), ("/", "?level=testregio&at=2026-06-30T12%3A00"),
            ("/", "?at=&at=2026-06-30")]
    for role, visitor in visitors.items():
        for path, query in asks:
            expected = 200 if allowed(role, "professional") else 403
            if query.count("at=") > 1:
                expected = 400  # a page takes each parameter once
            status, _ = raw_get(site.url, path + query, cookies[role])
            assert status == expected, (role, path + query, status)
            answer = visitor.post("/_dash-update-component", json=routing_body(routing, path, query))
            assert answer.status_code == expected, (role, query, answer.status_code)
        for params in ({"at": "2026-06-30", "level": "testregio"},
                       [("level", "testregio"), ("at", ""), ("at", "2026-06-30")]):
            answer = visitor.get("/api/v1/shortfall", params=params)
            assert answer.status_code == (200 if allowed(role, "professional") else 403), (role, params)
        now = visitor.get("/api/v1/shortfall", params={"at": "", "level": "testregio"})
        assert now.status_code == 200, (role, now.text[:200])
        status, _ = raw_get(site.url, "/?at=", cookies[role])
        assert status == 200


# --- errors for anyone: 400 or 404 with a plain message, never a 500 ---------------------------------------


def test_malformed_requests_get_a_plain_400(site: Site, visitors, cookies, routing) -> None:
    for role, visitor in visitors.items():
        for target, words in (("/?at=gisteren", "at"), ("/zoek?at=2026-06-30T12:00+00:00", "%2B"),
                              ("/?at=9999-12-31", "at"), ("/?at=2026-02-30", "at"), ("/?level=a&level=b", "level"),
                              ("/databronnen?at=%ff%fe", "at")):
            status, text = raw_get(site.url, target, cookies[role])
            assert status == 400 and words in text and "Traceback" not in text, (role, target, status)
            path, _, query = target.partition("?")
            answer = visitor.post("/_dash-update-component", json=routing_body(routing, path, "?" + query))
            assert answer.status_code == 400 and words in answer.json()["error"]["en"], (role, target)
    professional = visitors["professional"]
    for params in ({"at": "gisteren"}, {"at": "2026-06-30T12:00 00:00"}, {"at": "99999-01-01"}):
        answer = professional.get("/api/v1/providers", params=params)
        assert answer.status_code == 400 and "at" in answer.json()["error"]["en"], params


def test_unknown_scripts_are_not_found(site: Site) -> None:
    for target in ("/_dash-component-suites/nothing/x.js", "/_dash-component-suites/dash/nothing.v4_0_0m1.js",
                   "/_dash-component-suites/dash/../../etc/passwd", "/_dash-component-suites/dash/dcc/%00.js"):
        status, text = raw_get(site.url, target, None)
        assert status == 404 and "Traceback" not in text, (target, status)


def test_each_malformed_request_is_one_log_line_without_traceback(site: Site, visitors) -> None:
    visitors["steward"].get("/?at=log-probe-value")
    log = site.log.read_text(errors="replace")
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "log-probe-value" in line and "400 GET" in line]
    assert len(lines) == 1, lines
