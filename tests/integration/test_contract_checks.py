"""Contracts dropped in the folder are linted on ingest and their problems become findings (R9), on a real store
(SQLite and PostgreSQL, `store`): by hand and through the drop folder, judged through the engine with
rules/contract_text.toml, resolved by a corrected version under the same name; a corrupt file is refused with
its reason and the rest of the batch is kept; the example contract of examples/contract/."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx_helpers import write_docx
from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules
from ops_watch.ingest import ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import ContractReview, EvidenceBatch, Finding

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")

CITES_AND_LACKS = (
    "运维服务合同",
    "根据《中华人民共和国合同法》订立本合同。",
    "乙方人员应持证上岗，甲方按季度进行绩效考核，乙方承担数据安全与保密义务。",
    "担保责任依照《担保法》执行；违约责任依照合同法规定。",
)
# The same contract corrected: the Civil Code cited, the headcount named; the 担保法 citation left in.
CORRECTED = (
    "运维服务合同",
    "根据《中华人民共和国民法典》订立本合同。",
    "乙方人员应持证上岗，甲方按季度进行绩效考核，乙方承担数据安全与保密义务。",
    "担保责任依照《担保法》执行。",
    "乙方驻场运维人员不少于6人。",
)


def settle(path: Path) -> Path:
    """Make a dropped file look settled (not still being written)."""
    then = time.time() - 60
    os.utime(path, (then, then))
    return path


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The repository's contract.toml (without [contract_text]: the default clauses) and the contract rules."""
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(REPO / "rules" / "contract.toml", rules / "contract.toml")
    shutil.copy(REPO / "rules" / "contract_text.toml", rules / "contract_text.toml")
    return rules


@pytest.fixture
def config(tmp_path: Path, rules_dir: Path) -> Config:
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(rules_dir)},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
        }
    )


def reviews(store: Store) -> dict[str, ContractReview]:
    with store.session() as s:
        found = s.scalars(select(ContractReview)).all()
        for r in found:
            s.expunge(r)
    return {r.document: r for r in found}


def findings(store: Store, status: str = "open") -> dict[str, Finding]:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.status == status)).all()
        for f in found:
            s.expunge(f)
    return {f.subject: f for f in found}


def evaluate(store: Store, rules: RuleSet, at: datetime | None = None) -> Any:
    # The contract arrived when it was written (its inode time): judge it a moment later.
    return engine.evaluate(store, rules, at or datetime.now(ZONE) + timedelta(seconds=5), zone=ZONE)


