"""Reading provider CSV and XLSX files: one test per quirk, on real files."""
from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from ingest.records import RawRow, RowError, StructuralError
from ingest.tabular import read_csv_bytes, read_tabular, read_xlsx

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_csv(tmp_path: Path, data: bytes, name: str = "aanbieder.csv"):
    return read_tabular(write(tmp_path, name, data))


def refusal(call) -> StructuralError:
    with pytest.raises(StructuralError) as caught:
        call()
    return caught.value


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_utf8(tmp_path):
    extract = read_csv(tmp_path, "naam,plaatsen\nZoë,3\nAïcha,12\n".encode())
    assert extract.file_name == "aanbieder.csv"
    assert extract.header == ["naam", "plaatsen"]
    assert extract.rows == [RawRow(2, {"naam": "Zoë", "plaatsen": "3"}),
                            RawRow(3, {"naam": "Aïcha", "plaatsen": "12"})]
    assert extract.errors == []


def test_csv_utf8_bom_is_stripped(tmp_path):
    extract = read_csv(tmp_path, b"\xef\xbb\xbfnaam;plaatsen\r\nZo\xc3\xab;3\r\n")
    assert extract.header == ["naam", "plaatsen"]
    assert extract.rows == [RawRow(2, {"naam": "Zoë", "plaatsen": "3"})]


def test_csv_windows_1252(tmp_path):
    extract = read_csv(tmp_path, "naam;bedrag\nZoë;€ 12,50\n".encode("cp1252"))
    assert extract.rows == [RawRow(2, {"naam": "Zoë", "bedrag": "€ 12,50"})]


def test_csv_utf16_from_excel_unicode_text(tmp_path):
    extract = read_csv(tmp_path, "naam\tplaatsen\r\nZoë\t3\r\n".encode("utf-16"), "export.txt")
    assert extract.rows == [RawRow(2, {"naam": "Zoë", "plaatsen": "3"})]


def test_csv_undecodable_bytes_are_refused(tmp_path):
    error = refusal(lambda: read_csv(tmp_path, b"naam\n\x81\x8d\n"))
    assert error.en.startswith("aanbieder.csv: the characters in the file cannot be read")


def test_csv_semicolon_keeps_decimal_comma_as_text(tmp_path):
    extract = read_csv(tmp_path, b"locatie;bezetting;percentage\nAmsterdam;1.234,5;87,5\n")
    assert extract.header == ["locatie", "bezetting", "percentage"]
    assert extract.rows == [RawRow(2, {"locatie": "Amsterdam", "bezetting": "1.234,5", "percentage": "87,5"})]


def test_csv_tab_delimiter(tmp_path):
    extract = read_csv(tmp_path, b"naam, voornaam\tplaatsen\nJansen, Piet\t4\n", "lijst.tsv")
    assert extract.header == ["naam, voornaam", "plaatsen"]
    assert extract.rows == [RawRow(2, {"naam, voornaam": "Jansen, Piet", "plaatsen": "4"})]


def test_csv_quoted_header_detects_delimiter(tmp_path):
    extract = read_csv(tmp_path, b'"naam";"opmerking, intern"\n"Zon";"vol; wachtlijst"\n')
    assert extract.header == ["naam", "opmerking, intern"]
    assert extract.rows == [RawRow(2, {"naam": "Zon", "opmerking, intern": "vol; wachtlijst"})]


def test_csv_quoted_newlines_keep_line_numbers(tmp_path):
    data = (b'naam,opmerking\r\n'
            b'A,"regel een\r\nregel twee\r\nregel drie"\r\n'
            b'B,"zegt ""vol"", echt"\r\n'
            b'\r\n'
            b'C,"x\ny"\r\n'
            b'D,4\r\n')
    extract = read_csv(tmp_path, data)
    assert extract.rows == [
        RawRow(2, {"naam": "A", "opmerking": "regel een\r\nregel twee\r\nregel drie"}),
        RawRow(5, {"naam": "B", "opmerking": 'zegt "vol", echt'}),
        RawRow(7, {"naam": "C", "opmerking": "x\ny"}),
        RawRow(9, {"naam": "D", "opmerking": "4"}),
    ]


