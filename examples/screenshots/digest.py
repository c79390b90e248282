"""A picture of the weekly digest for the README: the digest of a data folder's newest published copy, composed
by the digest's own code (ingest/digest.py), shown in headless Chromium with its charts inline.

    .venv/bin/python examples/screenshots/digest.py data [veilig_thuis:VT13 veilig_thuis:VT08 ...]

Writes examples/screenshots/weekoverzicht.png (and the HTML beside it in a temporary folder). Nothing is sent.
Needs the test tools (`make test` installs them) and Debian's chromium + chromium-driver.
"""
from __future__ import annotations

import base64
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from ingest.digest import last_digest_moment, region_digest, digest_mail  # noqa: E402
from ingest.subscriptions import Scope, Subscription  # noqa: E402
from queries import settings  # noqa: E402
from queries.connection import PublishedReader  # noqa: E402
from queries.moments import AMSTERDAM  # noqa: E402
from queries.paths import DataPaths  # noqa: E402
from queries.reference import care_labels  # noqa: E402

DEFAULT_REGIONS = ("veilig_thuis:VT13", "veilig_thuis:VT08")


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "data").resolve()
    regions = tuple(tuple(pair.split(":", 1)) for pair in (sys.argv[2:] or DEFAULT_REGIONS))
    now = datetime.now(timezone.utc)
    subscription = Subscription("voorbeeld0000000", "voorbeeld", "cli", "professional", "digest", "email",
                                "regio@example.org", "nl", Scope(regions=regions), now.timestamp(),
                                unsubscribe_key="voorbeeld")
    reader = PublishedReader(DataPaths(root))
    with reader.cursor() as cur:
        labels = care_labels(cur)
        digests = [region_digest(cur, subscription, level, code, now) for level, code in regions]
    reader.close()
    week_of = last_digest_moment(now, settings.get("digest_schedule")).astimezone(AMSTERDAM).date()
    _, _, html, images = digest_mail(subscription, digests, labels, week_of)
    for content_id, png in images:     # what a mail program does with cid: references
        html = html.replace(f"cid:{content_id}", "data:image/png;base64," + base64.b64encode(png).decode())
    page = Path(tempfile.mkdtemp(prefix="digest-")) / "weekoverzicht.html"
    page.write_text(html, encoding="utf-8")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=700,900",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.as_uri())
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "fromSurface": True})
        (HERE / "weekoverzicht.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.quit()
    print(HERE / "weekoverzicht.png")


if __name__ == "__main__":
    main()