def test_ingest_by_hand_and_the_checks_through_the_engine(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = write_docx(tmp_path / "in" / "运维服务合同.docx", CITES_AND_LACKS)
    result = ingest_file(store, config, "contract", path)
    assert (result.status, result.rows_ok) == ("accepted", 1), result.summary("en")
    assert path.exists()  # by hand: the file stays where it is
    review = reviews(store)["运维服务合同.docx"]
    assert review.encoding == "docx" and review.paragraphs == 4 and review.batch_id == result.batch_id
    assert [p["kind"] for p in review.problems] == ["repealed_law"] * 3 + ["clause_missing"]

    rules = load_rules(config.rules_dir)
    # Before the contract arrived there is nothing to judge.
    early = evaluate(store, rules, review.arrived_at - timedelta(seconds=1))
    assert early.failed_rules == {} and findings(store) == {}

    done = evaluate(store, rules)
    assert done.failed_rules == {}
    found = findings(store)
    assert set(found) == {
        "运维服务合同.docx · 《中华人民共和国合同法》",
        "运维服务合同.docx · 《中华人民共和国担保法》",
        "运维服务合同.docx · 驻场人员数量",
    }
    law = found["运维服务合同.docx · 《中华人民共和国合同法》"]
    assert law.check == "contract_repealed_law" and law.rule_id == "contract-repealed-law"
    assert law.area == "governance" and law.severity == "warning"
    assert "第 2、4 段" in law.summary and "《中华人民共和国民法典》（第三编 合同）" in law.summary
    assert "根据《中华人民共和国合同法》订立本合同。" in law.summary
    assert [c["paragraph"] for c in law.evidence["citations"]] == [2, 4]
    assert law.evidence["replacement"] == "《中华人民共和国民法典》（第三编 合同）"
    assert law.evidence["repealed_on"] == "2021-01-01" and law.evidence["sha256"] == review.sha256
    clause = found["运维服务合同.docx · 驻场人员数量"]
    assert clause.check == "contract_clause_missing" and clause.evidence["patterns"]
    assert "缺少“驻场人员数量”条款" in clause.summary

    # The same problems are the same findings on the next evaluation.
    again = evaluate(store, rules)
    assert again.opened == [] and again.still_open == 3


def test_drop_folder_and_a_corrected_version_resolves_what_it_fixed(store: Store, config: Config) -> None:
    drop = config.drop_dir / "contract"
    settle(write_docx(drop / "x.docx", CITES_AND_LACKS))
    (first,) = ingest_drop_folder(store, config)
    assert first.kind == "contract" and first.status == "accepted", first.summary("en")
    assert first.stored_path is not None and first.stored_path.parent.parent.name == "contract"
    assert first.stored_path.parent.parent.parent.name == "processed"
    rules = load_rules(config.rules_dir)
    evaluate(store, rules)
    assert len(findings(store)) == 3

    settle(write_docx(drop / "x.docx", CORRECTED))
    (second,) = ingest_drop_folder(store, config)
    assert second.status == "accepted", second.summary("en")
    review = reviews(store)["x.docx"]  # the same row, now the corrected version's
    assert len(reviews(store)) == 1 and review.batch_id == second.batch_id and review.paragraphs == 5
    assert [p.get("law") for p in review.problems] == ["中华人民共和国担保法"]

    result = evaluate(store, rules)
    assert len(result.resolved) == 2 and result.still_open == 1
    assert set(findings(store)) == {"x.docx · 《中华人民共和国担保法》"}
    assert set(findings(store, "resolved")) == {"x.docx · 《中华人民共和国合同法》", "x.docx · 驻场人员数量"}
    still = findings(store)["x.docx · 《中华人民共和国担保法》"]
    assert "第 4 段" in still.summary and still.evidence["citations"][0]["paragraph"] == 4


def test_corrupt_and_unsupported_files_refused_with_their_reason_the_rest_kept(
    store: Store, config: Config
) -> None:
    drop = config.drop_dir / "contract"
    settle(write_docx(drop / "good.docx", CITES_AND_LACKS))
    good_bytes = (drop / "good.docx").read_bytes()
    (drop / "cut.docx").write_bytes(good_bytes[: len(good_bytes) // 2])
    settle(drop / "cut.docx")
    (drop / "scan.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    settle(drop / "scan.pdf")
    (drop / "gbk.txt").write_bytes("\n".join(CITES_AND_LACKS).encode("gb18030"))
    settle(drop / "gbk.txt")

    results = {r.path.name: r for r in ingest_drop_folder(store, config)}
    assert {n: r.status for n, r in results.items()} == {
        "good.docx": "accepted",
        "cut.docx": "rejected",
        "scan.pdf": "rejected",
        "gbk.txt": "accepted",
    }
    cut = results["cut.docx"]
    assert "不是有效的 .docx" in cut.reason and "另存为 .docx" in cut.reason
    assert cut.stored_path is not None and cut.stored_path.parent.parent.parent.name == "rejected"
    assert cut.report_path is not None and "不是有效的 .docx" in cut.report_path.read_text(
        encoding="utf-8-sig"
    )
    assert "另存为 .docx" in results["scan.pdf"].reason
    with store.session() as s:
        batch = s.get(EvidenceBatch, cut.batch_id)
        assert batch is not None and batch.status == "rejected" and "not a valid .docx" in batch.detail

    stored = reviews(store)
    assert set(stored) == {"good.docx", "gbk.txt"} and stored["gbk.txt"].encoding == "gb18030"
    evaluate(store, load_rules(config.rules_dir))
    assert {s.split(" · ")[0] for s in findings(store)} == {"good.docx", "gbk.txt"}


def test_contract_section_decides_the_clauses(store: Store, config: Config, tmp_path: Path) -> None:
    contract = config.rules_dir / "contract.toml"
    contract.write_text(
        contract.read_text(encoding="utf-8")
        + '\n[contract_text]\nrequired_clauses = [{ name = "验收条款", patterns = ["验收"] }]\n',
        encoding="utf-8",
    )
    path = write_docx(tmp_path / "c.docx", CORRECTED)
    assert ingest_file(store, config, "contract", path).status == "accepted"
    evaluate(store, load_rules(config.rules_dir))
    assert set(findings(store)) == {"c.docx · 《中华人民共和国担保法》", "c.docx · 验收条款"}


def test_the_example_contract_cites_the_contract_law_and_names_no_headcount(
    store: Store, config: Config
) -> None:
    shutil.copytree(REPO / "examples" / "contract", config.drop_dir / "contract")
    for path in config.drop_dir.rglob("*"):
        settle(path)
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "accepted", result.summary("en")
    evaluate(store, load_rules(config.rules_dir))
    found = findings(store)
    assert set(found) == {"运维服务合同.docx · 《中华人民共和国合同法》", "运维服务合同.docx · 驻场人员数量"}
    assert "第 4 段" in found["运维服务合同.docx · 《中华人民共和国合同法》"].summary
