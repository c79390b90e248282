"""Sessions end on the server; the login limiter cannot lock a user out; `next=` never leaves the site;
forwarded headers are trusted only when the setting says so. Against a real `capacity serve`."""
from __future__ import annotations

import json
import zlib
import time
from pathlib import Path

import httpx
import pytest
from itsdangerous import base64_decode

import shortfall_world
from access_site import PASSWORDS, Site, site
from dashboard.users import add_user
from queries.paths import DataPaths
from support import dashboard
from web_client import Visitor

__all__ = ["site"]  # fixture from access_site


def copy_of(visitor: Visitor) -> Visitor:
    """Another client holding the same session cookie (as an attacker who captured it would)."""
    thief = Visitor(str(visitor.client.base_url))
    thief.cookies = dict(visitor.cookies)
    return thief


def logged_in(site: Site, name: str, password: str, address: str | None = None) -> Visitor:
    visitor = Visitor(site.url, address)
    assert visitor.log_in(name, password).status_code == 303
    return visitor


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    visitor = logged_in(site, "pro", PASSWORDS["pro"])
    thief = copy_of(visitor)
    assert thief.get("/zoek").status_code == 200
    assert visitor.post("/logout", data={"csrf": visitor.csrf()}).status_code == 303
    for path in ("/zoek", "/api/v1/providers"):
        assert thief.get(path).status_code == 403, path
    for one in (visitor, thief):
        one.close()


def test_the_cookie_carries_only_a_session_id(site: Site) -> None:
    """Who is logged in, and with which role, is known on the server only."""
    visitor = logged_in(site, "stew", PASSWORDS["stew"])
    cookie = visitor.cookies["capacity_session"]
    compressed = cookie.startswith(".")
    payload = base64_decode(cookie.lstrip(".").split(".")[0])
    content = json.loads(zlib.decompress(payload) if compressed else payload)
    assert set(content) <= {"sid", "csrf", "_permanent"} and "sid" in content
    assert "stew" not in json.dumps(content) and "steward" not in json.dumps(content)
    visitor.close()


def test_a_new_password_ends_every_session_of_that_user(site: Site) -> None:
    assert site.cli("users", "add", "wim", "--role", "steward", "--password-stdin",
                    stdin="first password 123\n").returncode == 0
    first, second = logged_in(site, "wim", "first password 123"), logged_in(site, "wim", "first password 123")
    assert site.cli("users", "add", "wim", "--role", "steward", "--password-stdin",
                    stdin="second password 456\n").returncode == 0
    for old in (first, second):
        assert old.get("/databronnen").status_code == 403
    assert Visitor(site.url).log_in("wim", "first password 123").status_code == 401
    renewed = logged_in(site, "wim", "second password 456")
    assert renewed.get("/databronnen").status_code == 200
    for one in (first, second, renewed):
        one.close()


def test_a_hand_edited_users_file_ends_the_session_too(site: Site) -> None:
    """Without the command (which ends sessions at once), the web worker notices the changed password hash
    at the user's next request."""
    assert site.cli("users", "add", "els", "--role", "professional", "--password-stdin",
                    stdin="els password 1234\n").returncode == 0
    visitor = logged_in(site, "els", "els password 1234")
    assert visitor.get("/zoek").status_code == 200
    add_user(site.users, "els", "professional", "another password 99")
    assert visitor.get("/zoek").status_code == 403
    visitor.close()


def test_a_removed_user_is_logged_out_everywhere(site: Site) -> None:
    assert site.cli("users", "add", "kim", "--role", "steward", "--password-stdin",
                    stdin="kim password 1234\n").returncode == 0
    visitor = logged_in(site, "kim", "kim password 1234")
    thief = copy_of(visitor)
    assert site.cli("users", "remove", "kim").returncode == 0
    for one in (visitor, thief):
        assert one.get("/databronnen").status_code == 403
        one.close()


@pytest.mark.timeout(120)
def test_failed_logins_from_others_never_lock_a_user_out(site: Site) -> None:
    """21 wrong passwords for 'stew' from three addresses (7 each, under the per-address limit): the right
    password still works, from a fourth address and from one of the three. Past 10 failures for the name,
    each further failure is answered more slowly (0.1 s more per failure, at most 1 s)."""
    durations = []
    for number in range(21):
        guesser = Visitor(site.url, f"198.51.100.{number % 3 + 1}")
        token = guesser.csrf()
        started = time.monotonic()
        answer = guesser.post("/login", data={"csrf": token, "name": "stew", "password": f"guess {number}"})
        durations.append(time.monotonic() - started)
        assert answer.status_code == 401, (number, answer.status_code)
        guesser.close()
    assert min(durations[-3:]) >= 0.9  # failures 19-21: 0.9, 1.0 and 1.0 s
    for address in ("203.0.113.9", "198.51.100.1"):
        owner = Visitor(site.url, address)
        assert owner.log_in("stew", PASSWORDS["stew"]).status_code == 303, address
        assert owner.get("/databronnen").status_code == 200
        owner.close()


