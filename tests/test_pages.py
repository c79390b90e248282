"""The five pages in real headless Chromium, served by gunicorn from the hand-made world (shortfall_world.py).

Figures are those worked out in test_shortfall.py, at T = 30 June 2026 (end of day).
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import shortfall_world
from ingest.runner import SourceRunner
from ingest.signals import signal_source
from queries.warehouse import Warehouse
from browser import console_errors, screenshot, start_chromium
from queries.paths import DataPaths
from support import free_port

T = "at=2026-06-30"
OVERVIEW = f"/?level=testregio&care_type=shelter&target_group=child&{T}"
REGION = f"/regio/B?level=testregio&{T}"
SEARCH = f"/zoek?gemeente=GM0003&{T}"
PURCHASING = f"/inkoop?level=testregio&care_type=shelter&target_group=child&{T}"
SOURCES = "/databronnen"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DataPaths]]:
    paths = DataPaths(tmp_path_factory.mktemp("site") / "data")
    shortfall_world.build(paths)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(paths.root),
                               "--port", str(port), "--workers", "1", "--threads", "4"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/api/v1/sources", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "dashboard did not start"
            time.sleep(0.2)
    yield url, paths
    server.terminate()
    server.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


def open_page(driver, url: str, ready_id: str):
    driver.get(url)
    return WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, ready_id)))


def column(driver, table_id: str, attribute: str) -> list[str]:
    return [row.get_attribute(attribute) for row in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]


@pytest.mark.timeout(120)
def test_overview_headline_table_worst_first_and_map(site, browser) -> None:
    url, _ = site
    open_page(browser, url + OVERVIEW, "overview-table")
    # national shelters for children: SH1 11 + SH2 6 + SH5 2 places (SH3 stale), 0 + 2 + 1 free, 4 + 1 + 0 waiting
    assert browser.find_element(By.ID, "headline-places").text == "19"
    assert browser.find_element(By.ID, "headline-available").text == "3"
    assert browser.find_element(By.ID, "headline-waiting").text == "5"
    assert browser.find_element(By.ID, "headline-fresh").text == "75% (3/4)"
    # red B (unmet 1.8) and C (no service), then amber A (unmet 1.2) and D
    assert column(browser, "overview-table", "data-region") == ["B", "C", "A", "D"]
    first = browser.find_element(By.CSS_SELECTOR, "#overview-table tbody tr").text
    assert "rood" in first and "5 plaatsen tekort op een norm van 10 (50%)" in first
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#overview-map .choropleth")))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#overview-map path.choroplethlocation")) == 4
    screenshot(browser, "overview-desktop")
    assert console_errors(browser) == []


@pytest.mark.timeout(120)
def test_overview_follows_the_filters_in_the_url(site, browser) -> None:
    url, _ = site
    open_page(browser, url + f"/?level=testregio&care_type=trauma_care&target_group=child&{T}", "overview-table")
    # trauma care for children: B red (median treatment wait 98 > 70), C and D red (none), A green
    assert column(browser, "overview-table", "data-region") == ["B", "C", "D", "A"]
    assert "mediane behandelwachttijd 98 dagen > norm 70" in browser.find_element(By.ID, "overview-table").text
    open_page(browser, url + f"/?level=nederland&care_type=shelter&target_group=child&{T}", "overview-table")
    assert column(browser, "overview-table", "data-region") == ["NL"]


@pytest.mark.timeout(120)
def test_clicking_a_region_on_the_map_opens_its_page(site, browser) -> None:
    url, _ = site
    open_page(browser, url + OVERVIEW, "overview-map")
    region = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "#overview-map path.choroplethlocation")))
    ActionChains(browser).move_to_element(region).click().perform()   # a real mouse click on the shape
    WebDriverWait(browser, 20).until(EC.url_contains("/regio/"))
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "region-matrix")))


@pytest.mark.timeout(120)
def test_language_switch(site, browser) -> None:
    url, _ = site
    open_page(browser, url + OVERVIEW, "overview-table")
    browser.find_element(By.ID, "language-switch").click()
    WebDriverWait(browser, 20).until(EC.url_contains("lang=en"))
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element((By.ID, "overview-table"), "red"))
    assert "5 places short of a norm of 10 (50%)" in browser.find_element(By.ID, "overview-table").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "language-switch").text == "Nederlands"


@pytest.mark.timeout(120)
def test_region_page(site, browser) -> None:
    url, _ = site
    open_page(browser, url + REGION, "region-matrix")
    cell = browser.find_element(By.CSS_SELECTOR, '#region-matrix td[data-cell="shelter:child"]').text
    assert "rood" in cell and "5 plaatsen tekort op een norm van 10 (50%)" in cell
    gaps = browser.find_element(By.ID, "region-gaps").text
    assert "geen daderhulp in vrijwillig kader" in gaps and "geen lotgenotengroep voor pleger" in gaps
    services = {row.get_attribute("data-service"): row.text
                for row in browser.find_elements(By.CSS_SELECTOR, "#region-services tbody tr")}
    # B is touched by SH1 (GM0003), SH3, TR1, TR3, TR4, PP2
    assert set(services) == {"SH1", "SH3", "TR1", "TR3", "TR4", "PP2"}
    assert "10 dagen oud — verouderd" in services["SH3"] and "8 van 8 vrij" in services["SH3"]
    assert "vandaag" in services["SH1"] and "verouderd" not in services["SH1"]
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#region-trend .scatterlayer")))
    assert browser.find_elements(By.CSS_SELECTOR, "#region-versus .barlayer")
    screenshot(browser, "region-desktop")
    assert console_errors(browser) == []


@pytest.mark.timeout(120)
def test_search_ranking_and_no_address(site, browser) -> None:
    url, _ = site
    open_page(browser, url + SEARCH, "search-results")
    ranked = [(li.get_attribute("data-service"), li.get_attribute("data-rank"))
              for li in browser.find_elements(By.CSS_SELECTOR, "#search-results > li")]
    assert ranked == [("TR3", "1"), ("TR1", "2"), ("SH1", "2"), ("PP2", "3")]
    page = browser.find_element(By.ID, "search-results").text
    assert "010-0000001" in page and "via Veilig Thuis" in page           # how to refer to SH1
    assert "adres" not in page.lower() and "straat" not in page.lower()
    screenshot(browser, "search-desktop")
    open_page(browser, url + SEARCH + "&available=1", "search-results")
    assert [li.get_attribute("data-service") for li in
            browser.find_elements(By.CSS_SELECTOR, "#search-results > li")] == ["TR3"]
    assert console_errors(browser) == []


@pytest.mark.timeout(120)
def test_nothing_found_records_an_anonymous_signal(site, browser) -> None:
    url, paths = site
    open_page(browser, url + f"/zoek?gemeente=GM0005&care_type=shelter&target_group=child&{T}", "signal-form")
    assert "Geen gegevens voor deze selectie" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "signal-send").click()
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element((By.ID, "signal-result"), "Vastgelegd"))
    (signal,) = list((paths.inbox / "_signalen").glob("*.json"))
    text = signal.read_text(encoding="utf-8")
    assert '"gemeente_code": "GM0005"' in text and '"reason": "no_room"' in text
    # the ingester loads it like any source; then region C (GM0005) shows it as unmet demand
    os.utime(signal, (time.time() - 60, time.time() - 60))
    with Warehouse(paths) as warehouse:
        assert SourceRunner(warehouse, paths).run(signal_source(paths)).loaded == 1
        warehouse.publish()
    time.sleep(1.5)                                   # one reader poll
    open_page(browser, url + "/regio/C?level=testregio", "region-signals")     # now: within 90 days
    row = browser.find_element(By.CSS_SELECTOR, "#region-signals tbody tr").text
    assert row.startswith("Vrouwenopvang Kind 1")


@pytest.mark.timeout(120)
def test_purchasing_table_and_downloads(site, browser) -> None:
    url, _ = site
    open_page(browser, url + PURCHASING, "purchasing-table")
    # largest norm gap first: B 5, C 2, D 0.2, A 0
    assert column(browser, "purchasing-table", "data-region") == ["B", "C", "D", "A"]
    href = browser.find_element(By.ID, "download-csv").get_attribute("href")
    rows = list(csv.DictReader(io.StringIO(httpx.get(href, timeout=10).text, newline="")))
    assert [(r["region_code"], r["norm_gap"]) for r in rows] == [("A", "0.0"), ("B", "5.0"), ("C", "2.0"),
                                                                 ("D", "0.2")]
    xlsx = httpx.get(browser.find_element(By.ID, "download-xlsx").get_attribute("href"), timeout=10)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR,
                                                                     "#purchasing-trend .scatterlayer")))
    screenshot(browser, "purchasing-desktop")
    assert console_errors(browser) == []


@pytest.mark.timeout(120)
def test_sources_page(site, browser) -> None:
    url, _ = site
    open_page(browser, url + SOURCES, "sources-table")
    row = browser.find_element(By.CSS_SELECTOR, '#sources-table tr[data-source="fixture"]').text
    assert "goed" in row and "13" in row
    screenshot(browser, "sources-desktop")
    assert console_errors(browser) == []


@pytest.mark.timeout(180)
def test_every_page_fits_a_phone(site) -> None:
    url, _ = site
    driver = start_chromium(390, 844)
    try:
        for name, path, ready in [("overview", OVERVIEW, "overview-table"), ("region", REGION, "region-matrix"),
                                  ("search", SEARCH, "search-results"), ("purchasing", PURCHASING,
                                                                         "purchasing-table"),
                                  ("sources", SOURCES, "sources-table")]:
            open_page(driver, url + path, ready)
            time.sleep(1)
            # nothing but the scrollable tables may be wider than the screen
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, name
            screenshot(driver, f"{name}-phone")
        assert console_errors(driver) == []
    finally:
        driver.quit()


def settled(driver) -> WebDriverWait:
    """A wait that tolerates the page re-rendering under it."""
    return WebDriverWait(driver, 20, ignored_exceptions=[StaleElementReferenceException])


def choose(driver, dropdown_id: str, option_text: str) -> None:
    """Open a Dash dropdown and pick an option, as a person would (once the page, which re-renders after
    each choice, shows the dropdown again)."""
    settled(driver).until(EC.element_to_be_clickable((By.ID, dropdown_id))).click()
    option = WebDriverWait(driver, 10).until(EC.element_to_be_clickable(
        (By.XPATH, f"//*[@role='option'][normalize-space(.)='{option_text}']")))
    option.click()


@pytest.mark.timeout(120)
def test_choosing_filters_changes_url_map_and_table(site, browser) -> None:
    url, _ = site
    open_page(browser, url + OVERVIEW, "overview-table")
    choose(browser, "overview-care-type", "Traumabehandeling")
    WebDriverWait(browser, 20).until(EC.url_contains("care_type=trauma_care"))
    settled(browser).until(lambda d: column(d, "overview-table", "data-region") == ["B", "C", "D", "A"])
    choose(browser, "overview-level", "nederland")
    WebDriverWait(browser, 20).until(EC.url_contains("level=nederland"))
    settled(browser).until(lambda d: column(d, "overview-table", "data-region") == ["NL"])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#overview-map path.choroplethlocation")) == 1
    choose(browser, "overview-colour", "Plaatsen per 10.000")
    WebDriverWait(browser, 20).until(EC.url_contains("colour=per_10k"))
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#overview-map .colorbar")))
    assert console_errors(browser) == []
