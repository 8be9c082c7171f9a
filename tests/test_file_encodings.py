"""Files as Vietnamese offices export them: every encoding reaches the schema as NFC; nothing is guessed."""
from __future__ import annotations

import codecs
import dataclasses
import subprocess
import unicodedata
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import text

import adapters.vietnamese_text as vt
from conftest import cp1258_text, demo_rows, scalar, write_csv
from pipeline.run import StageError, run_source

def agencies(engine) -> set[str]:
    with engine.connect() as conn:
        return {a for (a,) in conn.execute(text("SELECT DISTINCT receiving_agency FROM core.dossier"))}


# --- the tables themselves, against published ones ----------------------------------------

def test_tcvn3_bytes_match_the_published_table():
    # TCVN 5712:1993 VN3 (ABC, .VnTime): checked by hand against the ABC table
    assert "ư".encode("tcvn3") == b"\xad" and "đ".encode("tcvn3") == b"\xae"
    assert "Đ".encode("tcvn3") == b"\xa7" and "ơ".encode("tcvn3") == b"\xac"
    assert "á".encode("tcvn3") == b"\xb8" and "ệ".encode("tcvn3") == b"\xd6" and "ỵ".encode("tcvn3") == b"\xfe"
    assert b"Hu\xd5 - Qu\xb6ng Tr\xdf".decode("tcvn3") == "Huế - Quảng Trò"
    with pytest.raises(UnicodeEncodeError):
        "Ủy".encode("tcvn3")  # VN3 has no upper-case toned letters


def test_tcvn3_agrees_with_glibc_on_every_defined_byte():
    defined = bytes(b for b in range(0x80, 0x100) if vt.TCVN3_DECODING[b] != vt.UNDEFINED)
    assert len(defined) == 75  # 67 lower-case letters, Ă Â Ê Ô Ơ Ư Đ, and the no-break space
    glibc = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=defined,
                           capture_output=True, check=True).stdout.decode()
    assert defined.decode("tcvn3") == unicodedata.normalize("NFC", glibc)


def test_vni_sequences_match_the_published_table():
    # VNI Windows: base letter then a mark byte; ơ ư đ and the i-vowels are single bytes
    assert "ư".encode("vni") == b"\xf6" and "Ư".encode("vni") == b"\xd6"
    assert "đ".encode("vni") == b"\xf1" and "Đ".encode("vni") == b"\xd1"
    assert "ế".encode("vni") == b"e\xe1" and "ợ".encode("vni") == b"\xf4\xef" and "ỵ".encode("vni") == b"\xee"
    assert "Ủy ban".encode("vni") == b"U\xdby ban"
    assert len(vt.VNI_TABLE) == 134
    text_ = "Trường THPT Ngô Sĩ Liên, Đường Nguyễn Văn Cừ, Ỹ"
    encoded = text_.encode("vni")
    assert encoded.decode("vni") == text_
    decoder = codecs.getincrementaldecoder("vni")()  # a letter and its mark split across blocks
    assert "".join(decoder.decode(encoded[i:i + 1]) for i in range(len(encoded))) + \
        decoder.decode(b"", final=True) == text_
    with pytest.raises(UnicodeDecodeError, match="position 2"):
        b"ab\xf9".decode("vni")  # a mark with no letter before it


def test_only_a_bom_is_sniffed():
    assert vt.sniff_bom(codecs.BOM_UTF8 + b"a") == "utf-8-sig"
    assert vt.sniff_bom(codecs.BOM_UTF16_LE + b"a\x00") == "utf-16"
    assert vt.sniff_bom(cp1258_text("Hà Nội").encode("cp1258")) is None
    assert vt.sniff_bom("Hà Nội".encode("tcvn3")) is None


# --- files in each encoding, end to end ----------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258", "tcvn3", "vni"])
def test_each_encoding_loads_the_same_nfc_text(engine, make_source, tmp_path, encoding):
    header, rows = demo_rows()
    path = write_csv(tmp_path / f"{encoding}.csv", header, rows[:40], encoding)
    declared = {"utf-8-sig": "auto"}.get(encoding, encoding)
    result = run_source(make_source(path, encoding=declared), engine)
    assert result.totals["inserted"] == 40 and result.totals["quarantined"] == 0
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE receiving_agency IS NFC NORMALIZED "
                          "AND status IS NOT NULL") == 40
    assert agencies(engine) == {r[2] for r in rows[:40]}


def test_auto_reads_utf8_and_refuses_to_guess_the_rest(engine, make_source, tmp_path):
    header, rows = demo_rows()
    plain = run_source(make_source(write_csv(tmp_path / "u.csv", header, rows[:10]), encoding="auto"), engine)
    assert plain.totals["inserted"] == 10
    path = write_csv(tmp_path / "legacy.csv", header, rows[10:20], "tcvn3")
    result = run_source(make_source(path, encoding="auto"), engine)
    (batch,) = result.batches
    assert batch.status == "held" and batch.counts["quarantined"] == 1
    assert batch.held.startswith("legacy.csv is not valid UTF-8 and no encoding is declared (undecodable byte 0x")
    assert "the hub does not guess" in batch.held
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 10


