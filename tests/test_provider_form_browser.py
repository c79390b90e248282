"""A provider on a phone (real headless Chromium at 390 px): opens its link, changes two figures of one service,
confirms another with "Niets veranderd"; after the ingester ran, the region page shows the new figures. And
"nothing changed" for every service is three taps from the e-mail: open the link, one tap, done."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

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
    return [f"{v['id']}: {v['help']}" for v in axe.run()["violations"] if v["impact"] in BLOCKING]


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
