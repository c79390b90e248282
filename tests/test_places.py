"""ingest/places.py: municipality names, aliases and woonplaatsen as providers write them -> GM codes.

Expected codes are looked up by hand in data/reference/regions (gemeente_veiligthuisregio_2025.csv for
municipalities, woonplaats_gemeente_2024.csv for places, whose codes lack the `GM` prefix).
"""
from __future__ import annotations

import csv
import time

import pytest

from ingest import places
from ingest.places import PlaceIndex, place_index
from ingest.values import ValueProblem
from support import REPO

REGIONS = REPO / "data" / "reference" / "regions"


def real_municipalities() -> dict[str, str]:
    """The 342 municipalities of 2025, GM code -> official name, as the warehouse holds them."""
    with (REGIONS / "gemeente_veiligthuisregio_2025.csv").open(encoding="utf-8") as handle:
        return {row["gemeente_code"]: row["gemeente_naam"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def index() -> PlaceIndex:
    return place_index(real_municipalities())


def refusal(index: PlaceIndex, text: str) -> ValueProblem:
    with pytest.raises(ValueProblem) as raised:
        index.municipality(text)
    return raised.value


@pytest.mark.parametrize("written", ["Amsterdam", "AMSTERDAM", "amsterdam", "  Amsterdam  "])
def test_a_municipality_name_in_any_case(index: PlaceIndex, written: str) -> None:
    assert index.municipality(written) == "GM0363"


@pytest.mark.parametrize("written", ["'s-Hertogenbosch", "s-Hertogenbosch", "S HERTOGENBOSCH", "\u2019s-Hertogenbosch",
                                     "Den Bosch", "DEN BOSCH"])
def test_s_hertogenbosch_however_written(index: PlaceIndex, written: str) -> None:
    assert index.municipality(written) == "GM0796"


@pytest.mark.parametrize("written", ["Den Haag", "den haag", "'s-Gravenhage", "s Gravenhage"])
def test_den_haag_is_s_gravenhage(index: PlaceIndex, written: str) -> None:
    assert index.municipality(written) == "GM0518"


@pytest.mark.parametrize(("written", "code"), [
    ("Hengelo (O.)", "GM0164"), ("Hengelo (O)", "GM0164"), ("HENGELO O", "GM0164"),
    ("Bergen (NH.)", "GM0373"), ("Bergen NH", "GM0373"), ("Bergen (L.)", "GM0893"),
])
def test_dots_parentheses_and_spaces_do_not_count(index: PlaceIndex, written: str, code: str) -> None:
    assert index.municipality(written) == code


@pytest.mark.parametrize(("written", "code"), [
    ("Súdwest-Fryslân", "GM1900"), ("Sudwest Fryslan", "GM1900"), ("SÚDWEST-FRYSLÂN", "GM1900"),
    ("Marienberg", "GM0160"),       # the data writes Mariënberg (Hardenberg)
    ("Earnewald", "GM0737"),        # the data writes Earnewâld (Tytsjerksteradiel)
    ("Zúidlaren", "GM1730"),        # an accent the data does not have
])
def test_accents_do_not_count_either_way(index: PlaceIndex, written: str, code: str) -> None:
    assert index.municipality(written) == code


@pytest.mark.parametrize(("written", "code"), [
    ("Zuidlaren", "GM1730"),        # woonplaats in Tynaarlo
    ("Bussum", "GM1942"),           # woonplaats in Gooise Meren
    ("ZUIDLAREN", "GM1730"),
    ("Hengelo (Gld)", "GM1876"),    # the place in Bronckhorst, written with its own suffix
    ("Haren Gn", "GM0014"),         # the place in Groningen; plain Haren is a place in Oss
])
def test_a_woonplaats_gives_its_municipality(index: PlaceIndex, written: str, code: str) -> None:
    assert index.municipality(written) == code


@pytest.mark.parametrize(("written", "code"), [
    ("Steenbergen", "GM0851"),      # not the place Steenbergen in Noordenveld (GM1699)
    ("Beuningen", "GM0209"),        # not the place Beuningen in Losser (GM0168)
    ("Hoorn", "GM0405"),            # not the place Hoorn in Terschelling (GM0093)
    ("Buren", "GM0214"),            # not the place Buren in Ameland (GM0060)
    ("Voorst", "GM0285"),           # not the place Voorst in Oude IJsselstreek (GM1509)
    ("Laren", "GM0417"),            # Laren (NH.); not the place Laren in Lochem (GM0262)
    ("Beek", "GM0888"),             # Beek (L.); not the places in Montferland and Berg en Dal
    ("Hengelo", "GM0164"),          # Hengelo (O.); Bronckhorst's place is 'Hengelo (Gld)'
])
def test_a_municipality_wins_over_a_place_of_that_name_elsewhere(index: PlaceIndex, written: str, code: str) -> None:
    assert index.municipality(written) == code


def test_a_place_in_two_municipalities_is_refused_naming_both(index: PlaceIndex) -> None:
    problem = refusal(index, "Broekhuizen")
    assert problem.nl == ("'Broekhuizen' is een woonplaats in twee gemeenten "
                          "(Horst aan de Maas GM1507, Meppel GM0119); schrijf de gemeente of de GM-code")
    assert problem.en == ("'Broekhuizen' is a place in two municipalities (Horst aan de Maas GM1507, Meppel GM0119); "
                          "write the municipality or its GM code")


def test_a_place_in_three_municipalities_names_all_three(index: PlaceIndex) -> None:
    problem = refusal(index, "Nes")
    assert "in drie gemeenten (Ameland GM0060, Heerenveen GM0074, Noardeast-Fryslân GM1970)" in problem.nl
    assert "in three municipalities (Ameland GM0060, Heerenveen GM0074, Noardeast-Fryslân GM1970)" in problem.en


def test_place_names_that_differ_only_by_a_hyphen_are_one_ambiguous_name(index: PlaceIndex) -> None:
    problem = refusal(index, "Kapel-Avezaath")      # Kapel-Avezaath in Buren, Kapel Avezaath in Tiel
    assert "(Buren GM0214, Tiel GM0281)" in problem.nl


def test_a_name_two_municipalities_share_is_refused_naming_both(index: PlaceIndex) -> None:
    problem = refusal(index, "Bergen")
    assert problem.nl == ("'Bergen' is de naam van twee gemeenten (Bergen (L.) GM0893, Bergen (NH.) GM0373); "
                          "schrijf de volledige naam of de GM-code")
    assert problem.en == ("'Bergen' is the name of two municipalities (Bergen (L.) GM0893, Bergen (NH.) GM0373); "
                          "write the full name or the GM code")


def test_an_unknown_name_suggests_the_closest_names(index: PlaceIndex) -> None:
    problem = refusal(index, "Amsterdm")
    assert problem.nl.startswith("'Amsterdm' is geen bekende gemeente of woonplaats; bedoelt u Amsterdam")
    assert problem.en.startswith("'Amsterdm' is not a known municipality or place; did you mean Amsterdam")
    assert problem.nl.endswith("?") and problem.en.endswith("?")
    assert "did you mean Den Haag" in refusal(index, "Den Hag").en


def test_a_name_like_nothing_known_gets_no_suggestion(index: PlaceIndex) -> None:
    problem = refusal(index, "Qqqxzq")
    assert problem.nl == "'Qqqxzq' is geen bekende gemeente of woonplaats"
    assert problem.en == "'Qqqxzq' is not a known municipality or place"


@pytest.mark.parametrize("written", ["GM0363", "gm0363", "GM363"])
def test_a_gm_code_is_taken_as_it_is(index: PlaceIndex, written: str) -> None:
    assert index.municipality(written) == "GM0363"


def test_an_unknown_gm_code_is_refused(index: PlaceIndex) -> None:
    assert refusal(index, "GM9999").en == "'GM9999' is not a known municipality or place"


@pytest.mark.parametrize(("alias", "code"), [
    ("Tietjerksteradeel", "GM0737"), ("Dantumadeel", "GM1891"), ("De Friese Meren", "GM1940"),
])
def test_dutch_forms_of_frisian_names_are_aliases(index: PlaceIndex, alias: str, code: str) -> None:
    assert index.municipality(alias) == code


def test_every_shipped_alias_names_a_current_municipality_and_is_not_shadowed(index: PlaceIndex) -> None:
    municipalities = real_municipalities()
    for alias, code in places.shipped_aliases():
        assert code in municipalities
        assert index.municipality(alias) == code


def test_the_shipped_places_cover_every_municipality() -> None:
    shipped = places.shipped_places()
    assert len(shipped) == 2501
    assert {code for _, code in shipped} == set(real_municipalities())


def test_aliases_and_places_of_municipalities_the_warehouse_lacks_are_left_out() -> None:
    index = PlaceIndex({"GM0363": "Amsterdam"}, places.shipped_aliases, places.shipped_places)
    assert index.municipality("Amsterdam") == "GM0363"
    assert refusal(index, "Zuidlaren").en.startswith("'Zuidlaren' is not a known municipality or place")
    assert refusal(index, "Den Haag").en.startswith("'Den Haag' is not a known municipality or place")


def test_the_index_is_built_quickly_and_once_per_set_of_municipalities() -> None:
    municipalities = real_municipalities()
    fastest = float("inf")
    for _ in range(3):
        for cached in (places._index_for, places.shipped_aliases, places.shipped_places):
            cached.cache_clear()
        started = time.perf_counter()
        built = place_index(municipalities)
        assert built.municipality("Den Haag") == "GM0518"   # a name: the name tables are built
        fastest = min(fastest, time.perf_counter() - started)
    assert fastest < 0.1
    assert place_index(dict(reversed(municipalities.items()))) is built


def test_gm_codes_are_looked_up_without_reading_the_place_lists() -> None:
    places.shipped_places.cache_clear()
    index = PlaceIndex(real_municipalities(), places.shipped_aliases, places.shipped_places)
    assert index.municipality(" gm0363 ") == "GM0363"
    assert places.shipped_places.cache_info().misses == 0
    assert index.municipality("Amsterdam") == "GM0363"
    assert places.shipped_places.cache_info().misses == 1