def test_a_utf8_file_declared_tcvn3_is_quarantined_not_garbled(engine, make_source, tmp_path):
    header, rows = demo_rows()
    path = write_csv(tmp_path / "mislabelled.csv", header, rows[:10])
    offset = path.read_bytes().index("ã".encode())  # 0xC3: not a VN3 byte
    result = run_source(make_source(path, encoding="tcvn3"), engine)
    assert result.batches[0].held == (f"mislabelled.csv is not valid tcvn3 (undecodable byte 0xC3 at offset "
                                      f"{offset}); declare the file's encoding in options.encoding")
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 0
    assert scalar(engine, "SELECT failed_checks[1] FROM quarantine.dossier") == "encoding"


def test_an_unknown_format_is_a_config_error(engine, make_source, tmp_path):
    with pytest.raises(StageError, match="unknown format 'ods'"):
        run_source(make_source(tmp_path / "x.ods", format="ods"), engine)


# --- xlsx -----------------------------------------------------------------------------------

def write_xlsx(path, header, rows, *, legacy: str | None = None, extra=None):
    """Dates as real date cells, as an office's workbook holds them; text optionally in a legacy font."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Hồ sơ"

    def cell(v: str, i: int):
        if i in (4, 5, 6) and v:
            return datetime.strptime(v, "%d/%m/%Y %H:%M")
        if legacy and isinstance(v, str):  # what Excel stores for text typed in a .VnTime / VNI font
            return v.encode(legacy).decode("latin-1")
        return v or None

    sheet.append([cell(h, -1) for h in header])
    for r in rows:
        sheet.append([cell(v, i) for i, v in enumerate(r)])
    for r in extra or []:
        sheet.append(r)
    book.save(path)
    return path


@pytest.fixture
def xlsx_source(make_source):
    def make(path, **options):
        source = make_source(path, **{"encoding": "auto", **options})
        return dataclasses.replace(source, date_formats=("%Y-%m-%d %H:%M:%S",))
    return make


def test_an_xlsx_export_loads_with_date_cells(engine, xlsx_source, tmp_path):
    header, rows = demo_rows()
    path = write_xlsx(tmp_path / "hs.xlsx", header, rows[:60],
                      extra=[[None] * 9, ["X-1", "1.001612", "UBND", "07001", datetime(2024, 1, 2), None, None,
                                          "Đã tiếp nhận", "Trực tiếp", "surplus"]])
    result = run_source(xlsx_source(path, chunk_size=25), engine)
    assert result.totals == {"read": 61, "inserted": 60, "updated": 0, "unchanged": 0, "quarantined": 1}
    assert agencies(engine) == {r[2] for r in rows[:60]}
    with engine.connect() as conn:
        received, position = conn.execute(text(
            "SELECT to_char(received_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI'), source_position "
            "FROM core.dossier WHERE dossier_code = :c"), {"c": rows[0][0]}).one()
        reason = conn.execute(text("SELECT reason FROM quarantine.dossier")).scalar()
    assert received == rows[0][4] and position == "hs.xlsx:2"
    assert reason == "row 63 has 10 fields where the header has 9"


@pytest.mark.parametrize("legacy", ["tcvn3", "vni"])
def test_xlsx_text_typed_in_a_legacy_font_is_decoded(engine, xlsx_source, tmp_path, legacy):
    header, rows = demo_rows()
    path = write_xlsx(tmp_path / "legacy.xlsx", header, rows[:20], legacy=legacy)
    with pytest.raises(StageError, match="missing required columns"):  # undeclared: the header is nonsense
        run_source(xlsx_source(path), engine)
    result = run_source(xlsx_source(path, encoding=legacy), engine)
    assert result.totals["inserted"] == 20
    assert agencies(engine) == {r[2] for r in rows[:20]}


def test_xlsx_with_unicode_text_declared_legacy_is_quarantined_whole(engine, xlsx_source, tmp_path):
    header, rows = demo_rows()
    path = write_xlsx(tmp_path / "uni.xlsx", header, rows[:5])
    result = run_source(xlsx_source(path, encoding="tcvn3"), engine)
    assert result.batches[0].status == "held"
    assert result.batches[0].held.startswith("uni.xlsx: cell Hồ sơ!A1 holds 'ồ', which is not tcvn3 text")


def test_an_interrupted_xlsx_run_resumes_after_the_last_committed_batch(engine, xlsx_source,
                                                                        tmp_path, interrupt_merge):
    header, rows = demo_rows()
    source = xlsx_source(write_xlsx(tmp_path / "r.xlsx", header, rows[:90]), chunk_size=40)
    heal = interrupt_merge(2)
    with pytest.raises(StageError):
        run_source(source, engine)
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 40
    heal()
    resumed = run_source(source, engine)
    assert resumed.totals == {"read": 50, "inserted": 50, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 90
