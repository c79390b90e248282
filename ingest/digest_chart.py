"""The weekly digest's trend chart: a small PNG drawn on the server, the same bytes for the same input.

matplotlib is used through `Figure` and `FigureCanvasAgg` only (no pyplot, no backend switch, no rcParams
changed). Every text is drawn in the DejaVu Sans files bundled with matplotlib (no system fonts), with mathtext
off, and numbers and dates are written here, so neither the host's fonts, locale nor time zone shows. The figure
is laid out in pixels: the title's lines and the y labels are measured, nothing is left to clip at an edge.
"""
from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

WIDTH, HEIGHT, DPI = 600, 260, 100
PAD = 10              # px around the whole figure
GAP = 6               # px between the y labels and the plot
TOP_GAP = 14          # px between the title block and the plot: the top y label reaches half its height above
LINE_GAP = 2          # px between lines of text at the top
X_LABELS_HEIGHT = 26  # px under the plot for the tick marks and the dates
TITLE_LINES = 2
MAX_X_LABELS = 6
TICK_STEPS = [1, 2, 2.5, 5, 10]   # y ticks at round numbers only
HALF_WEEK = 3.5       # days of room left and right of the first and last week
LINE_COLOUR = "#1f4e79"
NORM_COLOUR = "#a6470c"
NORM_DASHES = (0, (5, 3))
KEY_LENGTH = 24       # px of dashed line before the norm's label
TEXT_COLOUR = "#222222"
MUTED_COLOUR = "#595959"
GRID_COLOUR = "#dddddd"
ELLIPSIS = "…"
_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
TITLE_FONT = FontProperties(fname=_FONTS / "DejaVuSans-Bold.ttf", size=11)
LABEL_FONT = FontProperties(fname=_FONTS / "DejaVuSans.ttf", size=9)
SMALL_FONT = FontProperties(fname=_FONTS / "DejaVuSans.ttf", size=8)
NO_FIGURES = {"nl": "geen cijfers", "en": "no figures"}
# matplotlib shares font and text-layout caches between figures and does not promise thread safety: one at a time
_DRAWING = threading.Lock()

Fits = Callable[[str], bool]


@dataclass(frozen=True)
class TrendPoint:
    """One week's value; None: unknown that week (a gap in the line, never drawn as 0)."""

    week_end: date
    value: float | None


def trend_png(points: list[TrendPoint], title: str, value_label: str, lang: str,
              norm: float | None = None, norm_label: str | None = None) -> bytes:
    """A 600x260 PNG of the weekly values as a line, with an optional dashed norm line; lang 'nl' or 'en'."""
    ordered = sorted(points, key=lambda point: point.week_end)
    with _DRAWING:
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
        canvas = FigureCanvasAgg(figure)
        renderer = canvas.get_renderer()
        top = _header(figure, renderer, title, value_label, norm_label if norm is not None else None)
        known = [point.value for point in ordered if point.value is not None]
        y_ticks = _y_ticks(known, norm)
        y_labels = _numbers(y_ticks, lang)
        x_ticks = _x_ticks(ordered, lang)
        axes = figure.add_axes(_plot_area(renderer, top, y_labels, [label for _, label in x_ticks]))
        _style(axes)
        _x_axis(axes, ordered, x_ticks)
        _y_axis(axes, y_ticks, y_labels)
        if known:
            _line(axes, ordered)
        else:
            axes.text(0.5, 0.5, NO_FIGURES["en" if lang == "en" else "nl"], transform=axes.transAxes,
                      ha="center", va="center", color=MUTED_COLOUR, fontproperties=LABEL_FONT)
        if norm is not None:
            axes.axhline(norm, color=NORM_COLOUR, linewidth=1.2, linestyle=NORM_DASHES)
        buffer = io.BytesIO()
        canvas.print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def _header(figure: Figure, renderer: RendererBase, title: str, value_label: str, norm_label: str | None
            ) -> float:
    """Draw the title (wrapped, shortened), under it the value label at left and the norm's key at right (each
    shortened to half the width, so the key never covers the data); the px height left below them."""
    y = HEIGHT - PAD
    for line in _wrapped(title, _fits(renderer, TITLE_FONT, WIDTH - 2 * PAD)):
        y = _text(figure, renderer, (PAD, y), line, TITLE_FONT, TEXT_COLOUR)
    half = _fits(renderer, SMALL_FONT, (WIDTH - 2 * PAD - KEY_LENGTH) / 2 - GAP)
    bottoms = [y]
    if value_label:
        bottoms.append(_text(figure, renderer, (PAD, y), _shortened(value_label, half, cut=False), SMALL_FONT,
                             MUTED_COLOUR))
    if norm_label:
        bottoms.append(_norm_key(figure, renderer, y, _shortened(norm_label, half, cut=False)))
    return min(bottoms) - TOP_GAP


def _norm_key(figure: Figure, renderer: RendererBase, y: float, label: str) -> float:
    """The norm's label at top right after a short dashed line like the norm's; the px bottom of the label."""
    bottom = _text(figure, renderer, (WIDTH - PAD, y), label, SMALL_FONT, NORM_COLOUR, align="right")
    end = WIDTH - PAD - _width(renderer, label, SMALL_FONT) - GAP
    middle = (y + bottom) / 2 / HEIGHT
    figure.add_artist(Line2D([(end - KEY_LENGTH) / WIDTH, end / WIDTH], [middle, middle], color=NORM_COLOUR,
                             linewidth=1.2, linestyle=NORM_DASHES))
    return bottom