def test_csv_header_only(tmp_path):
    extract = read_csv(tmp_path, b"naam;plaatsen\n")
    assert (extract.header, extract.rows, extract.errors) == (["naam", "plaatsen"], [], [])


@pytest.mark.parametrize("data", [b"", b"  \r\n\n\t \n"])
def test_csv_empty_file(tmp_path, data):
    error = refusal(lambda: read_csv(tmp_path, data))
    assert (error.nl, error.en) == ("aanbieder.csv: het bestand is leeg", "aanbieder.csv: the file is empty")


def test_csv_extra_cells_are_a_row_error(tmp_path):
    extract = read_csv(tmp_path, b"naam,plaatsen\nA,1\nB,2,3,\nC,4,,\n")
    assert extract.rows == [RawRow(2, {"naam": "A", "plaatsen": "1"}), RawRow(4, {"naam": "C", "plaatsen": "4"})]
    assert extract.errors == [RowError(
        3, None, "3",
        "deze regel heeft meer cellen dan de 2 kolommen van de kopregel (extra: '3'); "
        "controleer scheidingstekens en aanhalingstekens",
        "this line has more cells than the 2 columns of the header (extra: '3'); "
        "check delimiters and quotes")]


def test_csv_values_are_trimmed_and_a_row_with_fewer_cells_is_a_row_error(tmp_path):
    """A row with fewer cells than the header may be shifted (a delimiter lost): it is not loaded."""
    extract = read_csv(tmp_path, b" naam ; plaatsen ; wachtlijst \n  Zon  ; 3 ; \nMaan;4\n")
    assert extract.header == ["naam", "plaatsen", "wachtlijst"]
    assert extract.rows == [RawRow(2, {"naam": "Zon", "plaatsen": "3", "wachtlijst": ""})]
    assert [(e.row, e.en) for e in extract.errors] == [
        (3, "this line has 2 cells and the header 3 columns; a shifted line is not loaded "
            "(check delimiters and quotes)")]


def test_csv_blank_lines_are_skipped(tmp_path):
    extract = read_csv(tmp_path, b"\nnaam;plaatsen\n\nA;1\n   \n;;\nB;2\n\n")
    assert extract.header == ["naam", "plaatsen"]
    assert extract.rows == [RawRow(4, {"naam": "A", "plaatsen": "1"}), RawRow(7, {"naam": "B", "plaatsen": "2"})]


def test_csv_odd_value_far_below_stays_text_at_its_line(tmp_path):
    lines = ["peildatum;plaatsen"] + [f"2024-01-01;{n}" for n in range(2, 6001)]
    lines[4999] = "1 januari;veel"
    extract = read_csv(tmp_path, ("\n".join(lines) + "\n").encode())
    assert len(extract.rows) == 5999 and extract.errors == []
    assert extract.rows[0] == RawRow(2, {"peildatum": "2024-01-01", "plaatsen": "2"})
    assert extract.rows[4998] == RawRow(5000, {"peildatum": "1 januari", "plaatsen": "veel"})
    assert extract.rows[-1] == RawRow(6000, {"peildatum": "2024-01-01", "plaatsen": "6000"})


def test_csv_duplicate_header_is_refused(tmp_path):
    error = refusal(lambda: read_csv(tmp_path, b"naam;plaatsen; naam\nA;1;B\n"))
    assert error.nl == "aanbieder.csv: de kolomnaam 'naam' staat twee keer in de kopregel (kolom 1 en 3)"
    assert error.en == "aanbieder.csv: the column name 'naam' appears twice in the header (columns 1 and 3)"


def test_csv_an_unnamed_header_cell_is_named_after_its_position(tmp_path):
    """An unnamed column (the NZa export starts with one) is not a reason to refuse the file."""
    extract = read_csv(tmp_path, b"naam;;plaatsen\nA;x;1\n")
    assert extract.header == ["naam", "(kolom 2)", "plaatsen"]
    assert extract.rows == [RawRow(2, {"naam": "A", "(kolom 2)": "x", "plaatsen": "1"})]


