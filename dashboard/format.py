"""Numbers and moments as Dutch or English readers expect them."""
from __future__ import annotations


def whole(value: float | int | None, lang: str = "nl") -> str:
    """12345 -> '12.345' (nl) or '12,345' (en); None -> '–'."""
    if value is None:
        return "–"
    text = f"{round(value):,}"
    return text.replace(",", ".") if lang == "nl" else text
