"""Personal data and street addresses at ingest: recognised, refused or removed, never kept.

- A column (CSV/XLSX header, feed or HSDS field, at any depth) that holds personal data of a client
  (fields.PERSONAL_HEADERS, PERSONAL_WORDS) refuses the whole batch: nothing is loaded, and an inbox
  file is deleted after the ledger row is committed, with only a plain-text report left behind.
- Street-address columns (fields.ADDRESS_HEADERS) are dropped; when a file had any, the archive (or
  quarantine) keeps a scrubbed CSV copy instead of the original (ScrubbedCopy).
- A citizen service number (BSN: 9 digits passing the 11-test) in a screened free-text field
  (fields.SCREENED_FIELDS) refuses its row; in every rejected-row value, message and report any
  BSN-like number is shown as '*********'. Ids, numbers, phone, e-mail, website and columns the source
  does not use are not screened (see fields.py for why); old 8-digit BSNs are not recognised.
- A Dutch street address written into text (a street name with a house number, "Kanariestraat 17",
  "Laan van Meerdervoort 12", or a postcode, "1011 ZZ") refuses a shelter's row (validate.py names the
  field, never the value); it is masked as '[adres weggelaten]' in rejected-row values, and in every cell
  of the archived copy of a file.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar

from queries.errors import CapacityError
from queries.text import printable

from .fields import ADDRESS_HEADERS, ADDRESS_WORDS, NOT_STREET_ADDRESS_WORDS, PERSONAL_HEADERS, PERSONAL_WORDS
from .records import Extract, RowError, StructuralError
from .values import as_text

MASK = "*********"
MAX_KEPT_VALUE = 200
WITHHELD_NL, WITHHELD_EN = "[adres weggelaten]", "[address withheld]"
_BSN = re.compile(r"(?<!\d)(?<!\d[.])(?:\d{9}|\d{4}[. ]\d{2}[. ]\d{3}|\d{3}[. ]\d{3}[. ]\d{3})(?!\d)(?![.]\d)")
_DIGIT_RUN = re.compile(r"\d[\d. ]{7,}\d")
# Street-name endings of Dutch addresses, followed by a house number (with a letter or addition), not by a
# unit ("Onderweg 24 uur", "Park 3 dagen"), also written together ("Bremstraat3"); and streets that start with a word and a preposition.
_STREET_ENDINGS = ("straat", "straatweg", "steenweg", "weg", "laan", "plein", "gracht", "kade", "singel", "dijk",
                   "dreef", "hof", "hoven", "pad", "steeg", "park", "plantsoen", "markt", "ring", "baan", "allee",
                   "boulevard", "burgwal", "wal", "haven", "dam", "erf", "veld", "berg", "akker", "kamp", "zijde",
                   "wetering", "vaart", "kanaal", "poort", "weide", "hoek", "donk", "horst", "heuvel", "promenade",
                   "passage", "galerij")
# English-language addresses put the number first ("545 Lake Shore Blvd W"); the street type is capitalised.
# Canadian postal codes ("M9W 1J1") come with them in real feeds.
_ENGLISH_STREET_ENDINGS = ("Street", "St", "Road", "Rd", "Avenue", "Ave", "Boulevard", "Blvd", "Drive", "Dr", "Lane",
                           "Ln", "Court", "Ct", "Crescent", "Cres", "Parkway", "Pkwy", "Highway", "Hwy", "Terrace",
                           "Square", "Sq")
_NOT_A_UNIT = (r"(?![.,]\d)(?i:(?!\s*(?:/\s*7|uur|u|dag|dagen|week|weken|maand|maanden|jaar|jr|min|minuten|x|keer|"
               r"plek|plekken|plaats|plaatsen|bed|bedden|kamers?|gezinnen|personen|kinderen|vrouwen|mensen|km|m)\b))"
               r"(?!\s*%)")
_NUMBER = r"\d{1,5}" + _NOT_A_UNIT + r"(?:\s?[a-zA-Z](?![a-zA-Z])|\s?[-/]\s?\d{1,4}(?!\d))?"
_STREET = re.compile(
    r"(?i:\b[^\W\d_][\w'’.-]*?(?:" + "|".join(_STREET_ENDINGS) + r"))\s*" + _NUMBER + r"(?!\w)"
    + r"|(?i:\b(?:laan|weg|plein|kade|dijk|singel|hof|park|markt|straat|burgemeester|dokter|pastoor|koning|koningin"
      r"|prins|prinses|graaf|generaal)\s+(?:van|der|de|den|het|ten|ter|op|aan|in|bij|'t)\b(?:\s+[^\W\d_][\w'’.-]*){1,3})"
      r"\s+" + _NUMBER + r"(?!\w)"
    + r"|\b[1-9]\d{3}\s?(?!SA\b|SD\b|SS\b)[A-Z]{2}\b"
    + r"|\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w'’.-]*\s+){1,4}(?:" + "|".join(_ENGLISH_STREET_ENDINGS) + r")\b"
    + r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
E = TypeVar("E", bound=CapacityError)


class PersonalDataError(StructuralError):
    """The batch holds personal data of clients: refused whole, and an inbox file is not kept."""

    def __init__(self, nl: str, en: str, columns: list[str]) -> None:
        super().__init__(nl, en)
        self.columns = columns


# --- headers -----------------------------------------------------------------------------------


def privacy_key(header: str) -> str:
    """'Naam cliënt', 'Geb. datum' and 'dateOfBirth' become 'naam_client', 'geb_datum', 'date_of_birth'."""
    plain = unicodedata.normalize("NFKD", _CAMEL.sub("_", header.strip()))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return _NOT_WORD.sub("_", plain).strip("_")


def _keys(header: str) -> list[str]:
    """The whole header and each of its dotted parts, as privacy keys."""
    return [privacy_key(header), *(privacy_key(part) for part in header.split(".") if "." in header)]


def is_personal(header: str) -> bool:
    """Whether a column or field name says it holds personal data of a client."""
    keys = _keys(header)
    return any(key in PERSONAL_HEADERS or PERSONAL_WORDS.intersection(key.split("_")) for key in keys)


def is_address(header: str) -> bool:
    """Whether a column or field name says it holds (part of) a street address: a known address header, or
    any header containing one of ADDRESS_WORDS (`LOCATION_ADDRESS`, `Adres opvang`, `Postcode locatie`,
    `straat en huisnummer`), unless it names an e-mail, web or IP address (`emailadres`, `webadres`)."""
    keys = _keys(header)
    if any(key in ADDRESS_HEADERS for key in keys):
        return True
    return any(word in key for key in keys for word in ADDRESS_WORDS) and \
        not any(word in key for key in keys for word in NOT_STREET_ADDRESS_WORDS)


def personal_columns(header: Iterable[str]) -> list[str]:
    return [column for column in header if is_personal(column)]


def address_columns(header: Iterable[str]) -> list[str]:
    return [column for column in header if is_address(column) and not is_personal(column)]


def personal_fields(item: object, prefix: str = "") -> list[str]:
    """Dotted paths of every personal-data key in a JSON value, at any depth (lists included)."""
    found: list[str] = []
    if isinstance(item, dict):
        for key, value in item.items():
            path = f"{prefix}{key}"
            if is_personal(str(key)):
                found.append(path)
            found.extend(personal_fields(value, f"{path}."))
    elif isinstance(item, list):
        for value in item:
            found.extend(personal_fields(value, prefix))
    return list(dict.fromkeys(found))


def refuse_personal(where: str, columns: list[str]) -> None:
    """Raise PersonalDataError naming `where` and the columns (never their values) when there are any."""
    if columns:
        raise personal_data_error(where, columns)


def personal_data_error(where: str, columns: list[str]) -> PersonalDataError:
    """The refusal of a batch with personal-data columns, naming `where` and the columns."""
    listed = ", ".join(f"'{column}'" for column in columns)
    return PersonalDataError(
        f"{where}: de kolom(men) {listed} bevatten persoonsgegevens van cliënten (naam, geboortedatum of BSN); "
        "die horen niet in een capaciteitsrapportage. Er is niets geladen; stuur de gegevens opnieuw zonder "
        "deze kolom(men)",
        f"{where}: the column(s) {listed} hold personal data of clients (name, date of birth or citizen service "
        "number); these do not belong in a capacity report. Nothing was loaded; send the data again without "
        "these column(s)", columns)


# --- citizen service numbers -------------------------------------------------------------------


def elfproef(digits: str) -> bool:
    """The 11-test of a BSN: 9*d1 + 8*d2 + ... + 2*d8 - d9 is divisible by 11 (and not all zeros)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    numbers = [int(d) for d in digits]
    total = sum(weight * d for weight, d in zip(range(9, 1, -1), numbers)) - numbers[8]
    return any(numbers) and total % 11 == 0


