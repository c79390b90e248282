"""The alerts page and the signed unsubscribe link, against a real `capacity serve` with login on (access_site.py):
who may subscribe, CSRF and the shared rule set, someone else's subscription, odd paths and hand-built
requests; the page in headless Chromium with axe at desktop width and at 390 px."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from access_site import Site, routing_body, routing_output, site, visitors
from alert_world import T0, set_sh2
from browser import full_page_screenshot, start_chromium
from ingest.alerts import evaluate_alerts
from ingest.subscriptions import Scope, SubscriptionRequest, SubscriptionStore, catalogue, check_request, unsubscribe_path
from ingest.webhooks import OutgoingWebhook, WebhookSender, enqueue_webhooks
from queries.connection import PublishedReader
from queries.warehouse import Warehouse
from support import dashboard, free_port
from test_page_gate import raw_get
from web_client import Visitor

__all__ = ["site", "visitors"]  # fixtures from access_site
pytestmark = pytest.mark.timeout(120)


def store(site: Site) -> SubscriptionStore:
    return SubscriptionStore(site.paths.subscriptions)


def subscribe(visitor: Visitor, **fields: object) -> object:
    form = {"csrf": visitor.csrf("/attenderingen"), "kind": "status", "region": "testregio:A", "channel": "email",
            "address": "pro@example.org", "mail_lang": "nl", **fields}
    return visitor.post("/attenderingen", data=form)


def test_only_professionals_and_stewards_reach_the_page(site: Site, visitors) -> None:
    anonymous = visitors["public"]
    assert anonymous.get("/attenderingen").status_code == 403
    assert anonymous.post("/attenderingen", data={"kind": "status"}).status_code == 403
    assert anonymous.post("/attenderingen/stop", data={"id": "x"}).status_code == 403
    for role in ("professional", "steward"):
        page = visitors[role].get("/attenderingen")
        assert page.status_code == 200 and 'id="alerts-form"' in page.text
        assert page.headers["Cache-Control"] == "no-store"
    assert 'value="source"' in visitors["steward"].get("/attenderingen").text       # a steward may watch sources
    assert 'value="source"' not in visitors["professional"].get("/attenderingen").text


def test_a_professional_subscribes_through_the_shared_rules(site: Site, visitors) -> None:
    pro = visitors["professional"]
    made = subscribe(pro, care_type="shelter", target_group="adult_victim")
    assert made.status_code == 200 and "Aangemeld: Regio A · Vrouwenopvang · Volwassen slachtoffer" in made.text
    (mine,) = [s for s in store(site).of_owner("pro", "local") if s.scope.care_type == "shelter"]
    assert (mine.audience, mine.kind, mine.address) == ("professional", "status", "pro@example.org")
    assert f'data-subscription="{mine.subscription_id}"' in pro.get("/attenderingen").text
    refused = subscribe(pro, kind="source")                 # the rule lives in check_request, not in the page
    assert refused.status_code == 400 and "vraagt minstens de rol steward" in refused.text
    bad = subscribe(pro, kind="threshold", metric="norm_gap", threshold="veel")
    assert bad.status_code == 400 and "Ongeldige drempel &#39;veel&#39;" in bad.text
    # the form comes back as it was filled in
    assert 'name="threshold" type="text" inputmode="decimal" value="veel"' in bad.text
    assert '<option value="testregio:A" selected>' in bad.text and 'value="threshold" checked' in bad.text
    two = subscribe(pro, region=["testregio:A", "testregio:B"])
    assert two.status_code == 400 and "Kies één regio" in two.text
    no_token = pro.post("/attenderingen", data={"kind": "status", "region": "testregio:A", "channel": "email",
                                            "address": "pro@example.org"})
    assert no_token.status_code == 400
    assert len([s for s in store(site).of_owner("pro", "local")]) == 1


def test_nobody_stops_someone_elses_subscription(site: Site, visitors) -> None:
    steward, pro = visitors["steward"], visitors["professional"]
    assert subscribe(steward, address="stew@example.org", region="testregio:B").status_code == 200
    (theirs,) = [s for s in store(site).of_owner("stew", "local") if s.scope.region_code == "B"]
    stopped = pro.post("/attenderingen/stop", data={"csrf": pro.csrf("/attenderingen"), "id": theirs.subscription_id})
    assert stopped.status_code == 404 and store(site).get(theirs.subscription_id) is not None
    assert theirs.address not in pro.get("/attenderingen").text
    mine = steward.post("/attenderingen/stop", data={"csrf": steward.csrf("/attenderingen"), "id": theirs.subscription_id})
    assert mine.status_code == 200 and store(site).get(theirs.subscription_id) is None


def test_the_signed_link_unsubscribes_without_login_and_only_on_confirmation(site: Site, visitors) -> None:
    assert subscribe(visitors["professional"], region="testregio:C").status_code == 200
    (made,) = [s for s in store(site).of_owner("pro", "local") if s.scope.region_code == "C"]
    link = unsubscribe_path(made)
    stranger = Visitor(site.url)
    asked = stranger.get(link)
    assert asked.status_code == 200 and "Ja, afmelden" in asked.text
    assert asked.headers["Referrer-Policy"] == "no-referrer" and asked.headers["Cache-Control"] == "no-store"
    assert store(site).get(made.subscription_id) is not None          # a GET (a mail scanner) ends nothing
    assert "Yes, unsubscribe" in stranger.get(link + "&lang=en").text    # an English subscriber's link
    signature = re.search(r"sig=([0-9a-f]+)", link).group(1)
    forged = stranger.post("/attenderingen/afmelden", data={"id": made.subscription_id, "sig": "0" * 64})
    assert forged.status_code == 404 and store(site).get(made.subscription_id) is not None
    done = stranger.post("/attenderingen/afmelden", data={"id": made.subscription_id, "sig": signature})
    assert done.status_code == 200 and "U bent afgemeld" in done.text
    assert store(site).get(made.subscription_id) is None
    assert stranger.get(link).status_code == 404                      # used: dead
    stranger.close()


@pytest.mark.parametrize("target", [
    "/attenderingen/afmelden", "/attenderingen/afmelden?id=&sig=", "/attenderingen/afmelden?id=x&sig=y",
    "/attenderingen/afmelden?id=0000000000000000&sig=" + "0" * 64, "/attenderingen/afmelden?id[]=1&sig=2",
    "/attenderingen/afmelden?id=%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00&sig=1",
])
def test_a_bad_unsubscribe_link_says_so_plainly(site: Site, target: str) -> None:
    status, text = raw_get(site.url, target, None)
    assert status == 404 and "Deze afmeldlink is ongeldig" in text and "Traceback" not in text


def test_odd_paths_to_the_alerts_page_are_refused_to_the_public(site: Site, visitors) -> None:
    cookie = visitors["public"].cookies.get("capacity_session")
    for target in ("/attenderingen/", "/attenderingen//", "//attenderingen", "/ATTENDERINGEN", "/Attenderingen", "/attenderingen;x",
                   "/attenderingen%2F", "/%61ttenderingen", "/attenderingen/.", "/x/../attenderingen", "/attenderingen/stop/",
                   "/attenderingen/afmelden/../../attenderingen", "/attenderingen?lang=en"):
        status, text = raw_get(site.url, target, cookie)
        assert status in (400, 403, 404), (target, status)
        assert 'id="alerts-form"' not in text and "Traceback" not in text
    assert visitors["professional"].get("/attenderingen/stop").status_code == 404    # no such page to GET


def test_without_a_login_nobody_can_subscribe(tmp_path: Path) -> None:
    import shortfall_world
    from queries.paths import DataPaths

    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    with dashboard(paths, {"CAPACITY_PUBLIC_LEVEL": "testregio"}) as url:   # login off: everyone a nameless steward
        visitor = Visitor(url)
        page = visitor.get("/attenderingen")
        assert page.status_code == 200 and "log in om ze te beheren" in page.text
        assert 'id="alerts-form"' not in page.text
        answer = visitor.post("/attenderingen", data={"kind": "status", "region": "testregio:A", "channel": "email",
                                                  "address": "x@example.org"})
        assert answer.status_code == 403
        visitor.close()
    assert SubscriptionStore(paths.subscriptions).active() == []


@pytest.mark.timeout(120)
def test_the_unsubscribe_pages_in_chromium_are_accessible(site: Site, visitors) -> None:
    from axe_selenium_python import Axe

    assert subscribe(visitors["professional"], region="testregio:D").status_code == 200
    (made,) = [s for s in store(site).of_owner("pro", "local") if s.scope.region_code == "D"]
    driver = start_chromium(390, 844)
    try:
        for target, name in ((unsubscribe_path(made), "unsubscribe-ask"), ("/attenderingen/afmelden?id=x&sig=y",
                                                                           "unsubscribe-bad")):
            driver.get(site.url + target)
            axe = Axe(driver)
            axe.inject()
            violations = axe.run()["violations"]
            assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
            full_page_screenshot(driver, name)
        driver.get(site.url + unsubscribe_path(made))
        driver.find_element("css selector", "button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda page: "U bent afgemeld" in page.page_source)   # the POST's answer
        assert store(site).get(made.subscription_id) is None
    finally:
        driver.quit()


@pytest.mark.timeout(150)
def test_the_page_in_chromium_is_accessible_and_whole_at_both_widths(site: Site, visitors) -> None:
    from axe_selenium_python import Axe

    pro = visitors["professional"]
    for width, height, name in ((1280, 900, "alerts-desktop"), (390, 844, "alerts-390")):
        driver = start_chromium(width, height)
        try:
            driver.get(site.url + "/login")     # same origin first, then the session cookie
            driver.add_cookie({"name": "capacity_session", "value": pro.cookies["capacity_session"], "path": "/"})
            driver.get(site.url + "/attenderingen")
            assert driver.find_element("id", "alerts-form")
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
            full_page_screenshot(driver, name)
            axe = Axe(driver)
            axe.inject()
            violations = axe.run()["violations"]
            assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
        finally:
            driver.quit()


def routed_once_it_shows(visitor: Visitor, path: str, marker: str, seconds: float = 10.0) -> str:
    """The page's rendered layout, asked for until it holds `marker` or `seconds` pass: the server looks for a
    newer published copy at most every CAPACITY_READER_POLL_SECONDS (1 s), so a copy published a moment ago
    may be served on a later request."""
    deadline = time.monotonic() + seconds
    while True:
        answer = visitor.post("/_dash-update-component", json=routing_body(routing_output(visitor), path))
        assert answer.status_code == 200
        text = json.dumps(answer.json(), ensure_ascii=False)
        if marker in text or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def test_databronnen_shows_the_alerts_queued_and_the_webhook_calls_in_trouble(
        site: Site, visitors, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPACITY_PUBLIC_LEVEL", "testregio")
    reader = PublishedReader(site.paths, poll_seconds=0)
    with reader.cursor() as cur:
        request = check_request(SubscriptionRequest(
            "status", "email", "regio@example.org", "nl", "professional",
            Scope(region_level="testregio", region_code="A", care_type="shelter", target_group="adult_victim")),
            catalogue(cur))
    made = store(site).add(request, "stew", "local")
    nobody = free_port()           # nothing listens there: the call is retried
    with Warehouse(site.paths) as warehouse:
        evaluate_alerts(warehouse, reader, [made], T0)
        set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
        evaluate_alerts(warehouse, reader, [made], T0 + timedelta(minutes=1))
        with warehouse.transaction() as con:
            enqueue_webhooks(con, [OutgoingWebhook(made.subscription_id, f"http://127.0.0.1:{nobody}/h?token=geheim",
                                                   '{"test": 1}')], T0)
        WebhookSender(warehouse, lambda _: "s", frozenset({"127.0.0.1"})).send_due(T0 + timedelta(minutes=1))
        warehouse.publish()
    reader.close()
    text = routed_once_it_shows(visitors["steward"], "/databronnen", "alerts-table")
    assert "alerts-table" in text and "cell:shelter:adult_victim: amber → red" in text
    assert "webhook-table" in text and "wordt opnieuw geprobeerd" in text and f"127.0.0.1:{nobody}" in text
    assert "geheim" not in text and made.unsubscribe_key not in text
