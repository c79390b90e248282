"""The notice shown on every page while the dashboard shows demonstration data."""
from __future__ import annotations

from dash import html

TEXT = {"nl": "Demonstratiegegevens: fictieve aanbieders en cijfers",
        "en": "Demonstration data: fictional providers and figures"}


def demo_notice(lang: str) -> html.P:
    """'Demonstratiegegevens: …' (or the English text), for the page frame; show it when
    queries.demo.shows_demo_data(cur) is true."""
    return html.P(TEXT.get(lang, TEXT["nl"]), id="demo-notice", className="notice demo-notice", role="note")
