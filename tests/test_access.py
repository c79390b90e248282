"""Roles enforced on the server: every page, every callback, every API route, for each role, by hand-built
requests to a real `capacity serve` (gunicorn) with local users (argon2) and a loopback OpenID Connect
provider; login, logout, sessions and their cookies."""
from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

import shortfall_world
from access_site import (API, PAGE_MARKERS, PAGES, PASSWORDS, ROUTING, SECRET, allowed, routing_body,
                         server_callbacks, site, visitors)
from queries.paths import DataPaths
from support import dashboard, run_cli
from web_client import Visitor

CALLBACK_PAGE_BY_INPUT_PREFIX = {"overview-": "/", "region-": "/regio/B", "search-": "/zoek", "signal-": "/zoek",
                                 "purchasing-": "/inkoop", "invite-": "/databronnen", "revoke-": "/databronnen"}
__all__ = ["site", "visitors"]  # fixtures from access_site


def callback_body(dependency: dict) -> dict:
    """A request for this callback as a hand-built client would send it (values empty)."""
    def item(entry: dict) -> dict:
        return {"id": entry["id"], "property": entry["property"], "value": None}

    output = dependency["output"]
    single = output.split("@")[0].lstrip(".").rstrip(".")
    component, _, prop = single.rpartition(".")
    return {"output": output, "outputs": {"id": component, "property": prop},
            "inputs": [item(i) for i in dependency["inputs"]], "state": [item(s) for s in dependency["state"]],
            "changedPropIds": [f"{dependency['inputs'][0]['id']}.{dependency['inputs'][0]['property']}"]}


@pytest.mark.timeout(120)
def test_pages_by_role(visitors) -> None:
    for role, visitor in visitors.items():
        for path, needed in PAGES.items():
            status = visitor.get(path).status_code
            assert status == (200 if allowed(role, needed) else 403), (role, path, status)


@pytest.mark.timeout(120)
def test_page_content_through_the_routing_callback_by_role(visitors) -> None:
    """A hand-built request for a page's layout (Dash's page routing) needs that page's role."""
    routing = next(d["output"] for d in server_callbacks(visitors["steward"]) if ROUTING in d["output"])
    for role, visitor in visitors.items():
        for path, needed in PAGES.items():
            response = visitor.post("/_dash-update-component", json=routing_body(routing, path))
            if allowed(role, needed):
                assert response.status_code == 200, (role, path, response.text[:200])
                assert PAGE_MARKERS[path] in response.text, (role, path)
            else:
                assert response.status_code == 403, (role, path, response.status_code)
                assert "sources-table" not in response.text and "search-" not in response.text
                assert response.json()["error"]["en"].startswith("No access")


@pytest.mark.timeout(120)
def test_every_page_callback_by_role(visitors) -> None:
    """Each server callback belongs to a page (by hand: its inputs' id prefix); only that page's role gets
    past the gate. A callback that is not in the table fails the test, so a new one must be classified."""
    callbacks = [d for d in server_callbacks(visitors["steward"]) if ROUTING not in d["output"]]
    assert len(callbacks) >= 6  # overview 2, region 1, search 2, purchasing 1
    for dependency in callbacks:
        first_input = dependency["inputs"][0]["id"]
        page = next((p for prefix, p in CALLBACK_PAGE_BY_INPUT_PREFIX.items() if first_input.startswith(prefix)),
                    None)
        assert page is not None, f"callback {dependency['output']} with input {first_input} is not classified"
        for role, visitor in visitors.items():
            status = visitor.post("/_dash-update-component", json=callback_body(dependency)).status_code
            if allowed(role, PAGES[page]):
                assert status != 403, (role, dependency["output"])
            else:
                assert status == 403, (role, dependency["output"], status)


@pytest.mark.timeout(120)
def test_api_routes_by_role(visitors) -> None:
    for role, visitor in visitors.items():
        for path, needed in API.items():
            params = {"level": "testregio"} if "shortfall" in path else {}
            status = visitor.get(path, params=None if "hsds" in path else params).status_code
            assert status == (200 if allowed(role, needed) else 403), (role, path, status)
        assert visitor.get("/api/v2/anything").status_code in (403, 404)


@pytest.mark.timeout(60)
def test_an_unknown_callback_is_refused_for_every_role(visitors) -> None:
    body = {"output": "made-up.children", "outputs": {"id": "made-up", "property": "children"}, "inputs": [],
            "changedPropIds": []}
    for visitor in visitors.values():
        answer = visitor.post("/_dash-update-component", json=body)
        assert answer.status_code == 400 and "unknown callback" in answer.json()["error"]["en"]


