"""Reading provider files (CSV, XLSX) into raw rows numbered as the provider sees them.

CSV: decoded whole (UTF-8, UTF-8/UTF-16 with BOM, else Windows-1252; a source configured with
`encoding = "windows-1252"` has every byte that is not UTF-8 read as Windows-1252, so a Windows export
with a few UTF-8 characters in it reads right) and parsed with csv.reader;
every value is a trimmed string, nothing is interpreted. No row is lost silently: a row with fewer or
more cells than the header, a quote that is never closed (it would swallow the lines after it into one
cell), a line the reader cannot parse and a line with bytes that are not UTF-8 (in a file that is UTF-8
otherwise) are each a row error naming the line, and reading goes on at the next line.
XLSX: the zip is checked first (sizes, compression ratio, member paths; defusedxml refuses a DTD in
any XML part); the first worksheet is then streamed by this module with the stdlib C parser, because
one pass gives cached values, formulas without one, error cells and real row numbers, which openpyxl
and calamine do not report together (openpyxl is also slower). Values: str (trimmed), int, float,
bool, datetime.datetime (date-only cells at midnight, time-only cells on Excel's day zero); empty
cells are "".
"""
from __future__ import annotations

import codecs
import csv
import gc
import io
import math
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from bisect import bisect_right
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, iterparse

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .records import Extract, RawRow, RowError, StructuralError

MAX_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024  # smaller members cannot be a bomb, whatever their ratio
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIX = ".xlsx"

_DELIMITERS = ("\t", ";", ",")  # on a tie the earlier wins: commas are likeliest inside a name
_SNIFF_CHARS = 64 * 1024
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_BUILTIN_DATE_FORMATS = frozenset({*range(14, 23), *range(45, 48)})
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|[_*].|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)
_DATE_TOKENS = re.compile(r"[dmyhs]", re.IGNORECASE)
_ESCAPED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DIGITS = "0123456789"
_LINE_END = re.compile(r"\r\n|\r|\n")
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
MAX_CELL_CHARS = MAX_BYTES  # a cell may be as long as a file may be; text fields have their own limit
MAX_INVALID_BYTES = 1000
AUTO_ENCODING = "auto"
WINDOWS_ENCODING = "windows-1252"
ENCODINGS = (AUTO_ENCODING, WINDOWS_ENCODING)
MAX_NUMBER_CHARS = 40
UNNAMED_COLUMN = "(kolom {position})"
_FORMULA_NL = "open het bestand in Excel, sla het op en stuur het opnieuw"
_FORMULA_EN = "open the file in Excel, save it and send it again"


def read_tabular(path: Path, max_bytes: int = MAX_BYTES, encoding: str = AUTO_ENCODING) -> Extract:
    """Read a provider's .csv/.tsv/.txt or .xlsx file, chosen by its extension; `encoding` (a CSV's) is one
    of ENCODINGS. A plain CSV file (`plain_csv`) is only looked at: validation stages it with DuckDB, and its
    rows are read here only when something asks for them."""
    suffix = path.suffix.lower()
    if suffix == XLSX_SUFFIX:
        return read_xlsx(path, max_bytes)
    if suffix not in CSV_SUFFIXES:
        raise _refuse(path.name,
                      "dit bestandstype wordt niet ondersteund; stuur een .csv-, .tsv-, .txt- of .xlsx-bestand",
                      "this file type is not supported; send a .csv, .tsv, .txt or .xlsx file")
    _check_size(path, max_bytes)
    plain = plain_csv(path)
    if plain is not None:
        header = _checked_header(plain.header, [str(n) for n in range(1, len(plain.header) + 1)], path.name)
        return PlainCsvExtract(path.name, header, plain,
                               lambda: read_csv_bytes(_load(path, max_bytes), path.name, encoding))
    return read_csv_bytes(_load(path, max_bytes), path.name, encoding)


# --- plain CSV: what DuckDB reads exactly as this module does --------------------------------------

_PLAIN_CHUNK = 16 * 1024 * 1024
_NOT_PLAIN = (b'"', b"\x00", b"\x01")


@dataclass(frozen=True)
class PlainCsv:
    """A CSV file in which every line is one record split on `delimiter` (ingest/staging.py reads it with
    DuckDB): UTF-8, no quote character, one kind of line end, its header (`header`, trimmed cells) on the
    first line. (Whether a cell needs trimming is seen once it is staged.)"""

    path: Path
    delimiter: str
    header: list[str]


@dataclass(frozen=True)
class TextScan:
    """What validation found in a staged file's cells for its archived copy (ingest/privacy.py): the columns
    with a street address in text, and the screened columns holding a BSN."""

    address_columns: list[str]
    bsn_columns: list[str]