def has_bsn(raw: object) -> bool:
    """Whether the cell holds a 9-digit number (also as 1234.56.789) that passes the BSN 11-test."""
    text = raw if isinstance(raw, str) else as_text(raw)
    if len(text) < 9 or _DIGIT_RUN.search(text) is None:  # a cheap test first: most cells have no such run
        return False
    return any(elfproef(re.sub(r"\D", "", m.group())) for m in _BSN.finditer(text))


def mask_text(text: str) -> str:
    """The text with every BSN-like number replaced by '*********'."""
    return _BSN.sub(lambda m: MASK if elfproef(re.sub(r"\D", "", m.group())) else m.group(), text)


def address_error(row: int, column: str) -> RowError:
    """The row error for a street address in a shelter's text field; the value is never repeated."""
    return RowError(row, column, WITHHELD_NL,
                    f"{column}: lijkt een straatadres (straat en huisnummer) of postcode te bevatten; het adres van "
                    "een opvang wordt nooit opgeslagen of getoond. De regel is niet geladen; stuur hem opnieuw zonder "
                    "adres",
                    f"{column}: seems to hold a street address (street and house number) or postcode; a shelter's "
                    "address is never stored or shown. The row was not loaded; send it again without the address")


def bsn_error(row: int, column: str) -> RowError:
    """The row error for a BSN in a screened column; the value is shown masked only."""
    return RowError(row, column, MASK,
                    f"{column}: bevat een getal dat een burgerservicenummer lijkt ({MASK}); persoonsgegevens van "
                    "cliënten horen niet in dit bestand. De regel is niet geladen; stuur hem opnieuw zonder dit nummer",
                    f"{column}: holds a number that looks like a citizen service number (BSN, {MASK}); personal "
                    "data of clients does not belong in this file. The row was not loaded; send it again without "
                    "this number")