def test_csv_unclosed_quote_rejects_its_line_and_the_rest_loads(tmp_path):
    data = b'naam,plaatsen\nA,1\nB,"open\n' + b"C,3\n" * 40_000
    extract = read_csv(tmp_path, data)
    assert len(extract.rows) == 40_001 and extract.rows[1] == RawRow(4, {"naam": "C", "plaatsen": "3"})
    assert [(e.row, e.en[:50]) for e in extract.errors] == [
        (3, 'the quote (") that opens on line 3 is never closed')]


def test_read_csv_bytes_names_the_file():
    extract = read_csv_bytes(b"naam\nA\n", "upload.csv")
    assert (extract.file_name, extract.rows) == ("upload.csv", [RawRow(2, {"naam": "A"})])


def test_other_extensions_are_refused(tmp_path):
    error = refusal(lambda: read_tabular(write(tmp_path, "rapport.pdf", b"%PDF")))
    assert error.en == "rapport.pdf: this file type is not supported; send a .csv, .tsv, .txt or .xlsx file"


def test_oversize_csv_is_refused(tmp_path):
    error = refusal(lambda: read_tabular(write(tmp_path, "groot.csv", b"naam\n" + b"x\n" * 100), max_bytes=100))
    assert error.en == "groot.csv: the file is 205 bytes, more than the limit of 100 bytes"


# --- XLSX --------------------------------------------------------------------------------------