class PlainCsvExtract(Extract):
    """The extract of a plain CSV file: its header now; its rows and errors read by this module on first use;
    `scanned` once validation has looked through its cells."""

    def __init__(self, file_name: str, header: list[str], plain: PlainCsv, read: Callable[[], Extract]) -> None:
        self.file_name, self.header, self.plain = file_name, header, plain
        self._read: Callable[[], Extract] = read
        self._whole: Extract | None = None
        self.scanned: TextScan | None = None

    def _read_whole(self) -> Extract:
        if self._whole is None:
            self._whole = self._read()
        return self._whole

    @property
    def rows(self) -> list[RawRow]:   # type: ignore[override]
        return self._read_whole().rows

    @property
    def errors(self) -> list[RowError]:   # type: ignore[override]
        return self._read_whole().errors

    def stream_rows(self) -> Iterator[RawRow]:
        """The rows `rows` gives, read one line at a time (memory stays flat whatever the file's size): in a
        plain CSV file every line is one record, so the reader's rules come down to trimming the cells and
        leaving out blank lines and lines of the wrong width (`width_problem_of`). Those read already if read."""
        if self._whole is not None:
            yield from self._whole.rows
            return
        width = len(self.header)
        with self.plain.path.open(encoding="utf-8-sig", newline=None) as handle:
            for number, line in enumerate(handle, start=1):
                cells = [cell.strip() for cell in line.split(self.plain.delimiter)]
                if number == 1 or not any(cells):
                    continue   # the header; a blank line
                if len(cells) == width or width_problem_of(number, cells, width) is None:
                    yield RawRow(number, dict(zip(self.header, cells)))


def plain_csv(path: Path) -> PlainCsv | None:
    """The file as a PlainCsv, or None when it is not one (then only this module reads it)."""
    with path.open("rb") as handle:
        start = handle.read(_SNIFF_CHARS * 4 + 16)
        text = _decode_start(start)
        first = text.split("\n", 1)[0]
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or "\r" in first.rstrip("\r"):
            return None
        delimiter = _detect_delimiter(text)
        header = [cell.strip() for cell in first.rstrip("\r").split(delimiter)]
        if not any(header):
            return None
        handle.seek(0)
        return PlainCsv(path, delimiter, header) if _plain_bytes(handle) else None


def _plain_bytes(handle: io.BufferedReader) -> bool:
    """Whether the bytes from `handle` meet PlainCsv's terms (read in chunks: memory stays flat)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail, line_feeds, returns, pairs = b"", 0, 0, 0
    bare_line_feed = False   # before the first carriage return (line feeds are counted only after it)
    while chunk := handle.read(_PLAIN_CHUNK):
        if any(mark in chunk for mark in _NOT_PLAIN):
            return False
        if not chunk.isascii():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
        if returns or b"\r" in chunk:
            line_feeds += chunk.count(b"\n")
            returns += chunk.count(b"\r")
            pairs += chunk.count(b"\r\n") + (tail == b"\r" and chunk.startswith(b"\n"))
        else:
            bare_line_feed = bare_line_feed or b"\n" in chunk
        tail = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return returns == 0 or (not bare_line_feed and returns == pairs == line_feeds)


def width_problem_of(row: int, cells: list[str], width: int) -> RowError | None:
    """The reader's error for a line of trimmed `cells` under a header of `width` columns, if it has one."""
    record = _Record(row, row, cells)
    problem, value = _width_problem(record, width)
    return _line_error(record, problem, value) if problem is not None else None


def sniff_header(path: Path) -> list[str] | None:
    """Best effort, for a CSV file that could not be read whole: the cells of its first record (from its
    first 64 KiB); None for other files and when even that cannot be read."""
    if path.suffix.lower() not in CSV_SUFFIXES:
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(_SNIFF_CHARS)
    except OSError:
        return None
    text = _decode_start(data)
    first = next(_csv_records(_physical_lines(text), _detect_delimiter(text)), None)
    return [cell for cell in first.cells if cell] if first and first.cells else None


def _decode_start(data: bytes) -> str:
    """The text of a file's first bytes (which may end inside a character); unreadable characters replaced."""
    for end in range(len(data), max(len(data) - 4, 0), -1):
        try:
            return data[:end].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
    try:
        return _decode(data, "")
    except StructuralError:
        return data.decode("utf-8-sig", "replace")


def read_csv_bytes(data: bytes, file_name: str, encoding: str = AUTO_ENCODING) -> Extract:
    """Parse CSV bytes: trimmed string values, each row numbered by the line where its record starts."""
    text, invalid = _decode_csv(data, file_name, encoding)
    with _gc_paused():
        return _parse_csv(text, file_name, invalid)