def masked_errors(errors: Iterable[RowError]) -> list[RowError]:
    """Row errors as they may be stored and shown: every BSN-like number masked in value and messages,
    street addresses masked in values, and unprintable characters escaped everywhere (each distinct error
    masked once: a file's many rows with the same mistake share one)."""
    done: dict[tuple[str | None, str | None, str, str], tuple[str | None, str | None, str, str]] = {}
    masked = []
    for e in errors:
        key = (e.column, e.value, e.nl, e.en)
        if key not in done:
            done[key] = (printable(e.column) if e.column else e.column,
                         _shortened(printable(mask_address(mask_text(e.value)))) if e.value else e.value,
                         printable(mask_text(e.nl)), printable(mask_text(e.en)))
        masked.append(RowError(e.row, *done[key]))
    return masked


def _shortened(value: str) -> str:
    """A rejected value as kept: at most MAX_KEPT_VALUE characters (the provider has the rest)."""
    return value if len(value) <= MAX_KEPT_VALUE else value[:MAX_KEPT_VALUE] + f"… ({len(value)})"


def masked(error: E) -> E:
    """The same error with BSN-like numbers masked in both messages."""
    error.nl, error.en = mask_text(error.nl), mask_text(error.en)
    error.args = (error.en,)
    return error


def withheld(error: RowError) -> RowError:
    """A row error whose value may be (part of) an address: the value left out, also from its messages."""
    if not error.value:
        return error
    return replace(error, value=WITHHELD_NL, nl=error.nl.replace(error.value, WITHHELD_NL),
                   en=error.en.replace(error.value, WITHHELD_EN))


