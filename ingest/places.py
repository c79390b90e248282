"""Municipality codes for the municipality names, informal names and places (woonplaatsen) providers write.

`place_index(municipalities)` builds a PlaceIndex from the warehouse's municipalities (GM code -> official
name) and two shipped files in data/reference/regions: `gemeente_aliassen.csv` (informal names, written for
this project) and `woonplaats_gemeente_2024.csv` (CBS woonplaatsen -> municipality).
`PlaceIndex.municipality(text)` gives the GM code, or raises ValueProblem with the reason in Dutch and
English, naming the value as written.

Names are compared in a normal form: accents dropped, case folded, everything but letters and digits
removed. So `'s-Hertogenbosch`, `s-Hertogenbosch` and `S HERTOGENBOSCH` are one name, and so are
`Hengelo (O.)` and `Hengelo (O)`, `Súdwest-Fryslân` and `Sudwest Fryslan`. The first step that knows
the name decides:

1. the GM code of a known municipality (`GM0363`, `gm363`);
2. the name of a municipality: its official name or, for the eight names CBS writes with a province
   (`Hengelo (O.)`, `Laren (NH.)`, `Bergen (L.)`, ...), the name without it (`Hengelo`, `Laren`).
   `Bergen` is then two municipalities and is refused, naming both;
3. an alias from the alias list (`Den Haag`, `Den Bosch`);
4. a woonplaats: one municipality gives its code; a place name found in several municipalities is
   refused, naming them all (`Broekhuizen`: Horst aan de Maas and Meppel). Names equal after
   normalisation count as one: `Kapel-Avezaath` (Buren) and `Kapel Avezaath` (Tiel) are refused too.

So a municipality's name wins over a woonplaats of that name in another municipality. In the shipped
data this decides Beuningen (not the place in Losser), Buren (not Ameland), Heusden (not Asten), Hoorn
(not Terschelling), Noordwijk (not Westerkwartier), Oosterhout (not Overbetuwe), Scherpenzeel (not
Weststellingwerf), Steenbergen (not Noordenveld), Voorst (not Oude IJsselstreek), and by the short names
Laren (not Lochem) and Beek (not Montferland or Berg en Dal). A woonplaats written with the suffix the
data gives it is that place: `Hengelo (Gld)` is Bronckhorst, `Haren Gn` is Groningen.

An unknown name is refused with up to three close municipality, alias or place names ("did you mean").
Aliases and places of a municipality the warehouse does not have are left out.
"""
from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterable

from queries.settings import REFERENCE_DIR

from .reference_files import normalise_gemeente_code
from .values import ValueProblem

ALIASES_FILE = REFERENCE_DIR / "regions" / "gemeente_aliassen.csv"
PLACES_FILE = REFERENCE_DIR / "regions" / "woonplaats_gemeente_2024.csv"
SUGGESTIONS = 3
_NOT_NAME_CHARACTERS = re.compile(r"[^0-9a-z]")
_PROVINCE_SUFFIX = re.compile(r"\s*\([^()]*\)$")
_COUNTS = {2: ("twee", "two"), 3: ("drie", "three")}


