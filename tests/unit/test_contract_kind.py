"""The `contract` evidence kind's reader (R9): a dropped .docx/.txt linted into one ContractReview record with
its problems in both languages; unreadable files and an unreadable law table refused with the reason."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx_helpers import write_docx

from ops_watch.areas.governance.contract_text import kind as contract_kind
from ops_watch.areas.governance.contract_text.model import ContractTextSection, load_repealed_laws
from ops_watch.formats import KINDS
from ops_watch.formats.spec import CellError, Document, ParseContext

ARRIVED = datetime(2026, 11, 16, 0, 5, tzinfo=UTC)
LAWS = load_repealed_laws()

# Cites the Contract Law twice (paragraphs 2 and 4) and the Tort Liability Law once; no on-site headcount.
TEXT = (
    "运维服务合同",
    "根据《中华人民共和国合同法》订立本合同。",
    "乙方人员应持证上岗，甲方按季度进行绩效考核，乙方承担数据安全与保密义务。",
    "违约责任依照合同法第一百零七条及《侵权责任法》处理。",
)


def read(path: Path, contract: dict | None = None) -> list[contract_kind.ContractRecord]:
    doc = Document(path, ARRIVED, "ab" * 32, (path.parent.name,))
    return contract_kind.read_document(doc, ParseContext(contract=contract or {}))


def refusal(path: Path) -> CellError:
    with pytest.raises(CellError) as info:
        read(path)
    return info.value


def test_registered_as_a_document_kind_reading_the_contract() -> None:
    kind = KINDS["contract"]
    assert kind.read_document is not None and kind.needs_contract and kind.columns == ()
    assert kind.write_mode == "upsert" and kind.key == ("document",)


def test_docx_gives_one_record_with_problems_in_both_languages(tmp_path: Path) -> None:
    (record,) = read(write_docx(tmp_path / "运维合同.docx", TEXT))
    assert record.document == "运维合同.docx" and record.sha256 == "ab" * 32 and record.arrived_at == ARRIVED
    assert record.encoding == "docx" and record.paragraphs == 4
    repealed = [p for p in record.problems if p["kind"] == "repealed_law"]
    assert [(p["paragraph"], p["law"]) for p in repealed] == [
        (2, "中华人民共和国合同法"),
        (4, "中华人民共和国合同法"),
        (4, "中华人民共和国侵权责任法"),
    ]
    first = repealed[0]
    assert first["quote"] == "根据《中华人民共和国合同法》订立本合同。"
    assert first["replacement"] == "《中华人民共和国民法典》（第三编 合同）"
    assert first["repealed_on"] == "2021-01-01" and "第一千二百六十条" in first["source"]
    assert first["detail_zh"].startswith("引用已废止的") and first["detail_en"].startswith("cites")
    (missing,) = [p for p in record.problems if p["kind"] == "clause_missing"]
    assert missing["clause"] == "驻场人员数量" and missing["paragraph"] is None
    assert missing["patterns"] and "缺少条款" in missing["detail_zh"] and "missing" in missing["detail_en"]


def test_gb18030_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "合同.txt"
    path.write_bytes("\n".join(TEXT).encode("gb18030"))
    (record,) = read(path)
    assert record.encoding == "gb18030" and record.paragraphs == 4
    assert sum(p["kind"] == "repealed_law" for p in record.problems) == 3


def test_clauses_come_from_the_contract_section(tmp_path: Path) -> None:
    terms = ContractTextSection.model_validate({"required_clauses": [{"name": "验收", "patterns": ["验收"]}]})
    (record,) = read(write_docx(tmp_path / "c.docx", TEXT), {"contract_text": terms})
    assert [p["clause"] for p in record.problems if p["kind"] == "clause_missing"] == ["验收"]
    # The section as a plain mapping (what a caller without the model has) is read the same way.
    (again,) = read(tmp_path / "c.docx", {"contract_text": {"required_clauses": []}})
    assert [p["kind"] for p in again.problems] == ["repealed_law"] * 3


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_every_law_of_the_table_is_recognised(tmp_path: Path, law) -> None:
    path = tmp_path / "c.txt"
    path.write_text(f"依据《{law.name}》订立。", encoding="utf-8")
    (record,) = read(path, {"contract_text": {"required_clauses": []}})
    assert [p["law"] for p in record.problems] == [law.name]


def test_corrupt_docx_refused_with_the_reason(tmp_path: Path) -> None:
    good = write_docx(tmp_path / "good.docx", TEXT).read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(good[: len(good) // 2])
    error = refusal(cut)
    assert "不是有效的 .docx" in error.problem.zh and "另存为 .docx" in error.problem.zh
    assert "not a valid .docx" in error.problem.en
    assert str(tmp_path) not in error.problem.en  # the file is named by the report, not by its path here

    renamed = tmp_path / "old.docx"
    renamed.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)  # a .doc (OLE) renamed
    assert "not a valid .docx" in refusal(renamed).problem.en


def test_zip_without_document_xml_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    error = refusal(path)
    assert "word/document.xml" in error.problem.zh and "word/document.xml" in error.problem.en


def test_undecodable_text_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"\x81\x30\xff\xff" * 4)
    error = refusal(path)
    assert "GB18030" in error.problem.zh and "GB18030" in error.problem.en


@pytest.mark.parametrize("name", ["合同.pdf", "合同.doc"])
def test_pdf_and_doc_refused_saying_to_save_as_docx(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7\n")
    error = refusal(path)
    assert "另存为 .docx" in error.problem.zh and ".docx" in error.problem.en
    assert "unsupported file type" in error.problem.en


def test_unreadable_law_table_refuses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "repealed_laws.toml"
    table.write_text('[[law]]\nname = "x"\nrepealed_on = "soon"\nreplaced_by = "y"\n', encoding="utf-8")
    real = contract_kind.load_repealed_laws
    monkeypatch.setattr(contract_kind, "load_repealed_laws", lambda: real(table))
    error = refusal(write_docx(tmp_path / "c.docx", TEXT))
    assert "已废止法律表" in error.problem.zh and "repealed_on" in error.problem.en