def read_xlsx(path: Path, max_bytes: int = MAX_BYTES) -> Extract:
    """Read the first worksheet of an .xlsx file: cached values, never formulas."""
    data = _load(path, max_bytes)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _refuse(path.name,
                      "het bestand is geen geldig .xlsx-bestand (misschien een oud .xls-bestand "
                      "of beveiligd met een wachtwoord)",
                      "the file is not a valid .xlsx file (perhaps an old .xls file or password protected)") from None
    with archive, _gc_paused():
        try:
            return _read_archive(archive, path.name)
        except (KeyError, IndexError, ValueError, ParseError, EOFError, NotImplementedError,
                zlib.error, zipfile.BadZipFile) as exc:
            raise _refuse(path.name, f"het bestand is beschadigd of onleesbaar ({exc})",
                          f"the file is damaged or unreadable ({exc})") from None


def _refuse(file_name: str, nl: str, en: str) -> StructuralError:
    return StructuralError(f"{file_name}: {nl}", f"{file_name}: {en}")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: it would rescan all rows built so far, again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; refused when it is larger than max_bytes (checked before reading)."""
    _check_size(path, max_bytes)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _refuse(path.name, f"het bestand kan niet worden gelezen ({exc.strerror})",
                      f"the file cannot be read ({exc.strerror})") from None


def _check_size(path: Path, max_bytes: int) -> None:
    """Refused when the file cannot be read or is larger than max_bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _refuse(path.name, f"het bestand kan niet worden gelezen ({exc.strerror})",
                      f"the file cannot be read ({exc.strerror})") from None
    if size > max_bytes:
        raise _refuse(path.name, f"het bestand is {size} bytes, meer dan de grens van {max_bytes} bytes",
                      f"the file is {size} bytes, more than the limit of {max_bytes} bytes")


def _checked_header(cells: list[str], positions: list[str], file_name: str) -> list[str]:
    """The trimmed column names, an unnamed one called after its position (`(kolom 1)`, `(kolom C)`: it may be
    mapped by that name, and an unmapped one is ignored); refused when a name appears twice."""
    header = [cell.strip() or UNNAMED_COLUMN.format(position=position) for cell, position in zip(cells, positions)]
    seen: dict[str, str] = {}
    for name, position in zip(header, positions):
        if name in seen:
            raise _refuse(file_name,
                          f"de kolomnaam '{name}' staat twee keer in de kopregel (kolom {seen[name]} en {position})",
                          f"the column name '{name}' appears twice in the header (columns {seen[name]} and {position})")
        seen[name] = position
    return header


# --- CSV ---------------------------------------------------------------------------------------

csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))


@dataclass(frozen=True)
class _Record:
    """One CSV record: the lines it spans, its trimmed cells, or why it was not read (nl, en)."""

    start: int
    end: int
    cells: list[str] | None
    problem: tuple[str, str] | None = None


@dataclass(frozen=True)
class _InvalidBytes:
    """Where a file that is UTF-8 otherwise holds bytes that are not: (line, 1-based byte offset, byte)."""

    places: list[tuple[int, int, int]]

    def first_in(self, start: int, end: int) -> tuple[int, int, int] | None:
        return next((place for place in self.places if start <= place[0] <= end), None)


def _parse_csv(text: str, file_name: str, invalid: _InvalidBytes | None = None) -> Extract:
    records = _csv_records(_physical_lines(text), _detect_delimiter(text))
    first = next(records, None)
    if first is None:
        raise _refuse(file_name, "het bestand is leeg", "the file is empty")
    if first.cells is None:
        raise _refuse(file_name, *(f"kopregel: {first.problem[0]}", f"header: {first.problem[1]}"))
    if invalid and invalid.first_in(first.start, first.end):
        nl, en = _invalid_bytes_problem(invalid.first_in(first.start, first.end))
        raise _refuse(file_name, f"kopregel: {nl}", f"header: {en}")
    header = _checked_header(first.cells, [str(n) for n in range(1, len(first.cells) + 1)], file_name)
    extract = Extract(file_name, header)
    width = len(header)
    for record in records:
        problem, value = record.problem, None
        if problem is None:
            problem, value = _width_problem(record, width)
        if problem is None and invalid and _ESCAPED_BYTE.search("".join(record.cells)):
            place = invalid.first_in(record.start, record.end)
            problem, value = _invalid_bytes_problem(place), _invalid_byte_value(place)
        if problem is not None:
            extract.errors.append(_line_error(record, problem, value))
        else:
            extract.rows.append(RawRow(record.start, dict(zip(header, record.cells))))
    return extract