def normalise(text: str) -> str:
    """The form names are compared in: no accents, case folded, only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text)
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_NAME_CHARACTERS.sub("", unaccented.casefold())


@dataclass(frozen=True)
class _NameTables:
    """Normalised name -> GM codes, per kind; and normalised name -> its first spelling (for suggestions)."""

    names: dict[str, tuple[str, ...]]
    aliases: dict[str, tuple[str, ...]]
    places: dict[str, tuple[str, ...]]
    shown: dict[str, str]


class PlaceIndex:
    """Normalised municipality names, aliases and woonplaatsen -> GM codes; see the module docstring. The name
    tables are built on the first name that is no GM code (a file of GM codes never needs them)."""

    def __init__(self, municipalities: dict[str, str], aliases: Callable[[], Iterable[tuple[str, str]]],
                 places: Callable[[], Iterable[tuple[str, str]]]) -> None:
        """`aliases` and `places` give (name, GM code) pairs; pairs with an unknown code are left out."""
        self._municipalities = dict(municipalities)
        self._aliases_of, self._places_of = aliases, places

    @cached_property
    def _tables(self) -> _NameTables:
        official = [(name, code) for code, name in self._municipalities.items()]
        short = [(_without_province(name), code) for name, code in official if _without_province(name) != name]
        known_aliases = [(alias, code) for alias, code in self._aliases_of() if code in self._municipalities]
        known_places = [(place, code) for place, code in self._places_of() if code in self._municipalities]
        return _NameTables({**_codes_by_name(short), **_codes_by_name(official)}, _codes_by_name(known_aliases),
                           _codes_by_name(known_places), _first_spelling(official + known_aliases + known_places))

    def municipality(self, text: str) -> str:
        """The GM code for a GM code, municipality name, alias or woonplaats; ValueProblem otherwise."""
        code = self._gm_code(text)
        if code:
            return code
        key = normalise(text)
        tables = self._tables
        for table, is_place in ((tables.names, False), (tables.aliases, False), (tables.places, True)):
            codes = table.get(key)
            if codes and len(codes) == 1:
                return codes[0]
            if codes:
                raise self._ambiguous(text.strip(), codes, is_place)
        raise self._unknown(text.strip(), key)

    def _gm_code(self, text: str) -> str | None:
        if not text.strip().upper().startswith("GM"):
            return None
        code = normalise_gemeente_code(text)
        return code if code in self._municipalities else None

    def _ambiguous(self, written: str, codes: tuple[str, ...], is_place: bool) -> ValueProblem:
        named = ", ".join(f"{self._municipalities[code]} {code}"
                          for code in sorted(codes, key=lambda code: self._municipalities[code]))
        count_nl, count_en = _COUNTS.get(len(codes), (str(len(codes)), str(len(codes))))
        if is_place:
            return ValueProblem(
                f"'{written}' is een woonplaats in {count_nl} gemeenten ({named}); schrijf de gemeente of de GM-code",
                f"'{written}' is a place in {count_en} municipalities ({named}); "
                "write the municipality or its GM code")
        return ValueProblem(
            f"'{written}' is de naam van {count_nl} gemeenten ({named}); schrijf de volledige naam of de GM-code",
            f"'{written}' is the name of {count_en} municipalities ({named}); write the full name or the GM code")

    def _unknown(self, written: str, key: str) -> ValueProblem:
        close = [self._tables.shown[match] for match in difflib.get_close_matches(key, self._tables.shown, n=SUGGESTIONS)]
        nl = f"'{written}' is geen bekende gemeente of woonplaats"
        en = f"'{written}' is not a known municipality or place"
        if not close:
            return ValueProblem(nl, en)
        return ValueProblem(f"{nl}; bedoelt u {_listed(close, 'of')}?", f"{en}; did you mean {_listed(close, 'or')}?")


def place_index(municipalities: dict[str, str]) -> PlaceIndex:
    """The index for these municipalities with the shipped aliases and places, built once per set."""
    return _index_for(tuple(sorted(municipalities.items())))


@lru_cache(maxsize=4)
def _index_for(municipalities: tuple[tuple[str, str], ...]) -> PlaceIndex:
    return PlaceIndex(dict(municipalities), shipped_aliases, shipped_places)


@lru_cache(maxsize=1)
def shipped_aliases() -> tuple[tuple[str, str], ...]:
    """(alias, GM code) pairs from data/reference/regions/gemeente_aliassen.csv."""
    return tuple((row["alias"], row["gemeente_code"]) for row in _csv_rows(ALIASES_FILE))


@lru_cache(maxsize=1)
def shipped_places() -> tuple[tuple[str, str], ...]:
    """(woonplaats, GM code) pairs from data/reference/regions/woonplaats_gemeente_2024.csv."""
    return tuple((row["Woonplaats"], f"GM{row['Gemeentecode']}") for row in _csv_rows(PLACES_FILE))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, skipping comment lines that start with '#'."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def _without_province(name: str) -> str:
    """'Hengelo (O.)' -> 'Hengelo'; other names unchanged."""
    return _PROVINCE_SUFFIX.sub("", name)


def _codes_by_name(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Normalised name -> its distinct GM codes, sorted."""
    codes: dict[str, set[str]] = {}
    for name, code in pairs:
        codes.setdefault(normalise(name), set()).add(code)
    return {key: tuple(sorted(found)) for key, found in codes.items()}


def _first_spelling(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Normalised name -> the first spelling given for it, for suggestions."""
    shown: dict[str, str] = {}
    for name, _ in pairs:
        shown.setdefault(normalise(name), name)
    return shown


def _listed(names: list[str], last_word: str) -> str:
    """'A', 'A of B', 'A, B of C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last_word} {names[-1]}"
