"""A provider on a phone (real headless Chromium at 390 px): opens its link, changes two figures of one service,
confirms another with "Niets veranderd"; after the ingester ran, the region page shows the new figures. And
"nothing changed" for every service is three taps from the e-mail: open the link, one tap, done."""
from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from browser import console_errors, screenshot, start_chromium
from ingest.provider_form import pending_submissions
from ingest.provider_links import LinkStore
from provider_world import register, run_forms
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import dashboard

UTC = timezone.utc
REGION = "/regio/VT01?level=veilig_thuis"      # Amsterdam-Amstelland, where GM0363 lies
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, initialised_template: Path) -> Iterator[tuple[str, DataPaths]]:
    root = tmp_path_factory.mktemp("provider-browser")
    shutil.copytree(initialised_template, root / "data")
    paths = DataPaths(root / "data")
    register(paths, root, datetime.now(UTC) - timedelta(hours=30))
    with Warehouse(paths) as warehouse:
        warehouse.publish()
    with dashboard(paths, {"CAPACITY_SECRET_KEY": "b" * 48}) as url:   # login off: visitors are stewards
        yield url, paths


@pytest.fixture
def phone() -> Iterator:
    driver = start_chromium(390, 844)
    yield driver
    driver.quit()


def card(driver, number: int):
    return driver.find_element(By.ID, f"dienst-{number}")


def fill(element, value: str) -> None:
    element.clear()
    element.send_keys(value)


def blocking_violations(driver) -> list[str]:
    axe = Axe(driver)
    axe.inject()
    return [f"{v['id']}: {v['help']} {[n['html'] for n in v['nodes']]}" for v in axe.run()["violations"]
            if v["impact"] in BLOCKING]


@pytest.mark.timeout(150)
def test_a_provider_updates_one_service_confirms_another_and_the_region_page_shows_them(site, phone) -> None:
    url, paths = site
    issued = LinkStore(paths.provider_links).issue("veilig", "opvang@example.org", 30)
    phone.get(f"{url}/aanbieder/link#{issued.token}")
    WebDriverWait(phone, 20).until(EC.presence_of_element_located((By.ID, "dienst-1")))
    assert phone.current_url == f"{url}/aanbieder" and issued.token not in phone.current_url
    assert blocking_violations(phone) == []
    shelter = card(phone, 1)
    assert "Opvang Oost" in shelter.text and "30 uur oud" in shelter.text
    fill(shelter.find_element(By.NAME, "available"), "5")
    fill(shelter.find_element(By.NAME, "waiting_count"), "3")
    shelter.find_element(By.CSS_SELECTOR, 'button[value="save"]').click()
    WebDriverWait(phone, 20).until(EC.text_to_be_present_in_element((By.ID, "dienst-1"), "wordt verwerkt"))
    card(phone, 2).find_element(By.CSS_SELECTOR, 'button[value="same"]').click()
    WebDriverWait(phone, 20).until(EC.text_to_be_present_in_element((By.ID, "dienst-2"), "wordt verwerkt"))
    assert "Ontvangen" in phone.find_element(By.CSS_SELECTOR, ".notice").text
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(phone, "provider-form-phone")

    summary = run_forms(paths, publish=True)
    assert (summary.status, summary.loaded) == ("ok", 2), summary.line()
    WebDriverWait(phone, 30).until(EC.text_to_be_present_in_element((By.ID, "dienst-2"), "Verwerkt om"))
    assert "Verwerkt om" in card(phone, 1).text and "minder dan een uur oud" in card(phone, 1).text
    assert console_errors(phone) == []

    phone.find_element(By.CSS_SELECTOR, ".provider-actions button").click()     # sign out of the link
    WebDriverWait(phone, 20).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "afgemeld"))
    phone.get(url + REGION)
    WebDriverWait(phone, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, '#region-services tr[data-service="S1"]')))
    rows = {row.get_attribute("data-service"): row.text
            for row in phone.find_elements(By.CSS_SELECTOR, "#region-services tbody tr")}
    assert "5 van 10 vrij" in rows["S1"] and "3" in rows["S1"].split("5 van 10 vrij", 1)[1]
    assert "vandaag" in rows["S1"] and "vandaag" in rows["S2"] and "verouderd" not in rows["S1"]