def _physical_lines(text: str) -> list[str]:
    """The text cut after every line end (CR LF, CR or LF: the ends the csv module knows)."""
    lines, start = [], 0
    for end in _LINE_END.finditer(text):
        lines.append(text[start:end.end()])
        start = end.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _csv_records(lines: list[str], delimiter: str) -> Iterator[_Record]:
    """Every record that is not blank, numbered by its first line. A record that cannot be read, or whose
    quote never closes, is yielded with its problem, and reading starts again on the line after it."""
    width: int | None = None
    index = 0
    while index < len(lines):
        reader = csv.reader(islice(lines, index, None), delimiter=delimiter)
        consumed = 0
        try:
            for cells in reader:
                start, consumed = index + consumed + 1, reader.line_num
                end = index + consumed
                values = list(map(str.strip, cells))
                if not any(values):
                    continue
                at_end = end == len(lines)
                opening = _unclosed_quote(lines, start, end, cells, width, delimiter) if end > start or at_end \
                    else None
                if opening is not None:
                    yield _Record(start, opening, None, _unclosed_quote_problem(opening))
                    index = opening
                    break
                width = len(values) if width is None else width
                yield _Record(start, end, values)
            else:
                return
        except csv.Error as exc:
            start = index + consumed + 1
            yield _Record(start, start, None, _reader_problem(exc, start))
            index = start


def _unclosed_quote(lines: list[str], start: int, end: int, cells: list[str], width: int | None,
                    delimiter: str) -> int | None:
    """The line where a quote opens that swallowed the lines after it, or None for a real multi-line cell.
    Swallowed: a later line of the record reads as a whole record on its own, or the record runs to the
    end of the file still open (an odd number of quotes, or a last cell that took in the last line end)."""
    raw = lines[start - 1:end]
    swallowed = width is not None and width > 1 and any(
        len(next(csv.reader([line], delimiter=delimiter), [])) >= width for line in raw[1:])
    at_end_open = end == len(lines) and ("".join(raw).count('"') % 2 == 1
                                         or bool(cells and _LINE_END.search(cells[-1][-2:])))
    if not (swallowed or at_end_open):
        return None
    first_multi_line = next((i for i, cell in enumerate(cells) if _LINE_END.search(cell)), 0)
    return start + sum(len(_LINE_END.findall(cell)) for cell in cells[:first_multi_line])


def _unclosed_quote_problem(line: int) -> tuple[str, str]:
    return (f"het aanhalingsteken (\") dat op regel {line} opent wordt niet gesloten, zodat de regels erna in "
            "één cel zouden vallen; deze regel is niet geladen, de regels erna wel. Sluit het aanhalingsteken "
            "of verwijder het",
            f"the quote (\") that opens on line {line} is never closed, so the lines after it would fall into "
            "one cell; this line was not loaded, the lines after it were. Close the quote or remove it")


def _reader_problem(exc: csv.Error, line: int) -> tuple[str, str]:
    """The real cause of a csv.Error, in words."""
    if "field larger than field limit" in str(exc):
        return (f"een cel op regel {line} is langer dan {MAX_CELL_CHARS} tekens",
                f"a cell on line {line} is longer than {MAX_CELL_CHARS} characters")
    return (f"regel {line} is niet te lezen als CSV ({exc})", f"line {line} cannot be read as CSV ({exc})")


def _width_problem(record: _Record, width: int) -> tuple[tuple[str, str] | None, str | None]:
    """Fewer cells than the header (a shifted row must not load), or more that are not empty; with the
    extra cells as the value."""
    count = len(record.cells)
    if count < width:
        return ((f"deze regel heeft {count} cellen en de kopregel {width} kolommen; een verschoven regel wordt "
                 "niet geladen (controleer scheidingstekens en aanhalingstekens)",
                 f"this line has {count} cells and the header {width} columns; a shifted line is not loaded "
                 "(check delimiters and quotes)"), None)
    extra = [cell for cell in record.cells[width:] if cell]
    if extra:
        text = ", ".join(extra)
        return ((f"deze regel heeft meer cellen dan de {width} kolommen van de kopregel (extra: '{text}'); "
                 "controleer scheidingstekens en aanhalingstekens",
                 f"this line has more cells than the {width} columns of the header (extra: '{text}'); "
                 "check delimiters and quotes"), text)
    return None, None


def _line_error(record: _Record, problem: tuple[str, str], value: str | None = None) -> RowError:
    """A line's problem; the line is the error's row (not repeated in its message, so that identical problems
    read as one message in the summaries)."""
    return RowError(record.start, None, value, *problem)


