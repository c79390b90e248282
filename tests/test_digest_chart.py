"""The digest's trend chart: a deterministic 600x260 PNG that keeps its text inside the image."""
from __future__ import annotations

import io
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from PIL import Image

from ingest.digest_chart import TrendPoint, trend_png

pytestmark = pytest.mark.timeout(120)

WEEKS = [date(2026, 1, 4) + timedelta(weeks=week) for week in range(12)]
VALUES = [12.0, 14.0, 13.0, 17.0, 16.0, 15.0, 18.0, 20.0, 19.0, 21.0, 18.0, 22.0]
LONG_TITLE = ("Wachttijd tot intake voor specialistische jeugdhulp met verblijf in de regio Zuid-Holland Zuid, alle "
              "aanbieders samen, per week")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE = (255, 255, 255)


def series(values: list[float | None]) -> list[TrendPoint]:
    return [TrendPoint(week, value) for week, value in zip(WEEKS, values)]


def chart(values: list[float | None] = VALUES, title: str = "Vrije plaatsen jeugd-GGZ", lang: str = "nl",
          **norm: object) -> bytes:
    return trend_png(series(values), title, "vrije plaatsen", lang, **norm)


def size_of(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature and the chunk's length and type."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_chart_is_a_png_of_600_by_260_on_white(lang: str) -> None:
    png = chart(lang=lang, norm=15, norm_label="norm")
    assert size_of(png) == (600, 260)
    picture = image(png)
    assert picture.size == (600, 260) and picture.getpixel((0, 0)) == WHITE and picture.getpixel((599, 259)) == WHITE
    assert (0x1f, 0x4e, 0x79) in {colour for _, colour in picture.getcolors(maxcolors=600 * 260)}


def test_the_same_input_gives_the_same_bytes() -> None:
    first = chart(norm=15.5, norm_label="norm: 15,5")
    assert chart(norm=15.5, norm_label="norm: 15,5") == first
    assert chart() != first and chart(lang="en", norm=15.5, norm_label="norm: 15,5") != first
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_every_week_unknown_still_gives_a_png() -> None:
    png = chart([None] * 12)
    assert size_of(png) == (600, 260)
    assert png != chart([None] * 12, lang="en")   # "geen cijfers" / "no figures"
    assert size_of(trend_png([], "Leeg", "plaatsen", "nl")) == (600, 260)


@pytest.mark.parametrize("title", [LONG_TITLE, "x" * 120, "Dollars $x$ en " + "y" * 110])
def test_a_long_title_stays_inside_the_image(title: str) -> None:
    assert len(title) >= 120
    picture = image(chart(title=title, lang="en", norm=15, norm_label="a very long norm label " * 5))
    for x in (0, 1, 2, 597, 598, 599):
        assert {picture.getpixel((x, y)) for y in range(40)} == {WHITE}, f"text at column {x}"


def line_blue_in_the_middle(png: bytes) -> int:
    """How many pixels of the line's dark blue lie in the columns around the middle of the weeks."""
    picture = image(png)
    return sum(1 for x in range(290, 330) for y in range(260) if is_line_blue(picture.getpixel((x, y))))


def is_line_blue(colour: tuple[int, int, int]) -> bool:
    red, green, blue = colour
    return red < 120 and blue - red > 50


def test_unknown_weeks_make_a_gap_not_a_drop_to_zero() -> None:
    middle_unknown = VALUES[:4] + [None] * 4 + VALUES[8:]
    png = chart(middle_unknown)
    assert size_of(png) == (600, 260)
    assert png != chart() and png != chart(VALUES[:4] + [0.0] * 4 + VALUES[8:])
    assert line_blue_in_the_middle(chart()) > 0 and line_blue_in_the_middle(png) == 0


def test_four_threads_at_once_draw_the_same_charts() -> None:
    inputs = [dict(values=VALUES), dict(values=[None] * 12, lang="en"), dict(title=LONG_TITLE, norm=15.0),
              dict(values=VALUES[:4] + [None] * 4 + VALUES[8:], lang="en")] * 3
    alone = [chart(**kwargs) for kwargs in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda kwargs: chart(**kwargs), inputs))
    assert together == alone
