"""Full-page screenshots of every page of a running dashboard (desktop and a 390 px phone), for the README.

    make run                                   # in one terminal: the demo on http://127.0.0.1:8050
    .venv/bin/python examples/screenshots/take.py http://127.0.0.1:8050 data

With the data folder (second argument) it also takes a demo provider's update form on a phone, through a
personal link it issues for the first provider that reports through its link.

Needs the test tools (`make test` installs them) and Debian's chromium + chromium-driver.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).resolve().parent
PAGES = {"overzicht": ("/", "overview-table"), "regio": ("/regio/VT13", "region-matrix"),
         "zoek": ("/zoek?gemeente=GM0363&care_type=shelter", "search-results"),
         "inkoop": ("/inkoop?region=VT13", "purchasing-table"), "databronnen": ("/databronnen", "sources-table")}
WIDTHS = {"": 1280, "-telefoon": 390}


def chromium(width: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--window-size={max(width, 500)},900", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def metrics(driver: webdriver.Chrome, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})


def main(url: str) -> None:
    for suffix, width in WIDTHS.items():
        driver = chromium(width)
        metrics(driver, width, 900)
        try:
            for name, (path, ready) in PAGES.items():
                driver.get(url.rstrip("/") + path)
                WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, ready)))
                time.sleep(2)   # maps and charts finish drawing
                metrics(driver, width, driver.execute_script("return document.documentElement.scrollHeight"))
                time.sleep(1)
                driver.save_screenshot(str(HERE / f"{name}{suffix}.png"))
                metrics(driver, width, 900)
                print(HERE / f"{name}{suffix}.png")
        finally:
            driver.quit()


def provider_form(url: str, data_dir: Path) -> None:
    """The update form of the first demo provider that reports through its link, on a phone."""
    sys.path.insert(0, str(HERE.parent.parent))
    from ingest.demo.generate import read_settings
    from ingest.demo.self_reporting import self_reporting_providers
    from ingest.demo.world import build_world
    from ingest.provider_links import LinkStore
    from queries.paths import DataPaths

    paths = DataPaths(data_dir.resolve())
    demo = read_settings(paths)
    provider = self_reporting_providers(build_world(demo.seed, demo.scale))[0]
    token = LinkStore(paths.provider_links).issue(provider, None, 1).token
    driver = chromium(390)
    metrics(driver, 390, 900)
    try:
        driver.get(f"{url.rstrip('/')}/aanbieder/link#{token}")
        WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "dienst-1")))
        metrics(driver, 390, driver.execute_script("return document.documentElement.scrollHeight"))
        time.sleep(1)
        driver.save_screenshot(str(HERE / "aanbieder-telefoon.png"))
        print(HERE / "aanbieder-telefoon.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8050")
    if len(sys.argv) > 2:
        provider_form(sys.argv[1], Path(sys.argv[2]))
