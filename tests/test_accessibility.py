"""What a reader sees, in real headless Chromium against a real `capacity serve` with login on: axe-core
(axe-selenium-python) finds no serious or critical violation on any page, in Dutch and English, on a
desktop and a 390 px phone, for each role (logged in through the form); no chart is wider than its card
and no tick, category or axis label is cut off; each page is kept as a full-page screenshot."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import shortfall_world
from access_site import PASSWORDS, SECRET
from browser import ARTIFACTS, console_errors, start_chromium
from queries.moments import as_of
from queries.paths import DataPaths
from support import dashboard, run_cli

WIDTHS = {"desktop": 1280, "phone": 390}
LANGS = ("nl", "en")
PAGES = {  # path (the world is moved so that 30 June 2026 is now: the pages show figures), the id that says ready
    "overzicht": ("/?level=testregio&care_type=shelter&target_group=child", "overview-table"),
    "regio": ("/regio/B?level=testregio&care_type=trauma_care&target_group=child", "region-matrix"),
    "zoek": ("/zoek?gemeente=GM0003", "search-results"),
    "inkoop": ("/inkoop?level=testregio&care_type=shelter&target_group=child&region=B", "purchasing-table"),
    "databronnen": ("/databronnen", "sources-table"),
}
# Every page and language for the steward; the other roles see the same layouts with another header (and the
# public a suppressed overview): their own pages in one language each, and the public's in both.
SEEN_BY = {"steward": (tuple(PAGES), LANGS), "professional": (("overzicht", "zoek"), ("nl",)),
           "public": (("overzicht",), LANGS)}
BLOCKING = ("serious", "critical")
CLIPPED_LABELS = (Path(__file__).parent / "clipped_labels.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("a11y")
    paths = DataPaths(root / "data")
    shortfall_world.build(paths, shortfall_world.shift_to_now(as_of("2026-06-30")))
    users = root / "users.toml"
    for name, role in (("pro", "professional"), ("stew", "steward")):
        added = run_cli("users", "add", name, "--role", role, "--password-stdin", "--data-dir", str(paths.root),
                        env={"CAPACITY_USERS_FILE": str(users)}, stdin=PASSWORDS[name] + "\n")
        assert added.returncode == 0, added.stderr
    env = {"CAPACITY_LOGIN": "local", "CAPACITY_ANONYMOUS_ROLE": "public", "CAPACITY_SECRET_KEY": SECRET,
           "CAPACITY_USERS_FILE": str(users), "CAPACITY_PUBLIC_LEVEL": "testregio"}
    with dashboard(paths, env) as url:
        yield url


def browser_as(url: str, role: str, width: int):
    """Chromium at this width, logged in through the login form as a user with `role` (or anonymous)."""
    driver = start_chromium(width, 900)
    if role != "public":
        name = "pro" if role == "professional" else "stew"
        driver.get(url + "/login")
        driver.find_element(By.ID, "name").send_keys(name)
        driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
        driver.find_element(By.CSS_SELECTOR, ".login-form button").click()
        WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, "account-name")))
    return driver


def open_ready(driver, url: str, ready_id: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, ready_id)))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('svg.main-svg'))"))
    time.sleep(0.3)   # plotly's last relayout after the fonts


def full_page_screenshot(driver, width: int, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})


@pytest.mark.timeout(170)
@pytest.mark.parametrize("role", ["steward", "professional", "public"])
def test_every_page_is_accessible_and_legible(site: str, role: str) -> None:
    found: list[str] = []
    for device, width in WIDTHS.items():
        driver = browser_as(site, role, width)
        try:
            pages, langs = SEEN_BY[role]
            for page in pages:
                path, ready = PAGES[page]
                for lang in langs:
                    target = path + ("&" if "?" in path else "?") + "lang=en" if lang == "en" else path
                    open_ready(driver, site + target, ready)
                    axe = Axe(driver)
                    axe.inject()
                    for violation in axe.run()["violations"]:
                        if violation["impact"] in BLOCKING:
                            found.append(f"{role} {device} {lang} {page}: {violation['impact']} {violation['id']} "
                                         f"({violation['help']}) at {[n['target'] for n in violation['nodes'][:3]]}")
                    found += [f"{role} {device} {lang} {page}: {problem}"
                              for problem in driver.execute_script(CLIPPED_LABELS)]
                    if role == "steward":
                        full_page_screenshot(driver, width, f"{page}-{lang}-{device}")
            assert console_errors(driver) == []
        finally:
            driver.quit()
    assert found == []


@pytest.mark.timeout(60)
def test_the_login_and_refusal_pages_are_accessible(site: str) -> None:
    driver = start_chromium(390, 900)
    found = []
    try:
        for target in ("/login", "/databronnen", "/?at=gisteren", "/nergens"):
            driver.get(site + target)
            WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.TAG_NAME, "main")))
            axe = Axe(driver)
            axe.inject()
            found += [f"{target}: {v['impact']} {v['id']}" for v in axe.run()["violations"] if v["impact"] in BLOCKING]
    finally:
        driver.quit()
    assert found == []
