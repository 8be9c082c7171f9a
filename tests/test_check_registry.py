"""Extension points with registries: a reconciliation check or a format is one registration,
and the command line, the reconciliation and the schemas pick it up with nothing else edited."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import scalar
from hub.cli import app
from sync import checks
from sync.checks import Scope, reconciliation_check
from sync.findings import Finding

runner = CliRunner()


@pytest.fixture
def unanswered_check(monkeypatch):
    """A check registered here, in a test module, as a new file in sync/checks/ would register it;
    the session's registry is given back afterwards so other tests' full runs don't include it."""
    monkeypatch.setattr(checks, "REGISTRY", dict(checks.checks()))

    @reconciliation_check("unanswered_receipts", finds=("receipt_not_processed",), direction="across",
                          levels=("commune", "province"), periods=())
    def unanswered(conn, scope: Scope) -> list[Finding]:
        """a recipient acknowledged a document (status 01) but never reported it processed (05/06)"""
        rows = conn.execute(text("""
            SELECT document_id, recipient_organ_id FROM core.document_trace
            GROUP BY document_id, recipient_organ_id
            HAVING bool_or(status_code = '01') AND NOT bool_or(status_code IN ('05', '06'))
            ORDER BY 1, 2""")).all()
        return [Finding("receipt_not_processed", organ, document, None, None, detail=f"{organ} received "
                        f"{document} but never reported it processed") for document, organ in rows]
    return "unanswered_receipts"


def _trace(engine, document: str, organ: str, status: str, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO core.document_trace (document_id, recipient_organ_id, status_code, source, batch_id, "
            "source_position, row_hash, schema_version) VALUES (:d, :o, :s, 't', 0, :p, '0', '1.0')"),
            {"d": document, "o": organ, "s": status, "p": f"t:{n}"})


def test_a_check_registered_in_a_test_module_is_in_the_help_and_runs(engine, unanswered_check):
    shown = runner.invoke(app, ["reconcile", "--help"])
    assert shown.exit_code == 0, shown.output
    listed = " ".join(shown.output.replace("│", " ").split())  # the help as one line, out of its box
    assert ("unanswered_receipts (across, commune-province, no period): a recipient acknowledged a document "
            "(status 01) but never reported it processed (05/06)") in listed
    for name in ("indicators", "dossiers", "documents", "beneficiaries", "catalogues", "indicators_2025"):
        assert f"{name} (" in listed  # the shipped checks, listed from the same registry

    _trace(engine, "A,2025/01/02,1/UBND", "000.24.01.H01", "01", 1)
    _trace(engine, "B,2025/01/02,2/UBND", "000.24.01.H02", "01", 2)
    _trace(engine, "B,2025/01/02,2/UBND", "000.24.01.H02", "05", 3)
    ran = runner.invoke(app, ["reconcile", "--check", unanswered_check])
    assert ran.exit_code == 0, ran.output
    assert "receipt_not_processed" in ran.output and "A,2025/01/02,1/UBND" in ran.output
    assert scalar(engine, "SELECT count(*) FROM audit.reconciliation WHERE \"check\" = 'receipt_not_processed' "
                          "AND status = 'open' AND unit = '000.24.01.H01'") == 1
    assert scalar(engine, "SELECT count(*) FROM audit.reconciliation") == 1

    _trace(engine, "A,2025/01/02,1/UBND", "000.24.01.H01", "06", 4)  # now processed: the finding resolves
    again = runner.invoke(app, ["reconcile", "--check", unanswered_check])
    assert again.exit_code == 0, again.output
    assert scalar(engine, "SELECT status FROM audit.reconciliation WHERE \"check\" = 'receipt_not_processed'") == \
        "resolved"


def test_an_unknown_check_names_the_registered_ones(engine, unanswered_check):
    bad = runner.invoke(app, ["reconcile", "--check", "unanswerd_receipts"])
    assert bad.exit_code == 1
    assert "unknown check 'unanswerd_receipts' (known: " in bad.output and "unanswered_receipts" in bad.output
    assert "Traceback" not in bad.output


def test_two_checks_cannot_share_a_name(unanswered_check):
    with pytest.raises(checks.CheckRegistryError, match="two reconciliation checks are named 'documents'"):
        reconciliation_check("documents", finds=("x",), direction="across", levels=("commune",),
                             periods=())(lambda c, s: [])


@pytest.fixture
def phone_format(monkeypatch):
    """A format registered here, as a new file in quality/formats/ would register it."""
    from quality import formats

    monkeypatch.setattr(formats, "REGISTRY", dict(formats.formats()))

    @formats.format_check("vn_phone", rule="valid_vn_phone", reason="{column} {problem}")
    def phone_problem(value) -> str | None:
        """A Vietnamese phone number: 10 digits starting with 0."""
        if value is None or value != value:
            return None
        return None if len(str(value)) == 10 and str(value).isdigit() and str(value)[0] == "0" \
            else f"{value!r} is not 10 digits starting with 0"
    return "vn_phone"


def _schema_file(tmp_path, fmt: str, field_type: str = "string"):
    from schemas import load_schema_file

    path = tmp_path / "contact.yaml"
    path.write_text(f"name: contact\nversion: '1.0'\nnatural_key: [contact_id]\nfields:\n"
                    f"  - {{name: contact_id, required: true}}\n"
                    f"  - {{name: phone, type: {field_type}, format: {fmt}}}\n", encoding="utf-8")
    return lambda: load_schema_file(path)


def test_a_format_registered_in_a_test_module_is_accepted_by_a_schema_and_runs(phone_format, tmp_path):
    import pandas as pd

    from quality.suite import build_suite
    from quality.validate import validate

    schema = _schema_file(tmp_path, phone_format)()
    suite = build_suite(schema)
    assert "expect_column_values_to_be_valid_vn_phone" in {e.expectation_type for e in suite.expectations}
    result = validate(pd.DataFrame({"contact_id": ["a", "b", "c"], "phone": ["0912345678", "912345678", None]}),
                      suite)
    (failure,) = result.failures
    assert failure.check == "vn_phone:phone" and failure.rows.tolist() == [1]
    assert failure.reason(failure.rows) == ["phone '912345678' is not 10 digits starting with 0"]


def test_a_schema_naming_an_unregistered_format_or_the_wrong_field_type_is_refused(phone_format, tmp_path):
    from schemas import SchemaError

    with pytest.raises(SchemaError, match=r"contact.yaml: phone: unknown format 'vn_phon' \(known: cccd, name, "
                                          r"vn_phone, vn_tax_code\)"):
        _schema_file(tmp_path, "vn_phon")()
    with pytest.raises(SchemaError, match="contact.yaml: phone: format 'vn_phone' applies to string fields, not date"):
        _schema_file(tmp_path, phone_format, "date")()