# --- street addresses in text ------------------------------------------------------------------


def has_street_address(raw: object) -> bool:
    """Whether text holds a Dutch street with a house number, or a postcode."""
    text = raw if isinstance(raw, str) else as_text(raw)
    return len(text) >= 5 and _STREET.search(text) is not None


def mask_address(text: str) -> str:
    """The text with every street-and-number and postcode replaced by '[adres weggelaten]'."""
    return _STREET.sub(WITHHELD_NL, text) if len(text) >= 5 else text


def address_text_columns(extract: Extract, drop: Iterable[str]) -> list[str]:
    """The kept columns in which some cell holds a street address (to be masked in the archived copy)."""
    kept = [column for column in extract.header if column not in set(drop)]
    scan = getattr(extract, "scanned", None)
    if scan is not None:
        return [column for column in scan.address_columns if column in kept]
    seen: dict[object, bool] = {}
    found = []
    for column in kept:
        for raw in extract.rows:
            value = raw.values.get(column)
            hit = seen.get(value)
            if hit is None:
                hit = seen[value] = has_street_address(value) if isinstance(value, str) else False
            if hit:
                found.append(column)
                break
    return found


# --- the scrubbed copy -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrubbedCopy:
    """What is kept of a file instead of the original: its rows without address columns, with BSNs masked
    in the screened columns and street addresses masked in the columns that had them in text. Rows the
    reader could not split into the header's columns are left out."""

    extract: Extract
    drop: tuple[str, ...]
    mask: tuple[str, ...]
    addresses: tuple[str, ...] = ()

    @property
    def suffix(self) -> str:
        """Appended to the stamped original name: `.zonder-adres.csv`, or `.zonder-bsn.csv` for BSNs only."""
        return ".zonder-adres.csv" if self.drop or self.addresses else ".zonder-bsn.csv"

    def lines(self) -> Iterator[list[str]]:
        """The header, then every readable row, as text."""
        kept = [column for column in self.extract.header if column not in self.drop]
        yield kept
        masked = [(index, column) for index, column in enumerate(kept)
                  if column in self.mask or column in self.addresses]
        for raw in self.extract.stream_rows():
            # _text, with the usual cell (text) taken on the spot: a file may have millions of them
            line = [value.strip() if type(value) is str else _text(value) for value in map(raw.values.get, kept)]
            for index, column in masked:
                line[index] = self._masked(column, line[index])
            yield line

    def _masked(self, column: str, text: str) -> str:
        if column in self.mask:
            text = mask_text(text)
        return mask_address(text) if column in self.addresses else text


def _text(value: object) -> str:
    """A cell as the copy writes it."""
    return value.isoformat() if isinstance(value, (datetime, date)) else as_text(value)


def scrubbed_copy(extract: Extract | None, drop: Iterable[str], mask: Iterable[str]) -> ScrubbedCopy | None:
    """The copy to keep instead of the original, or None when nothing had to be removed."""
    if extract is None:
        return None
    drop, mask = tuple(drop), tuple(mask)
    addresses = tuple(address_text_columns(extract, drop))
    return ScrubbedCopy(extract, drop, mask, addresses) if drop or mask or addresses else None