def _invalid_bytes_problem(place: tuple[int, int, int] | None) -> tuple[str, str]:
    """The message of a line holding a byte that is not UTF-8; the line is the row, so only the byte is named
    (identical bytes read as one message in the summaries)."""
    byte = f"byte 0x{place[2]:02X}" if place else "een byte"
    byte_en = f"byte 0x{place[2]:02X}" if place else "a byte"
    return (f"{byte} op deze regel is geen geldige UTF-8; sla het bestand op als 'CSV UTF-8' en stuur het "
            f"opnieuw (of, stuurt deze bron altijd Windows-1252: zet encoding = \"{WINDOWS_ENCODING}\" bij de bron)",
            f"{byte_en} on this line is not valid UTF-8; save the file as 'CSV UTF-8' and send it again (or, when "
            f"this source always sends Windows-1252: set encoding = \"{WINDOWS_ENCODING}\" for the source)")


def _invalid_byte_value(place: tuple[int, int, int] | None) -> str | None:
    """The byte and where it is in the file (for a hex editor)."""
    return f"0x{place[2]:02X} @ byte {place[1]}" if place else None


def _decode_csv(data: bytes, file_name: str, encoding: str = AUTO_ENCODING) -> tuple[str, _InvalidBytes | None]:
    """The text, and where it holds bytes that are not UTF-8 in a file that is UTF-8 otherwise (they
    become lone surrogates in the text, and their lines row errors). A file without a single UTF-8
    character beyond ASCII is read as Windows-1252; with `encoding` windows-1252, so is every byte that is
    not UTF-8 (and only a byte Windows-1252 leaves undefined is an error)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, file_name), None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    if encoding == WINDOWS_ENCODING:
        text = data.decode("utf-8-sig", _WINDOWS_FALLBACK)
        return text, (_InvalidBytes(_invalid_places(data, windows=True)) if _ESCAPED_BYTE.search(text) else None)
    text = data.decode("utf-8-sig", "surrogateescape")
    if any(ord(ch) > 0x7F and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in text):
        return text, _InvalidBytes(_invalid_places(data))
    return _decode(data, file_name), None


def _windows_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler: the bytes that are not UTF-8 as Windows-1252; its five undefined bytes stay
    escaped (lone surrogates, as surrogateescape leaves them)."""
    return "".join(_windows_char(byte) for byte in error.object[error.start:error.end]), error.end


def _windows_char(byte: int) -> str:
    return chr(0xDC00 + byte) if byte in _WINDOWS_UNDEFINED else bytes([byte]).decode("cp1252")


_WINDOWS_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_WINDOWS_FALLBACK = "capacity-windows-1252-fallback"
codecs.register_error(_WINDOWS_FALLBACK, _windows_fallback)


