"""Filters in the URL query: read them, write them back (so a view can be shared as a link)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode


def parse_search(search: str | None) -> dict[str, str]:
    return dict(parse_qsl((search or "").lstrip("?")))


def with_params(search: str | None, **params: object) -> str:
    """The current query with `params` set (None or '' removes one); keeps the language."""
    query = parse_search(search)
    for key, value in params.items():
        if value in (None, "", False, []):
            query.pop(key, None)
        else:
            query[key] = "1" if value is True else str(value)
    return "?" + urlencode(query) if query else ""


def new_search(search: str | None, rendered: dict | None, **params: object) -> str | None:
    """The query for changed filters, or None when they equal what the page already shows (a control
    reporting its own value on mount must not render the page twice)."""
    if rendered is not None and all(rendered.get(key) == value for key, value in params.items()):
        return None
    return with_params(search, **params)