def props(node: object, name: str) -> list:
    """Every value of prop `name` anywhere in a Dash JSON answer."""
    if isinstance(node, dict):
        found = [node[name]] if name in node else []
        return found + [value for child in node.values() for value in props(child, name)]
    if isinstance(node, list):
        return [value for child in node for value in props(child, name)]
    return []


@pytest.mark.timeout(60)
def test_navigation_shows_only_what_the_role_may_open(visitors) -> None:
    routing = next(d["output"] for d in server_callbacks(visitors["public"]) if ROUTING in d["output"])
    public = visitors["public"].post("/_dash-update-component", json=routing_body(routing, "/")).json()
    links = set(props(public, "href"))
    assert "/" in links and not links & {"/zoek", "/inkoop", "/databronnen"}
    assert "login-link" in props(public, "id")
    staff = visitors["steward"].post("/_dash-update-component", json=routing_body(routing, "/")).json()
    assert {"/", "/zoek", "/inkoop", "/databronnen"} <= set(props(staff, "href"))
    assert "account-name" in props(staff, "id") and "logout" in props(staff, "id")


def test_session_cookie_is_secure_httponly_lax(site) -> None:
    visitor = Visitor(site.url)
    visitor.get("/login")
    cookie = next(h for h in visitor.set_cookie_headers if h.startswith("capacity_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    visitor.close()


def test_wrong_password_missing_csrf_and_forged_session_are_refused(site) -> None:
    url = site.url
    visitor = Visitor(url)
    assert visitor.log_in("pro", "not the password").status_code == 401
    assert visitor.get("/zoek").status_code == 403
    no_token = visitor.post("/login", data={"name": "pro", "password": PASSWORDS["pro"]})
    assert no_token.status_code == 400 and visitor.get("/zoek").status_code == 403
    forged = Visitor(url)
    forged.cookies["capacity_session"] = "eyJ1c2VyIjp7Im5hbWUiOiJ4Iiwicm9sZSI6InN0ZXdhcmQifX0.bogus.signature"
    assert forged.get("/databronnen").status_code == 403
    for one in (visitor, forged):
        one.close()


def test_login_attempts_are_limited_per_name(site) -> None:
    # a name nobody else in this module logs in with: under xdist, a module fixture may log in after this test
    visitor = Visitor(site.url)
    statuses = [visitor.post("/login", data={"csrf": visitor.csrf(), "name": "gokker", "password": f"guess {n}"})
                .status_code for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    visitor.close()


def test_next_only_leads_to_this_site(site) -> None:
    visitor = Visitor(site.url)
    for target, expected in (("/zoek?at=2026-06-30", "/zoek?at=2026-06-30"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        answer = visitor.post("/login", params={"next": target},
                              data={"csrf": visitor.csrf(), "name": "pro", "password": PASSWORDS["pro"]})
        assert answer.status_code == 303 and answer.headers["location"] == expected, target
    visitor.close()


def test_logout_ends_the_session(site) -> None:
    visitor = Visitor(site.url)
    visitor.log_in("pro", PASSWORDS["pro"])
    assert visitor.get("/zoek").status_code == 200
    assert visitor.post("/logout", data={"csrf": visitor.csrf()}).status_code == 303
    assert visitor.get("/zoek").status_code == 403
    visitor.close()


def test_a_removed_user_loses_access_at_the_next_request(site) -> None:
    result = site.cli("users", "add", "temp", "--role", "steward", "--password-stdin", stdin="temporary password\n")
    assert result.returncode == 0, result.stderr
    visitor = Visitor(site.url)
    visitor.log_in("temp", "temporary password")
    assert visitor.get("/databronnen").status_code == 200
    assert site.cli("users", "remove", "temp").returncode == 0
    assert visitor.get("/databronnen").status_code == 403
    visitor.close()


@pytest.mark.timeout(60)
def test_openid_connect_login_maps_groups_to_roles(site) -> None:
    url, provider = site.url, site.provider
    for groups, page, expected in ((["vt-medewerker"], "/zoek", 200), (["vt-medewerker"], "/databronnen", 403),
                                   (["beheer", "vt-medewerker"], "/databronnen", 200), (["other"], "/zoek", 403)):
        provider.next_user = {"sub": "u-1", "preferred_username": "jan@example.invalid", "groups": groups}
        visitor = Visitor(url)
        start = visitor.get("/login/oidc", params={"next": page})
        assert start.status_code == 302 and start.headers["location"].startswith(provider.issuer + "/authorize")
        answer = httpx.get(start.headers["location"], timeout=5, follow_redirects=False)
        back = answer.headers["location"]
        assert back.startswith(url + "/auth/oidc")
        done = visitor.get(back.removeprefix(url))
        assert done.status_code == 303 and done.headers["location"] == page, done.text[:300]
        assert visitor.get(page).status_code == expected, (groups, page)
        visitor.close()


def test_openid_connect_answer_with_a_wrong_state_is_refused(site) -> None:
    url, provider = site.url, site.provider
    provider.next_user = {"sub": "u-2", "groups": ["beheer"]}
    visitor = Visitor(url)
    start = visitor.get("/login/oidc")
    back = httpx.get(start.headers["location"], timeout=5, follow_redirects=False).headers["location"]
    tampered = re.sub(r"state=[^&]+", "state=forged", back)
    assert visitor.get(tampered.removeprefix(url)).status_code == 401
    assert visitor.get("/databronnen").status_code == 403
    visitor.close()


def test_login_required_refuses_even_the_dash_shell(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    users = tmp_path / "users.toml"
    assert run_cli("users", "add", "pro", "--role", "professional", "--password-stdin",
                   env={"CAPACITY_USERS_FILE": str(users)}, stdin=PASSWORDS["pro"] + "\n").returncode == 0
    env = {"CAPACITY_LOGIN": "local", "CAPACITY_SECRET_KEY": SECRET, "CAPACITY_USERS_FILE": str(users)}
    with dashboard(paths, env) as url:
        visitor = Visitor(url)
        for path in ("/", "/_dash-layout", "/_dash-dependencies", "/api/v1/shortfall"):
            assert visitor.get(path).status_code == 403, path
        assert "/login?next=/" in visitor.get("/").text
        assert visitor.get("/login").status_code == 200
        visitor.log_in("pro", PASSWORDS["pro"])
        for path in ("/", "/_dash-layout", "/_dash-dependencies", "/zoek"):
            assert visitor.get(path).status_code == 200, path
        visitor.close()


@pytest.mark.parametrize("env, message", [
    ({"CAPACITY_PRODUCTION": "true"}, "CAPACITY_SECRET_KEY"),
    ({"CAPACITY_LOGIN": "local"}, "CAPACITY_SECRET_KEY"),
    ({"CAPACITY_PRODUCTION": "true", "CAPACITY_SECRET_KEY": SECRET}, "public"),
    ({"CAPACITY_PRODUCTION": "true", "CAPACITY_SECRET_KEY": SECRET, "CAPACITY_ANONYMOUS_ROLE": "steward"}, "public"),
    ({"CAPACITY_LOGIN": "ldap", "CAPACITY_SECRET_KEY": SECRET}, "ldap"),
    ({"CAPACITY_LOGIN": "oidc", "CAPACITY_SECRET_KEY": SECRET}, "CAPACITY_OIDC_ISSUER"),
])
def test_serve_refuses_unsafe_settings_with_a_plain_message(tmp_path: Path, env: dict, message: str) -> None:
    result = run_cli("serve", "--data-dir", str(tmp_path / "data"), "--port", "9", "--lang", "en", env=env,
                     timeout=30)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_settings_never_print_secrets() -> None:
    result = run_cli("settings", env={"CAPACITY_SECRET_KEY": SECRET, "CAPACITY_OIDC_CLIENT_SECRET": "hush-hush"})
    assert SECRET not in result.stdout and "hush-hush" not in result.stdout and "(set)" in result.stdout


def test_server_log_holds_no_password_or_session(site, visitors) -> None:
    log = site.log.read_text(errors="replace")
    assert log, "the access log is written"
    for secret in (*PASSWORDS.values(), SECRET, visitors["steward"].cookies["capacity_session"]):
        assert secret not in log


def test_debug_is_off_even_when_asked_for(site, visitors) -> None:
    """DASH_DEBUG/FLASK_DEBUG are set for this server; still no dev tools and no tracebacks."""
    shell = visitors["public"].get("/").text
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', shell,
                                  re.S).group(1))
    assert config["ui"] is False and not config.get("hot_reload")
    assert visitors["public"].get("/_reload-hash").status_code in (403, 404)
    broken = {"output": next(d["output"] for d in server_callbacks(visitors["public"])
                             if d["inputs"][0]["id"] == "overview-map"),
              "outputs": {"id": "_pages_location", "property": "href"},
              "inputs": [{"id": "overview-map", "property": "clickData", "value": {"points": [{}]}}],
              "state": [{"id": "overview-level", "property": "value", "value": "testregio"},
                        {"id": "_pages_location", "property": "search", "value": ""}],
              "changedPropIds": ["overview-map.clickData"]}
    answer = visitors["steward"].post("/_dash-update-component", json=broken)
    assert answer.status_code == 500 and "Traceback" not in answer.text and "KeyError" not in answer.text