def _text(figure: Figure, renderer: RendererBase, at: tuple[float, float], text: str, font: FontProperties,
          colour: str, align: str = "left") -> float:
    """Draw one line of plain text (no mathtext) hanging from `at` in px; the px height just below it."""
    drawn = figure.text(at[0] / WIDTH, at[1] / HEIGHT, text, ha=align, va="top", color=colour,
                        fontproperties=font, parse_math=False)
    return drawn.get_window_extent(renderer).y0 - LINE_GAP


def _fits(renderer: RendererBase, font: FontProperties, width: float) -> Fits:
    """Whether a line of text in `font` is at most `width` px wide."""
    return lambda text: _width(renderer, text, font) <= width


def _wrapped(title: str, fits: Fits) -> list[str]:
    """The title in at most TITLE_LINES lines that fit, the last ending in '…' when words were left over."""
    words = title.split()
    lines: list[str] = []
    while words and len(lines) < TITLE_LINES:
        line = words.pop(0)
        while words and fits(f"{line} {words[0]}"):
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    return [_shortened(line, fits, cut=bool(words) and number == len(lines) - 1)
            for number, line in enumerate(lines)]


def _shortened(text: str, fits: Fits, cut: bool) -> str:
    """The text itself when it fits and is not cut, else as much of it as fits followed by '…'."""
    if fits(text) and not cut:
        return text
    while text and not fits(text + ELLIPSIS):
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def _width(renderer: RendererBase, text: str, font: FontProperties) -> float:
    """The width of one line of text in px."""
    return renderer.get_text_width_height_descent(text, font, ismath=False)[0]


def _style(axes: Axes) -> None:
    """White plot, a bottom axis line, light horizontal grid lines, no frame on the other sides."""
    axes.set_facecolor("white")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(MUTED_COLOUR)
    axes.spines["bottom"].set_linewidth(0.8)
    axes.tick_params(axis="x", length=3, width=0.8, pad=3, color=MUTED_COLOUR, labelcolor=TEXT_COLOUR)
    axes.tick_params(axis="y", length=0, pad=GAP, labelcolor=TEXT_COLOUR)
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    axes.set_axisbelow(True)


def _plot_area(renderer: RendererBase, top: float, y_labels: list[str], x_labels: list[str]
               ) -> tuple[float, float, float, float]:
    """The plot's rectangle in figure fractions below `top` px: room for the y labels at left and for half a
    date at both sides (the first and last week may be labelled)."""
    half_date = max((_width(renderer, label, LABEL_FONT) for label in x_labels), default=0) / 2
    left = PAD + max(max((_width(renderer, label, LABEL_FONT) for label in y_labels), default=0) + GAP, half_date)
    right = WIDTH - PAD - half_date
    bottom = PAD + X_LABELS_HEIGHT
    return left / WIDTH, bottom / HEIGHT, (right - left) / WIDTH, (top - bottom) / HEIGHT


def _x_ticks(points: list[TrendPoint], lang: str) -> list[tuple[int, str]]:
    """At most MAX_X_LABELS weeks to label, the last week always, as (day number, dd-mm or dd/mm)."""
    step = max(math.ceil(len(points) / MAX_X_LABELS), 1)
    separator = "/" if lang == "en" else "-"
    return [(point.week_end.toordinal(), f"{point.week_end.day:02d}{separator}{point.week_end.month:02d}")
            for point in points[::-1][::step][::-1]]


def _x_axis(axes: Axes, points: list[TrendPoint], ticks: list[tuple[int, str]]) -> None:
    """Days on the x axis with half a week of room at both ends, the given weeks labelled."""
    if points:
        axes.set_xlim(points[0].week_end.toordinal() - HALF_WEEK, points[-1].week_end.toordinal() + HALF_WEEK)
    axes.set_xticks([day for day, _ in ticks], [label for _, label in ticks], fontproperties=LABEL_FONT)


def _y_ticks(known: list[float], norm: float | None) -> list[float]:
    """About five round ticks from 0 (or below, for a negative value) to above the highest value and the norm;
    none when there is neither."""
    levels = known + ([norm] if norm is not None else [])
    if not levels:
        return []
    bottom = min(0.0, *levels)
    top = max(levels)
    top = top * 1.1 if top > 0 else 1.0
    whole = all(float(value).is_integer() for value in known)
    return [float(tick) for tick in MaxNLocator(nbins=5, steps=TICK_STEPS, integer=whole).tick_values(bottom, top)
            if bottom <= tick or math.isclose(tick, bottom)]


def _y_axis(axes: Axes, ticks: list[float], labels: list[str]) -> None:
    """The y axis from the lowest to the highest tick with the given labels; no labels without ticks."""
    if ticks:
        axes.set_ylim(ticks[0], ticks[-1])
    axes.set_yticks(ticks, labels, fontproperties=LABEL_FONT)


def _line(axes: Axes, points: list[TrendPoint]) -> None:
    """The values as a line with markers; an unknown week (NaN) breaks the line."""
    axes.plot([point.week_end.toordinal() for point in points],
              [math.nan if point.value is None else point.value for point in points],
              color=LINE_COLOUR, linewidth=2, marker="o", markersize=4.5, clip_on=False, zorder=3)


def _numbers(values: list[float], lang: str) -> list[str]:
    """Tick values with one number of decimals, as Dutch (1.250 / 2,5) or English (1,250 / 2.5) writes them,
    whatever the host's locale."""
    decimals = max((len(f"{value:.3f}".rstrip("0").partition(".")[2]) for value in values), default=0)
    texts = [f"{value:,.{decimals}f}" for value in values]
    return texts if lang == "en" else [text.translate(str.maketrans(",.", ".,")) for text in texts]
