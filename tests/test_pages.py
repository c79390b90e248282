"""The dashboard in real headless Chromium, served by gunicorn from a published copy."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Iterator

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from browser import console_errors, screenshot, start_chromium
from queries.paths import DataPaths
from support import free_port


@pytest.fixture
def served(data_paths: DataPaths) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(data_paths.root),
                               "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "dashboard did not start"
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=15)


@pytest.mark.timeout(90)
def test_overview_shows_update_time_and_region_levels(served: str) -> None:
    driver = start_chromium()
    try:
        driver.get(served + "/")
        table = WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, "region-levels")))
        text = table.text
        for label, count in [("Veilig Thuis-regio", 25), ("Veiligheidsregio", 25), ("Jeugdregio", 42),
                             ("Provincie", 12), ("Gemeente", 342), ("Nederland", 1)]:
            assert f"{label} {count}" in text
        assert driver.find_element(By.ID, "data-updated").text.startswith("Gegevens bijgewerkt: ")
        assert "342 gemeenten" in driver.find_element(By.ID, "reference-summary").text
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        screenshot(driver, "overview-desktop")
        assert console_errors(driver) == []
    finally:
        driver.quit()