def workbook(tmp_path: Path, rows: list[list], name: str = "aanbieder.xlsx") -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def rewrite_member(path: Path, member: str, edit) -> None:
    """Replace one zip member by edit(its text), keeping the others."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts[member] = edit(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)


def handmade(tmp_path: Path, sheet_data: str, *, strings: list[str] = (), styles: str = "",
             extra: dict[str, str] | None = None) -> Path:
    """A minimal .xlsx written part by part, for cell types openpyxl does not write."""
    rels = f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                       f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                           f'<sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN_NS}"><sheetData>{sheet_data}</sheetData></worksheet>',
    }
    if strings:
        rels += f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN_NS}">{"".join(strings)}</sst>'
    if styles:
        rels += f'<Relationship Id="rId3" Type="{REL_NS}/styles" Target="styles.xml"/>'
        parts["xl/styles.xml"] = f'<styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>'
    parts["xl/_rels/workbook.xml.rels"] = f'<Relationships xmlns="{PKG_NS}">{rels}</Relationships>'
    parts.update(extra or {})
    path = tmp_path / "aanbieder.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def test_xlsx_values(tmp_path):
    path = workbook(tmp_path, [[], [], ["  naam ", "plaatsen", "bezetting", "actief", "notitie"],
                               ["Zon ", 12, 87.5, True, None], [], ["Maan", 3.0, 0, False, "vol"]])
    extract = read_tabular(path)
    assert extract.file_name == "aanbieder.xlsx"
    assert extract.header == ["naam", "plaatsen", "bezetting", "actief", "notitie"]
    assert extract.rows == [
        RawRow(4, {"naam": "Zon", "plaatsen": 12, "bezetting": 87.5, "actief": True, "notitie": ""}),
        RawRow(6, {"naam": "Maan", "plaatsen": 3, "bezetting": 0, "actief": False, "notitie": "vol"}),
    ]
    assert type(extract.rows[1].values["plaatsen"]) is int
    assert extract.errors == []


def test_xlsx_dates_are_datetimes(tmp_path):
    path = workbook(tmp_path, [["peildatum", "gemeld", "datum nl", "datum kort"],
                               [date(2024, 1, 31), datetime(2024, 2, 1, 14, 30), 45337, 45338]])
    book = openpyxl.load_workbook(path)
    book.active["C2"].number_format = "dd-mm-yyyy"
    book.active["D2"].number_format = "mm-dd-yy"  # built-in format 14
    book.save(path)
    assert read_xlsx(path).rows == [RawRow(2, {
        "peildatum": datetime(2024, 1, 31), "gemeld": datetime(2024, 2, 1, 14, 30),
        "datum nl": datetime(2024, 2, 15), "datum kort": datetime(2024, 2, 16)})]


def test_xlsx_formula_with_cached_value_reads_the_value(tmp_path):
    path = workbook(tmp_path, [["plaatsen", "dubbel"], [21, "=A2*2"]])
    rewrite_member(path, "xl/worksheets/sheet1.xml",
                   lambda xml: re.sub(r"<f>A2\*2</f><v\s*/>", "<f>A2*2</f><v>42</v>", xml))
    assert read_xlsx(path).rows == [RawRow(2, {"plaatsen": 21, "dubbel": 42})]


def test_xlsx_formula_without_cached_value_is_a_row_error(tmp_path):
    path = workbook(tmp_path, [["naam", "plaatsen"], ["Zon", "=SUM(1,2)"], ["Maan", 4]])
    extract = read_xlsx(path)
    assert extract.rows == [RawRow(3, {"naam": "Maan", "plaatsen": 4})]
    assert extract.errors == [RowError(
        2, "plaatsen", "=SUM(1,2)",
        "aanbieder.xlsx, rij 2, kolom 'plaatsen' (cel B2): formule zonder berekende waarde (=SUM(1,2)); "
        "open het bestand in Excel, sla het op en stuur het opnieuw",
        "aanbieder.xlsx, row 2, column 'plaatsen' (cell B2): formula without a calculated value (=SUM(1,2)); "
        "open the file in Excel, save it and send it again")]


def test_xlsx_cell_types_written_by_other_programs(tmp_path):
    strings = ['<si><t xml:space="preserve"> naam </t></si>', "<si><t>plaatsen</t></si>",
               "<si><r><t>Zon</t></r><r><rPr><b/></rPr><t>_x000D_huis</t></r><rPh><t>x</t></rPh></si>",
               "<si><t>peildatum</t></si>"]
    styles = ('<numFmts count="1"><numFmt numFmtId="164" formatCode="0&quot; dagen&quot;"/></numFmts>'
              '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs>')
    sheet = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>3</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="2"><v>7</v></c><c r="C2" s="1"><v>45292</v></c></row>'
             '<row r="3"><c t="inlineStr"><is><t>Maan</t></is></c><c t="str"><f>"1"&amp;"0"</f><v>10</v></c>'
             '<c t="b"><v>1</v></c></row>'
             '<row><c r="A4" t="inlineStr"><is><t>Ster</t></is></c><c r="B4" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
             '<row r="6"><c r="A6"><f t="shared" ref="A6:A7" si="0">B6+1</f><v>5</v></c><c r="B6"><v>4</v></c></row>'
             '<row r="7"><c r="A7"><f t="shared" si="0"/></c><c r="B7"><v>4</v></c></row>')
    extract = read_xlsx(handmade(tmp_path, sheet, strings=strings, styles=styles))
    assert extract.header == ["naam", "plaatsen", "peildatum"]
    assert extract.rows == [
        RawRow(2, {"naam": "Zon\rhuis", "plaatsen": 7, "peildatum": datetime(2024, 1, 1)}),
        RawRow(3, {"naam": "Maan", "plaatsen": "10", "peildatum": True}),
        RawRow(6, {"naam": 5, "plaatsen": 4, "peildatum": ""}),
    ]
    assert [(e.row, e.column, e.value) for e in extract.errors] == [(4, "plaatsen", "#DIV/0!"),
                                                                    (7, "naam", "=B6+1")]
    assert extract.errors[0].en == ("aanbieder.xlsx, row 4, column 'plaatsen' (cell B4): the cell contains the "
                                    "Excel error #DIV/0!; correct the cell and send the file again")


def test_xlsx_header_starts_where_the_table_starts(tmp_path):
    sheet = ('<row r="2"><c r="B2" t="inlineStr"><is><t>naam</t></is></c></row>'
             '<row r="3"><c r="B3" t="inlineStr"><is><t>Zon</t></is></c></row>'
             '<row r="4"><c r="A4"><v>1</v></c><c r="B4" t="inlineStr"><is><t>Maan</t></is></c></row>')
    extract = read_xlsx(handmade(tmp_path, sheet))
    assert extract.rows == [RawRow(3, {"naam": "Zon"})]
    assert extract.errors == [RowError(4, None, "1",
                                       "aanbieder.xlsx, rij 4: waarden buiten de kolommen van de kopregel (cel A4: '1')",
                                       "aanbieder.xlsx, row 4: values outside the columns of the header (cell A4: '1')")]


def test_xlsx_duplicate_header_is_refused(tmp_path):
    error = refusal(lambda: read_xlsx(workbook(tmp_path, [["naam", "plaatsen", "naam"], ["A", 1, "B"]])))
    assert error.en == "aanbieder.xlsx: the column name 'naam' appears twice in the header (columns A and C)"


def test_xlsx_empty_sheet_is_refused(tmp_path):
    error = refusal(lambda: read_xlsx(workbook(tmp_path, [])))
    assert error.en == "aanbieder.xlsx: the file is empty"


def test_xlsx_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bom.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    error = refusal(lambda: read_tabular(path))
    assert "the part 'xl/worksheets/sheet1.xml' is suspiciously highly compressed" in error.en
    assert "verdacht sterk ingepakt" in error.nl


def test_xlsx_entity_declaration_is_refused(tmp_path):
    sheet = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
             f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is>'
             '</c></row></sheetData></worksheet>')
    path = handmade(tmp_path, "", extra={"xl/worksheets/sheet1.xml": sheet})
    error = refusal(lambda: read_xlsx(path))
    assert error.en == ("aanbieder.xlsx: the file contains XML entity declarations (DOCTYPE/ENTITY in "
                        "'xl/worksheets/sheet1.xml') and is refused for security reasons")
    assert error.nl == ("aanbieder.xlsx: het bestand bevat XML-entiteitdeclaraties (DOCTYPE/ENTITY in "
                        "'xl/worksheets/sheet1.xml') en wordt om veiligheidsredenen geweigerd")


def test_xlsx_entity_declaration_in_an_oddly_named_sheet_is_refused(tmp_path):
    rels = (f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" '
            'Target="worksheets/blad.dat"/></Relationships>')
    sheet = f'<!DOCTYPE x [<!ENTITY a "b">]><worksheet xmlns="{MAIN_NS}"><sheetData/></worksheet>'
    path = handmade(tmp_path, "", extra={"xl/_rels/workbook.xml.rels": rels, "xl/worksheets/blad.dat": sheet})
    assert "(DOCTYPE/ENTITY in 'xl/worksheets/blad.dat')" in refusal(lambda: read_xlsx(path)).en


def test_xlsx_billion_laughs_in_any_part_is_refused(tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><coreProperties>&lol2;</coreProperties>')
    path = handmade(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>', extra={"docProps/core.xml": laughs})
    assert "'docProps/core.xml'" in refusal(lambda: read_xlsx(path)).en


def test_xlsx_member_outside_the_package_is_refused(tmp_path):
    path = handmade(tmp_path, "", extra={"../../etc/cron.d/x.xml": "<x/>"})
    assert "unsafe name ('../../etc/cron.d/x.xml')" in refusal(lambda: read_xlsx(path)).en


def test_oversize_xlsx_is_refused(tmp_path):
    path = workbook(tmp_path, [["naam"], ["Zon"]])
    size = path.stat().st_size
    error = refusal(lambda: read_tabular(path, max_bytes=1000))
    assert error.en == f"aanbieder.xlsx: the file is {size} bytes, more than the limit of 1000 bytes"
    assert error.nl == f"aanbieder.xlsx: het bestand is {size} bytes, meer dan de grens van 1000 bytes"


def test_xlsx_that_is_not_a_zip_is_refused(tmp_path):
    error = refusal(lambda: read_tabular(write(tmp_path, "oud.xlsx", b"\xd0\xcf\x11\xe0 old excel")))
    assert error.en.startswith("oud.xlsx: the file is not a valid .xlsx file")


def test_xlsx_with_a_missing_part_is_damaged(tmp_path):
    rels = (f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" '
            'Target="worksheets/weg.xml"/></Relationships>')
    path = handmade(tmp_path, "", extra={"xl/_rels/workbook.xml.rels": rels})
    assert refusal(lambda: read_xlsx(path)).en.startswith("aanbieder.xlsx: the file is damaged or unreadable")