def test_one_address_is_limited_per_name_and_in_all(site: Site) -> None:
    """From one address: after 10 failures for a name that name is refused (429) from there, also with the
    right password, while the same name logs in from elsewhere; after 30 failures in all the address is
    refused for every name."""
    attacker = Visitor(site.url, "192.0.2.50")
    statuses = [attacker.post("/login", data={"csrf": attacker.csrf(), "name": "pro", "password": f"x {n}"})
                .status_code for n in range(10)]
    assert statuses == [401] * 10
    assert attacker.log_in("pro", PASSWORDS["pro"]).status_code == 429
    assert Visitor(site.url, "192.0.2.51").log_in("pro", PASSWORDS["pro"]).status_code == 303
    for n in range(20):
        attacker.post("/login", data={"csrf": attacker.csrf(), "name": f"nobody{n}", "password": "x"})
    assert attacker.log_in("stew", PASSWORDS["stew"]).status_code == 429
    attacker.close()


HOSTILE_NEXT = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
                "/%09/evil.example", "/\n/evil.example", "/%0a/evil.example", "/\r/evil.example", "/%0d%0aX-Y: z",
                "/\r\nSet-Cookie: a=b", "/ /evil.example", "/%20/evil.example", "/%2F/evil.example",
                "/%5Cevil.example", "/%252F/evil.example", "/\u3000/evil.example", "/\u200b/evil.example",
                "/\x00", "evil.example", "", " /zoek", "/zoek\x7f", "javascript:alert(1)"]


def test_next_leads_only_to_a_path_on_this_site(site: Site) -> None:
    visitor = Visitor(site.url)
    for target, expected in [(t, "/") for t in HOSTILE_NEXT] + [("/zoek?level=testregio", "/zoek?level=testregio"),
                                                              ("/regio/B", "/regio/B")]:
        answer = visitor.post("/login", params={"next": target},
                              data={"csrf": visitor.csrf(), "name": "pro", "password": PASSWORDS["pro"]})
        assert answer.status_code == 303 and answer.headers["location"] == expected, (target, answer.status_code)
    visitor.close()


def test_next_after_an_openid_connect_login_stays_on_this_site(site: Site) -> None:
    for target, expected in (("/\t/evil.example", "/"), ("/%09/evil.example", "/"), ("/\r/x", "/"),
                             ("/zoek", "/zoek")):
        site.provider.next_user = {"sub": "u-9", "preferred_username": "jan", "groups": ["vt-medewerker"]}
        visitor = Visitor(site.url)
        start = visitor.get("/login/oidc", params={"next": target})
        assert start.status_code == 302, target
        back = httpx.get(start.headers["location"], timeout=5, follow_redirects=False).headers["location"]
        done = visitor.get(back.removeprefix(site.url))
        assert done.status_code == 303 and done.headers["location"] == expected, (target, done.headers)
        visitor.close()


def test_the_server_log_holds_no_traceback_after_all_this(site: Site) -> None:
    assert "Traceback" not in site.log.read_text(errors="replace")


@pytest.mark.parametrize("behind_proxy, hsts", [("false", False), ("true", True)])
def test_forwarded_headers_are_trusted_only_behind_a_proxy(tmp_path: Path, behind_proxy: str, hsts: bool) -> None:
    """A client on 127.0.0.1 claiming HTTPS gets HSTS only when CAPACITY_BEHIND_PROXY says a proxy sets
    that header (gunicorn alone would trust it from 127.0.0.1)."""
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    with dashboard(paths, {"CAPACITY_BEHIND_PROXY": behind_proxy, "CAPACITY_ANONYMOUS_ROLE": "public"}) as url:
        answer = httpx.get(url + "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
                           timeout=10)
        assert answer.status_code == 200
        assert ("strict-transport-security" in answer.headers) is hsts
        assert httpx.get(url + "/", timeout=10).headers.get("strict-transport-security") is None
