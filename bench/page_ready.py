"""Time for each page to show its figures in headless Chromium (navigation until its last element is drawn).

    .venv/bin/python bench/page_ready.py DATA_DIR [--repeat 5]

Serves the warehouse with `capacity serve` on a free loopback port; prints one JSON line of median seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import start_chromium  # noqa: E402

FAILURE_SHOT = Path(tempfile.gettempdir()) / "page_ready_failure.png"
PAGES = {"overview": ("/?level=veiligheidsregio&care_type=shelter&target_group=child", "#overview-map .choropleth"),
         "region": ("/regio/VT08", "#region-trend .scatterlayer"),
         "search": ("/zoek?gemeente=GM0363", "#search-count"),
         "purchasing": ("/inkoop?region=VT08", "#purchasing-trend .scatterlayer"),
         "sources": ("/databronnen", "#reports-table")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(args.data_dir),
                               "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/api/v1/sources", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        driver = start_chromium()
        results = {}
        try:
            for page, (path, ready) in PAGES.items():
                times = []
                for attempt in range(args.repeat + 1):
                    started = time.perf_counter()
                    driver.get(base + path + ("&" if "?" in path else "?") + f"b={attempt}")
                    # the first visit of each page also warms a cold worker: give it longer
                    try:
                        WebDriverWait(driver, 30 if attempt else 120).until(
                            EC.presence_of_element_located((By.CSS_SELECTOR, ready)))
                    except TimeoutException:
                        driver.save_screenshot(str(FAILURE_SHOT))
                        print(f"{page}: {ready} not drawn; screenshot {FAILURE_SHOT}; browser log "
                              f"{driver.get_log('browser')}", file=sys.stderr)
                        raise
                    if attempt:   # the first visit warms the worker's caches of map shapes and imports
                        times.append(time.perf_counter() - started)
                results[page] = statistics.median(times)
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=15)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