def _invalid_places(data: bytes, windows: bool = False) -> list[tuple[int, int, int]]:
    """(line, 1-based byte offset, byte) of the first MAX_INVALID_BYTES bytes that are not UTF-8 (`windows`:
    only those Windows-1252 does not define either)."""
    line_ends = [end.end() for end in _LINE_END_BYTES.finditer(data)]
    places, position = [], 0
    while len(places) < MAX_INVALID_BYTES:
        try:
            data[position:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            start = position + exc.start
            offsets = [o for o in range(start, position + exc.end) if data[o] in _WINDOWS_UNDEFINED] if windows else [start]
            places += [(bisect_right(line_ends, offset) + 1, offset + 1, data[offset]) for offset in offsets]
            position += exc.end
    return places


def _decode(data: bytes, file_name: str) -> str:
    """The text, BOM removed: UTF-16 when it has that BOM, else UTF-8, else Windows-1252."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse(file_name,
                  "de tekens in het bestand zijn niet te lezen (geen UTF-8 of Windows-1252); "
                  "sla het op als 'CSV UTF-8' en stuur het opnieuw",
                  "the characters in the file cannot be read (not UTF-8 or Windows-1252); "
                  "save it as 'CSV UTF-8' and send it again")


def _detect_delimiter(text: str) -> str:
    """The delimiter that splits the first non-blank record (the header) into the most cells."""
    sample = text[:_SNIFF_CHARS]

    def width(delimiter: str) -> int:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        return next((len(cells) for cells in reader if any(cell.strip() for cell in cells)), 0)

    return max(_DELIMITERS, key=width)


# --- XLSX: the package -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Book:
    ns: str  # "{main namespace}" of the workbook, shared by its sheets and strings
    sheet: str  # zip member of the first worksheet
    strings: list[str]
    date_styles: frozenset[str]  # cell style indexes (the s attribute) with a date format
    date1904: bool


def _read_archive(archive: zipfile.ZipFile, file_name: str) -> Extract:
    _check_members(archive, file_name)
    _refuse_dtds(archive, file_name)
    book = _open_workbook(archive, file_name)
    return _SheetReader(book, file_name).read(_elements(archive, book.sheet, file_name))


def _check_members(archive: zipfile.ZipFile, file_name: str) -> None:
    """Refuse zip bombs and members with absolute or parent paths before anything is unpacked."""
    total = 0
    for info in archive.infolist():
        name = info.filename
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in re.split(r"[/\\]", name):
            raise _refuse(file_name, f"het bestand bevat een onderdeel met een onveilige naam ('{name}') "
                                     "en wordt geweigerd",
                          f"the file contains a part with an unsafe name ('{name}') and is refused")
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            ratio = info.file_size // max(info.compress_size, 1)
            raise _refuse(file_name, f"het onderdeel '{name}' is verdacht sterk ingepakt ({ratio} keer, "
                                     f"grens {MAX_RATIO}); het bestand wordt geweigerd",
                          f"the part '{name}' is suspiciously highly compressed ({ratio} times, "
                          f"limit {MAX_RATIO}); the file is refused")
        total += info.file_size
    if total > MAX_UNPACKED_BYTES:
        raise _refuse(file_name, f"uitgepakt is het bestand {total} bytes, meer dan de grens van "
                                 f"{MAX_UNPACKED_BYTES} bytes; het wordt geweigerd",
                      f"unpacked the file is {total} bytes, more than the limit of "
                      f"{MAX_UNPACKED_BYTES} bytes; it is refused")


def _refuse_dtds(archive: zipfile.ZipFile, file_name: str) -> None:
    """Refuse the file when any XML part declares a DOCTYPE or entities (XXE, billion laughs)."""
    for member in archive.namelist():
        if member.lower().endswith(_XML_SUFFIXES):
            _refuse_dtd(archive, member, file_name)


def _refuse_dtd(archive: zipfile.ZipFile, member: str, file_name: str) -> None:
    """A DOCTYPE can only precede the root element, so parsing up to the first element suffices."""
    with archive.open(member) as stream:
        try:
            next(SafeET.iterparse(stream, events=("start",), forbid_dtd=True), None)
        except DefusedXmlException:
            raise _refuse(file_name,
                          f"het bestand bevat XML-entiteitdeclaraties (DOCTYPE/ENTITY in '{member}') "
                          "en wordt om veiligheidsredenen geweigerd",
                          f"the file contains XML entity declarations (DOCTYPE/ENTITY in '{member}') "
                          "and is refused for security reasons") from None


def _elements(archive: zipfile.ZipFile, member: str, file_name: str) -> Iterator[Element]:
    """Every element of a large part as it ends, parsed by the stdlib's faster C parser; safe since
    the part was checked for a DTD first and the archive is in memory, so it cannot change."""
    _refuse_dtd(archive, member, file_name)
    with archive.open(member) as stream:
        for _, element in iterparse(stream):
            yield element


def _parse(archive: zipfile.ZipFile, member: str) -> Element:
    with archive.open(member) as stream:
        return SafeET.parse(stream, forbid_dtd=True).getroot()


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, zip member) from the .rels of `part` ("" for the package itself)."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    result = {}
    for rel in _parse(archive, rels):
        target = rel.get("Target", "")
        member = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        result[rel.get("Id", "")] = (rel.get("Type", ""), member)
    return result


def _first_of_type(rels: dict[str, tuple[str, str]], kind: str) -> str | None:
    return next((member for rel_type, member in rels.values() if rel_type.endswith(kind)), None)


def _open_workbook(archive: zipfile.ZipFile, file_name: str) -> _Book:
    no_sheet = _refuse(file_name, "het bestand bevat geen werkblad", "the file contains no worksheet")
    workbook = _first_of_type(_relationships(archive, ""), "/officeDocument")
    if workbook is None:
        raise no_sheet
    root = _parse(archive, workbook)
    ns = root.tag[: root.tag.find("}") + 1]
    rels = _relationships(archive, workbook)
    sheet = _first_worksheet(root, ns, rels)
    if sheet is None:
        raise no_sheet
    properties = root.find(f"{ns}workbookPr")
    strings = _first_of_type(rels, "/sharedStrings")
    styles = _first_of_type(rels, "/styles")
    return _Book(
        ns=ns,
        sheet=sheet,
        strings=_shared_strings(archive, strings, ns, file_name) if strings else [],
        date_styles=_date_styles(archive, styles, ns) if styles else frozenset(),
        date1904=properties is not None and properties.get("date1904", "").lower() in ("1", "true"),
    )


def _first_worksheet(root: Element, ns: str, rels: dict[str, tuple[str, str]]) -> str | None:
    """The member of the first sheet in tab order that is a worksheet (not a chart sheet)."""
    for sheet in root.iter(f"{ns}sheet"):
        rel_id = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), "")
        rel_type, member = rels.get(rel_id, ("", ""))
        if rel_type.endswith("/worksheet"):
            return member
    return None


def _shared_strings(archive: zipfile.ZipFile, member: str, ns: str, file_name: str) -> list[str]:
    item, text, run = f"{ns}si", f"{ns}t", f"{ns}r"
    strings = []
    for element in _elements(archive, member, file_name):
        if element.tag == item:
            strings.append(_clean(_text(element, text, run)))
            element.clear()
    return strings


def _text(element: Element | None, text: str, run: str) -> str:
    """A string item's text: its <t>, or its rich-text runs' <t>s (phonetic hints left out)."""
    if element is None:
        return ""
    parts = []
    for child in element:
        if child.tag == text:
            parts.append(child.text or "")
        elif child.tag == run:
            parts.append(child.findtext(text) or "")
    return "".join(parts)


def _clean(text: str) -> str:
    """Trimmed, with OOXML escapes such as _x000D_ turned back into characters."""
    if "_x" in text:
        text = _ESCAPED_CHAR.sub(lambda match: chr(int(match.group(1), 16)), text)
    return text.strip()


def _date_styles(archive: zipfile.ZipFile, member: str, ns: str) -> frozenset[str]:
    root = _parse(archive, member)
    custom = {fmt.get("numFmtId", ""): fmt.get("formatCode", "") for fmt in root.iter(f"{ns}numFmt")}
    styles = root.find(f"{ns}cellXfs")
    if styles is None:
        return frozenset()
    return frozenset(str(index) for index, style in enumerate(styles.iterfind(f"{ns}xf"))
                     if _is_date_format(style.get("numFmtId", "0"), custom))


def _is_date_format(format_id: str, custom: dict[str, str]) -> bool:
    """Built-in date formats 14-22 and 45-47, or a custom code with d/m/y/h/s outside literals."""
    if format_id in custom:
        return _DATE_TOKENS.search(_FORMAT_NOISE.sub("", custom[format_id])) is not None
    return format_id.isdigit() and int(format_id) in _BUILTIN_DATE_FORMATS


# --- XLSX: the worksheet -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """A cell without a usable value: a formula without a cached result, or an Excel error."""

    formula: bool
    text: str


class _SheetReader:
    """Streams a worksheet into an Extract; the first non-empty row is the header."""

    def __init__(self, book: _Book, file_name: str) -> None:
        ns = book.ns
        self.book = book
        self.file_name = file_name
        self.row_tag, self.cell_tag, self.value_tag = f"{ns}row", f"{ns}c", f"{ns}v"
        self.formula_tag, self.inline_tag, self.text_tag, self.run_tag = f"{ns}f", f"{ns}is", f"{ns}t", f"{ns}r"
        self.shared_formulas: dict[str, str] = {}
        self.columns: dict[int, str] = {}  # column index -> header name
        self.extract: Extract | None = None

    def read(self, elements: Iterator[Element]) -> Extract:
        number = 0
        for element in elements:
            if element.tag == self.row_tag:
                number = int(element.get("r") or number + 1)
                self._row(number, self._cells(element))
                element.clear()
        if self.extract is None:
            raise _refuse(self.file_name, "het bestand is leeg", "the file is empty")
        return self.extract

    def _cells(self, row: Element) -> dict[int, object]:
        """Column index -> value (or _Problem) for every cell written in the row."""
        cells: dict[int, object] = {}
        column = -1
        for cell in row:
            if cell.tag == self.cell_tag:
                ref = cell.get("r")
                column = _column_index(ref) if ref else column + 1
                cells[column] = self._value(cell)
        return cells

    def _value(self, cell: Element) -> object:
        kind = cell.get("t", "n")
        raw = cell.findtext(self.value_tag)
        formula = cell.find(self.formula_tag)
        if formula is not None:
            text = self._formula_text(formula)
            if raw is None or (raw == "" and kind != "str"):
                return _Problem(formula=True, text=f"={text}")
        if kind == "inlineStr":
            return _clean(_text(cell.find(self.inline_tag), self.text_tag, self.run_tag))
        if not raw:
            return ""
        if kind == "s":
            return self.book.strings[int(raw)]
        if kind == "str":
            return _clean(raw)
        if kind == "b":
            return raw == "1"
        if kind == "e":
            return _Problem(formula=False, text=raw)
        if kind == "d":
            return _iso_datetime(raw)
        number = _number(raw)
        if cell.get("s") in self.book.date_styles and not isinstance(number, str):
            return _excel_datetime(number, self.book.date1904)
        return number

    def _formula_text(self, formula: Element) -> str:
        """The formula; a shared formula's followers carry only the index of its first cell."""
        index = formula.get("si")
        if formula.text:
            if index is not None:
                self.shared_formulas[index] = formula.text
            return formula.text
        return self.shared_formulas.get(index or "", "")

    def _row(self, number: int, cells: dict[int, object]) -> None:
        if not any(value != "" for value in cells.values()):
            return
        if self.extract is None:
            self._start(number, cells)
            return
        errors = self._row_errors(number, cells)
        if errors:
            self.extract.errors.extend(errors)
            return
        values = {name: cells.get(column, "") for column, name in self.columns.items()}
        self.extract.rows.append(RawRow(number, values))

    def _start(self, number: int, cells: dict[int, object]) -> None:
        """The header: every column from the first to the last filled cell of the first non-empty row."""
        for column, value in cells.items():
            if isinstance(value, _Problem):
                error = self._problem_error(number, column, value)
                raise StructuralError(error.nl, error.en)
        filled = sorted(column for column, value in cells.items() if value != "")
        span = range(filled[0], filled[-1] + 1)
        names = [str(cells.get(column, "")) for column in span]
        header = _checked_header(names, [_column_letters(column) for column in span], self.file_name)
        self.columns = dict(zip(span, header))
        self.extract = Extract(self.file_name, header)

    def _row_errors(self, number: int, cells: dict[int, object]) -> list[RowError]:
        errors = [self._problem_error(number, column, value)
                  for column, value in cells.items() if isinstance(value, _Problem)]
        extra = [(column, value) for column, value in cells.items()
                 if column not in self.columns and value != "" and not isinstance(value, _Problem)]
        if extra:
            errors.append(self._extra_error(number, extra))
        return errors

    def _problem_error(self, number: int, column: int, problem: _Problem) -> RowError:
        name = self.columns.get(column)
        ref = f"{_column_letters(column)}{number}"
        where_nl = f"{self.file_name}, rij {number}" + (f", kolom '{name}'" if name else "") + f" (cel {ref})"
        where_en = f"{self.file_name}, row {number}" + (f", column '{name}'" if name else "") + f" (cell {ref})"
        if problem.formula:
            return RowError(number, name, problem.text,
                            f"{where_nl}: formule zonder berekende waarde ({problem.text}); {_FORMULA_NL}",
                            f"{where_en}: formula without a calculated value ({problem.text}); {_FORMULA_EN}")
        return RowError(number, name, problem.text,
                        f"{where_nl}: de cel bevat de Excel-fout {problem.text}; herstel de cel en stuur "
                        "het bestand opnieuw",
                        f"{where_en}: the cell contains the Excel error {problem.text}; correct the cell and "
                        "send the file again")

    def _extra_error(self, number: int, extra: list[tuple[int, object]]) -> RowError:
        text = ", ".join(str(value) for _, value in extra)
        refs = ", ".join(f"{_column_letters(column)}{number}" for column, _ in extra)
        return RowError(number, None, text,
                        f"{self.file_name}, rij {number}: waarden buiten de kolommen van de kopregel "
                        f"(cel {refs}: '{text}')",
                        f"{self.file_name}, row {number}: values outside the columns of the header "
                        f"(cell {refs}: '{text}')")


def _column_index(ref: str) -> int:
    """0-based column of a cell reference such as 'AB12'."""
    return _letters_index(ref.rstrip(_DIGITS))


@lru_cache(maxsize=4096)
def _letters_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1


def _column_letters(index: int) -> str:
    """Excel's letters for a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _number(raw: str) -> int | float | str:
    """The cell's number; its text as written when that is no finite number of reasonable length (so that
    validation refuses that one value in the provider's words, and the file is read on)."""
    if len(raw) > MAX_NUMBER_CHARS:
        return raw
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(number):
        return raw
    return int(number) if number.is_integer() else number


def _iso_datetime(raw: str) -> datetime | str:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return raw


def _excel_datetime(serial: int | float, date1904: bool) -> datetime | int | float:
    """An Excel date serial as a datetime (to the millisecond); the number itself when out of range."""
    if date1904:
        base = datetime(1904, 1, 1)
    else:  # Excel counts a 29 February 1900 that never was
        base = datetime(1899, 12, 31) if serial < 60 else datetime(1899, 12, 30)
    try:
        return base + timedelta(milliseconds=round(serial * 86_400_000))
    except OverflowError:
        return serial
