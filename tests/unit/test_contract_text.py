"""Contract text lint (R9): repealed laws, required clauses, reading .docx/.txt, the CLI."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx_helpers import CONTENT_TYPES, write_docx
from pydantic import ValidationError

from ops_watch.areas.governance.contract_text.model import (
    ContractDocument,
    ContractReadError,
    ContractTextSection,
    Paragraph,
    find_missing_clauses,
    find_repealed,
    load_repealed_laws,
    quote,
    read_contract,
)
from ops_watch.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "samples" / "contract"


def doc(*texts: str) -> ContractDocument:
    return ContractDocument(Path("c.txt"), "utf-8", tuple(Paragraph(i, t) for i, t in enumerate(texts, 1)))


LAWS = load_repealed_laws()


def cited(*texts: str) -> list[tuple[int | None, str]]:
    return [(p.paragraph, p.detail) for p in find_repealed(doc(*texts), LAWS)]


# --- repealed laws -------------------------------------------------------------------------------------------


def test_table_has_the_nine_laws_repealed_by_the_civil_code() -> None:
    names = {law.name for law in LAWS}
    for short in (
        "合同法",
        "担保法",
        "物权法",
        "侵权责任法",
        "民法通则",
        "民法总则",
        "婚姻法",
        "继承法",
        "收养法",
    ):
        assert f"中华人民共和国{short}" in names
    for law in LAWS:
        assert str(law.repealed_on) == "2021-01-01"
        assert law.replaced_by.startswith("中华人民共和国民法典")
        assert "第一千二百六十条" in law.source


@pytest.mark.parametrize("law", [law.name for law in LAWS])
@pytest.mark.parametrize("form", ["《{full}》", "{full}", "《{short}》", "{short}"])
def test_each_law_found_in_every_form(law: str, form: str) -> None:
    short = law.removeprefix("中华人民共和国")
    text = "前言。" + "根据" + form.format(full=law, short=short) + "第十条的规定，双方订立本合同。"
    problems = find_repealed(doc("无关段落", text), LAWS)
    assert [(p.paragraph, p.kind) for p in problems] == [(2, "repealed_law")]
    assert law in problems[0].detail
    assert problems[0].replacement.startswith("《中华人民共和国民法典》")
    assert short in problems[0].quote and "前言" not in problems[0].quote  # the sentence, not the paragraph


def test_full_name_reported_once_not_also_as_the_short_name() -> None:
    problems = find_repealed(doc("依据《中华人民共和国合同法》和合同法的规定。"), LAWS)
    assert len(problems) == 1


def test_two_laws_in_one_paragraph_each_reported() -> None:
    found = cited("依据《合同法》《担保法》及《物权法》订立。")
    assert len(found) == 3


@pytest.mark.parametrize(
    "text",
    [
        "依据《中华人民共和国民法典》订立本合同。",
        "依据《民法典》第五百零九条。",
        "合同法律关系自签订之日起成立。",
        "参照电子合同法规的要求签署。",
        "本条款遵守《中华人民共和国劳动合同法》。",
        "乙方与驻场人员依《劳动合同法》签订劳动合同。",
        "合同法学教材不在本合同范围。",
        "民法典总则编第一百四十三条。",
        "发生争议由甲方所在地人民法院管辖。",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert cited(text) == []


def test_citation_with_provides_is_still_found() -> None:
    assert len(cited("按照合同法规定承担违约责任。")) == 1


def test_quote_cut_around_the_match_in_a_long_sentence() -> None:
    text = "甲" * 300 + "《合同法》" + "乙" * 300
    q = quote(text, 300, 305)
    assert "《合同法》" in q and q.startswith("…") and q.endswith("…")
    assert len(q) <= 122


def test_law_table_file_can_be_replaced(tmp_path: Path) -> None:
    table = tmp_path / "laws.toml"
    table.write_text(
        '[[law]]\nname = "示例管理条例"\naliases = ["管理条例"]\nrepealed_on = 2024-05-01\n'
        'replaced_by = "新条例"\nsource = "公告"\n',
        encoding="utf-8",
    )
    laws = load_repealed_laws(table)
    assert [p.replacement for p in find_repealed(doc("执行《管理条例》。"), laws)] == ["《新条例》"]
    table.write_text('[[law]]\nname = "x"\nrepealed_on = "soon"\nreplaced_by = "y"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"laws.toml: law\[0\].repealed_on"):
        load_repealed_laws(table)


# --- required clauses ----------------------------------------------------------------------------------------

FULL = (
    "乙方驻场运维人员不少于6人。",
    "驻场人员须持有相应资质证书。",
    "甲方按季度进行绩效考核。",
    "乙方应遵守数据安全与保密要求。",
)


def missing(texts: Sequence[str], terms: ContractTextSection | None = None) -> list[str]:
    terms = terms or ContractTextSection()
    return [p.detail for p in find_missing_clauses(doc(*texts), terms.required_clauses)]


def test_default_clauses_all_present() -> None:
    assert missing(FULL) == []


@pytest.mark.parametrize(
    "drop, name", [(0, "驻场人员数量"), (1, "人员资质"), (2, "绩效考核"), (3, "数据安全与保密")]
)
def test_default_clause_missing(drop: int, name: str) -> None:
    texts = [t for i, t in enumerate(FULL) if i != drop]
    if drop == 0:
        texts = [t.replace("驻场人员须", "人员须") for t in texts]
    found = missing(texts)
    assert len(found) == 1 and name in found[0]
    clause = ContractTextSection().required_clauses[drop]
    assert all(pattern in found[0] for pattern in clause.patterns)  # the patterns tried are shown


def test_staff_count_in_chinese_numerals() -> None:
    assert not any("驻场人员数量" in d for d in missing(["驻场工程师五名，7×24小时值守。", *FULL[1:]]))


def test_custom_clauses_replace_the_defaults() -> None:
    terms = ContractTextSection.model_validate(
        {"required_clauses": [{"name": "应急响应", "patterns": [r"\d+\s*分钟内响应"]}]}
    )
    assert missing(["故障发生后30 分钟内响应。"], terms) == []
    found = missing(["无"], terms)
    assert len(found) == 1 and "应急响应" in found[0] and r"\d+\s*分钟内响应" in found[0]


def test_invalid_regex_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        ContractTextSection.model_validate(
            {"required_clauses": [{"name": "x", "patterns": ["ok", "驻场(\\d+"]}]}
        )
    message = str(info.value)
    assert "patterns[1]" in message and "not a valid regular expression" in message


def test_invalid_regex_in_contract_toml_stops_the_cli(tmp_path: Path, config_file) -> None:
    cfg = config_file()
    contract = tmp_path / "rules" / "contract.toml"
    contract.write_text(
        contract.read_text(encoding="utf-8")
        + '\n[contract_text]\nrequired_clauses = [{ name = "驻场", patterns = ["驻场(\\\\d+"] }]\n',
        encoding="utf-8",
    )
    contract_file = tmp_path / "c.txt"
    contract_file.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(cfg), "contract", "lint", str(contract_file)])
    assert result.exit_code == 2
    assert (
        "contract_text.required_clauses" in result.output
        and "not a valid regular expression" in result.output
    )


# --- reading -------------------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_numbered_in_order(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "c.docx",
        ["第一条 总则", "", [["服务内容", "依据《合同法》执行"], ["人数", "驻场3人"]], "第三条 保密"],
    )
    got = read_contract(path)
    assert got.encoding == "docx"
    assert [(p.number, p.text) for p in got.paragraphs] == [
        (1, "第一条 总则"),
        (2, ""),
        (3, "服务内容"),
        (4, "依据《合同法》执行"),
        (5, "人数"),
        (6, "驻场3人"),
        (7, "第三条 保密"),
    ]
    assert [p.paragraph for p in find_repealed(got, LAWS)] == [4]


def test_gb18030_and_utf8_bom_text(tmp_path: Path) -> None:
    text = "第一条\n依据《中华人民共和国担保法》提供担保。\n"
    gb = tmp_path / "gb.txt"
    gb.write_bytes(text.encode("gb18030"))
    bom = tmp_path / "bom.md"
    bom.write_bytes(text.encode("utf-8-sig"))
    plain = tmp_path / "plain.txt"
    plain.write_text(text, encoding="utf-8")
    for path, encoding in ((gb, "gb18030"), (bom, "utf-8-sig"), (plain, "utf-8")):
        got = read_contract(path)
        assert got.encoding == encoding
        assert got.paragraphs[0].text == "第一条"  # no BOM left in the first line
        assert [p.paragraph for p in find_repealed(got, LAWS)] == [2]


def test_bytes_neither_utf8_nor_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\x81\x30\xff\xff\x00")
    with pytest.raises(ContractReadError, match="bad.txt: neither UTF-8 nor GB18030"):
        read_contract(path)


def _broken(tmp_path: Path) -> dict[str, Path]:
    not_zip = tmp_path / "renamed.docx"
    not_zip.write_bytes(b"\xd0\xcf\x11\xe0 an old .doc file")
    good = write_docx(tmp_path / "whole.docx", ["依据《合同法》执行。"] + list(FULL))
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    no_document = tmp_path / "nodoc.docx"
    with zipfile.ZipFile(no_document, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
    bad_xml = tmp_path / "badxml.docx"
    with zipfile.ZipFile(bad_xml, "w") as z:
        z.writestr("word/document.xml", "<w:document><w:body>")
    return {"not_zip": not_zip, "truncated": truncated, "no_document": no_document, "bad_xml": bad_xml}


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_zip", "not a valid .docx"),
        ("truncated", "not a valid .docx"),
        ("no_document", "without word/document.xml"),
        ("bad_xml", "word/document.xml is damaged"),
    ],
)
def test_broken_docx_is_a_clear_error(tmp_path: Path, case: str, message: str) -> None:
    path = _broken(tmp_path)[case]
    with pytest.raises(ContractReadError) as info:
        read_contract(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(ContractReadError, match="absent.docx: cannot read"):
        read_contract(tmp_path / "absent.docx")
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(ContractReadError, match="unsupported file type '.pdf'"):
        read_contract(pdf)


# --- CLI and the examples ------------------------------------------------------------------------------------


def _lint(config: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--config", str(config), "contract", "lint", *args])


def test_examples_cite_the_contract_law_and_lack_a_staff_count(config_file) -> None:
    cfg = config_file()
    docx, txt = REPO / "examples" / "contract" / "运维服务合同.docx", EXAMPLES / "运维服务合同_gb18030.txt"
    assert read_contract(txt).encoding == "gb18030"
    result = _lint(cfg, "--format", "json", str(docx), str(txt))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    for path in (docx, txt):
        mine = [(r["kind"], r["detail"]) for r in rows if r["file"] == str(path)]
        assert [k for k, _ in mine] == ["repealed_law", "clause_missing"]
        assert "中华人民共和国合同法" in mine[0][1] and "驻场人员数量" in mine[1][1]
    first = rows[0]
    assert set(first) == {"file", "paragraph", "kind", "detail", "quote", "replacement"}
    assert isinstance(first["paragraph"], int) and "合同法" in first["quote"]
    assert first["replacement"].startswith("《中华人民共和国民法典》")
    assert "GB18030" in result.stderr


def test_cli_table_with_broken_files_lints_the_others_and_exits_1(
    tmp_path: Path, config_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_file()
    _broken(tmp_path)
    write_docx(tmp_path / "good.docx", ["依据《物权法》。", *FULL])
    monkeypatch.chdir(tmp_path)  # short relative names, as typed, so the table does not clip them
    result = _lint(cfg, "renamed.docx", "good.docx", "truncated.docx", "nodoc.docx")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["文件", "段落", "类型", "详情", "原文", "建议改为"]  # the site language, zh
    assert sum("unreadable" in line for line in lines) == 3
    assert any("repealed_law" in line and "good.docx" in line for line in lines)
    assert "renamed.docx: not a valid .docx" in result.stderr


def test_cli_clean_contract_exits_0(tmp_path: Path, config_file) -> None:
    cfg = config_file()
    good = tmp_path / "clean.txt"
    good.write_text("\n".join(["依据《中华人民共和国民法典》订立。", *FULL]), encoding="utf-8")
    result = _lint(cfg, "--format", "csv", str(good))
    assert result.exit_code == 0
    assert result.stdout.strip() == "\ufefffile,paragraph,kind,detail,quote,replacement"


def test_a_catastrophic_pattern_cannot_hang_the_lint(tmp_path: Path) -> None:
    """`^(a+)+$` on 33 bytes ran past 120 s with Python's backtracking re (issue 17 #8). Run in a child with a
    generous limit so a regression fails instead of hanging the suite; the result is the point, not the time."""
    import subprocess
    import sys

    script = (
        "from ops_watch.areas.governance.contract_text.model import ContractTextSection, find_missing_clauses\n"
        "from ops_watch.areas.governance.contract_text.model import ContractDocument, Paragraph\n"
        "from pathlib import Path\n"
        "terms = ContractTextSection.model_validate("
        "{'required_clauses': [{'name': 'x', 'patterns': ['^(a+)+$']}]})\n"
        "doc = ContractDocument(Path('c.txt'), 'utf-8', (Paragraph(1, 'a' * 32 + '!'),))\n"
        "print(len(find_missing_clauses(doc, terms.required_clauses)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # no paragraph matches: the clause is missing, found at once


@pytest.mark.parametrize("pattern", [r"(?<=驻场)\d+人", r"(驻场)\1"])
def test_lookarounds_and_backreferences_are_refused_naming_the_key(pattern: str) -> None:
    with pytest.raises(ValidationError) as info:
        ContractTextSection.model_validate({"required_clauses": [{"name": "x", "patterns": ["ok", pattern]}]})
    text = str(info.value)
    assert "patterns[1]" in text and "not supported (patterns run in linear time)" in text
