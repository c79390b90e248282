"""Safe web defaults of a real `capacity serve`: security headers on every kind of response, HSTS only on
HTTPS behind a proxy, no CORS, Dash's JSON-only callbacks (its CSRF guard), request size and signal caps,
and provider strings that stay text in a real browser."""
from __future__ import annotations

import concurrent.futures
import re
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import shortfall_world
from browser import console_errors, screenshot, start_chromium
from queries.db import run
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import REPO, dashboard, free_port
from web_client import Visitor

SCRIPT_NAME = '<script>window.hacked=1</script><img src=x onerror="window.hacked=2">'
JAVASCRIPT_URL = "javascript:window.hacked=3"
SIGNAL_SEARCH = "?gemeente=GM0003&care_type=shelter&target_group=child"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The hand-made world with a provider whose strings are hostile; login off, everyone steward."""
    paths = DataPaths(tmp_path_factory.mktemp("defaults") / "data")
    shortfall_world.build(paths)
    with Warehouse(paths) as warehouse:
        with warehouse.transaction() as con:
            run(con, "UPDATE provider SET name = ? WHERE provider_id = 'P'", [SCRIPT_NAME])
            run(con, "UPDATE service SET name = ?, email = ?, referral_route = ? WHERE service_id = 'SH1'",
                [SCRIPT_NAME, JAVASCRIPT_URL, JAVASCRIPT_URL])
        warehouse.publish()
    with dashboard(paths, {"CAPACITY_BEHIND_PROXY": "true"}) as url:
        yield url


def responses(visitor: Visitor) -> dict[str, object]:
    """One response of each kind the server gives."""
    routing = next(d["output"] for d in visitor.get("/_dash-dependencies").json()
                   if "_pages_content.children" in d["output"])
    return {
        "page": visitor.get("/"),
        "asset": visitor.get("/assets/style.css"),
        "dash layout": visitor.get("/_dash-layout"),
        "callback": visitor.post("/_dash-update-component", json={
            "output": routing, "outputs": [{"id": "_pages_content", "property": "children"},
                                           {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/databronnen"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"]}),
        "api json": visitor.get("/api/v1/sources"),
        "api csv": visitor.get("/api/v1/sources", params={"format": "csv"}),
        "api error": visitor.get("/api/v1/sources", params={"format": "pdf"}),
        "login": visitor.get("/login"),
        "not found": visitor.get("/api/v1/nothing"),
    }


def test_security_headers_on_every_kind_of_response(site: str) -> None:
    visitor = Visitor(site)
    for kind, response in responses(visitor).items():
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, kind
        assert "'unsafe-eval'" not in policy and re.search(r"script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;", policy)
        assert headers.get("x-content-type-options") == "nosniff", kind
        assert headers.get("referrer-policy") == "same-origin", kind
        assert headers.get("x-frame-options") == "DENY", kind
        assert "strict-transport-security" not in headers, kind  # plain http
        assert not any(name.lower().startswith("access-control-") for name in headers), kind
    visitor.close()


def test_hsts_only_over_https_behind_the_proxy(site: str) -> None:
    visitor = Visitor(site)
    assert visitor.get("/", headers={"X-Forwarded-Proto": "https"}).headers["strict-transport-security"].startswith(
        "max-age=31536000")
    assert "strict-transport-security" not in visitor.get("/").headers
    visitor.close()


def test_no_cors_for_another_origin(site: str) -> None:
    visitor = Visitor(site)
    evil = {"Origin": "https://evil.example"}
    for response in (visitor.get("/api/v1/sources", headers=evil),
                     visitor.request("OPTIONS", "/_dash-update-component",
                                     headers={**evil, "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type"})):
        assert not any(name.lower().startswith("access-control-") for name in response.headers)
    visitor.close()


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", "output=page-language.children&inputs=[]"),
    ("text/plain", '{"output": "page-language.children", "inputs": []}'),
    ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"output\"\r\n\r\nx\r\n--x--\r\n"),
])
def test_callbacks_accept_json_only(site: str, content_type: str, body: str) -> None:
    """What a cross-site HTML form can send (no preflight) is refused before any callback runs."""
    visitor = Visitor(site)
    answer = visitor.post("/_dash-update-component", content=body, headers={"Content-Type": content_type})
    assert 400 <= answer.status_code < 500
    visitor.close()


def test_request_bodies_are_capped(site: str) -> None:
    visitor = Visitor(site)
    answer = visitor.post("/_dash-update-component", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                          headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    visitor.close()


def test_nothing_found_signals_are_rate_limited_per_address(site: str) -> None:
    visitor = Visitor(site)
    dependency = next(d for d in visitor.get("/_dash-dependencies").json() if d["output"] == "signal-result.children")
    body = {"output": dependency["output"], "outputs": {"id": "signal-result", "property": "children"},
            "inputs": [{"id": "signal-send", "property": "n_clicks", "value": 1}],
            "state": [{"id": "signal-reason", "property": "value", "value": "no_room"},
                      {"id": "_pages_location", "property": "search", "value": SIGNAL_SEARCH}],
            "changedPropIds": ["signal-send.n_clicks"]}
    answers = [visitor.post("/_dash-update-component", json=body).json()["response"]["signal-result"]["children"]
               for _ in range(31)]
    assert answers[:30] == ["Vastgelegd. Dank u."] * 30
    assert answers[30].startswith("Te veel meldingen")
    visitor.close()


@pytest.mark.timeout(120)
def test_provider_strings_stay_text_in_the_browser(site: str) -> None:
    """A provider and service named with a script and a javascript: e-mail and referral route are shown as
    the literal text; no script runs, no link is made of them, and the CSP reports no violation."""
    driver = start_chromium()
    try:
        for path, ready in (("/zoek" + SIGNAL_SEARCH + "&at=2026-06-30", "search-results"),
                            ("/regio/B?level=testregio&at=2026-06-30", "region-services"),
                            ("/databronnen", "reports-table")):
            driver.get(site + path)
            WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, ready)))
            WebDriverWait(driver, 10).until(lambda d: "<script>" in d.find_element(By.ID, "main").text)
            assert driver.execute_script("return window.hacked") is None, path
            assert not driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript'], img[src='x']"), path
            assert console_errors(driver) == [], path
            if path.startswith("/zoek"):
                assert JAVASCRIPT_URL in driver.find_element(By.ID, "main").text
                screenshot(driver, "hostile-provider-strings")
    finally:
        driver.quit()


def test_a_fresh_worker_serves_concurrent_first_requests_whole(tmp_path) -> None:
    """The browser's first page load fires a dozen requests at once at a worker that has served none; each
    must be answered whole (Dash's own set-up on the first request was not safe across threads)."""
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    with dashboard(paths) as url:   # another server, only to learn the page's script addresses
        scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', httpx.get(url + "/", timeout=30).text)
    assert len(scripts) >= 5
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(paths.root), "--port",
                               str(port), "--workers", "1", "--threads", "8"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:   # listening; no HTTP request yet
            assert time.monotonic() < deadline, "dashboard did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with concurrent.futures.ThreadPoolExecutor(len(scripts) + 3) as pool:
            answers = list(pool.map(lambda path: httpx.get(base + path, timeout=30),
                                    scripts + ["/", "/_dash-layout", "/_dash-dependencies"]))
        assert [a.status_code for a in answers] == [200] * len(answers)
    finally:
        server.terminate()
        server.wait(timeout=15)