@pytest.mark.timeout(90)
def test_nothing_changed_for_every_service_is_three_taps_from_the_email(site, phone) -> None:
    url, paths = site
    issued = LinkStore(paths.provider_links).issue("veilig", None, 30)
    phone.get(f"{url}/aanbieder/link#{issued.token}")                                   # tap 1: the link
    button = WebDriverWait(phone, 20).until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".confirm-all button")))
    button.click()                                                                         # tap 2: nothing changed
    WebDriverWait(phone, 20).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "Ontvangen"))
    sent = [s for s in pending_submissions(paths, "veilig") if s.link_id == issued.link_id]
    assert [[(f.service_id, f.action) for f in s.services] for s in sent] == [[("S1", "confirm"), ("S2", "confirm")]]


@pytest.mark.timeout(90)
def test_databronnen_shows_what_was_sent_through_links_and_that_mail_is_off(site, phone) -> None:
    url, _ = site       # after the provider's update above (tests in this module share the site)
    phone.get(url + "/databronnen")
    table = WebDriverWait(phone, 30).until(EC.presence_of_element_located((By.ID, "updates-table")))
    text = table.text
    assert "Opvang Oost" in text and "vrije plekken nu 2 → 5" in text and "mensen op de wachtlijst 1 → 3" in text
    assert "Traumateam" in text and "niets veranderd (bevestigd)" in text
    assert "Zonder SMTP-instellingen wordt niets verzonden" in phone.find_element(By.ID, "mail-state").text
    links_table = phone.find_element(By.ID, "links-table").text
    assert "Stichting Veilig" in links_table and "opvang@example.org" in links_table and "actief" in links_table
    assert blocking_violations(phone) == []
    assert console_errors(phone) == []


def callback(url: str, output: str, values: dict[tuple[str, str], object]) -> dict:
    """Run a Databronnen callback as Dash's renderer would, with these input and state values."""
    dependencies = httpx.get(url + "/_dash-dependencies", timeout=10).json()
    dependency = next(d for d in dependencies if d["output"] == output)
    item = lambda entry: {**entry, "value": values.get((entry["id"], entry["property"]))}  # noqa: E731
    component, _, prop = output.rpartition(".")
    body = {"output": output, "outputs": {"id": component, "property": prop},
            "inputs": [item(i) for i in dependency["inputs"]], "state": [item(s) for s in dependency["state"]],
            "changedPropIds": [f"{dependency['inputs'][0]['id']}.{dependency['inputs'][0]['property']}"]}
    answer = httpx.post(url + "/_dash-update-component", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_steward_invites_and_revokes_on_databronnen(site) -> None:
    url, paths = site
    links = LinkStore(paths.provider_links)
    before = {i.link_id for i in links.invites("ander")}
    made = json.dumps(callback(url, "invite-result.children", {
        ("invite-button", "n_clicks"): 1, ("invite-provider", "value"): "ander",
        ("invite-email", "value"): "huis@example.org", ("invite-days", "value"): "30",
        ("_pages_location", "search"): ""}))
    (new,) = [i for i in links.invites("ander") if i.link_id not in before]
    assert new.email == "huis@example.org" and new.state(time.time()) == "active"
    token = made.split("/aanbieder/link#", 1)[1].split('"', 1)[0]
    assert links.redeem(token).provider_id == "ander"
    assert "Geen e-mail verstuurd: SMTP is niet ingesteld" in made
    wrong = json.dumps(callback(url, "invite-result.children", {
        ("invite-button", "n_clicks"): 2, ("invite-provider", "value"): "andr", ("invite-days", "value"): "30",
        ("_pages_location", "search"): "?lang=en"}))
    assert "is not in the published data; did you mean ander?" in wrong
    revoked = json.dumps(callback(url, "revoke-result.children", {
        ("revoke-button", "n_clicks"): 1, ("revoke-link", "value"): new.link_id, ("_pages_location", "search"): ""}))
    assert f"Link {new.link_id} is ingetrokken" in revoked and links.live(new.link_id) is None
