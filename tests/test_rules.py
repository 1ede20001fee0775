"""Validation reviewers trust: rules planted in real templates, traced to indicator and cell.

Consistency rules from the catalog, history checks against the warehouse, warnings explained in
说明, the annotated workbook sent back, and the line between a bad county file (reported) and a
broken pipeline (raised).
"""

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from planstats import pipeline
from planstats.annotate import ERROR_FILL, ISSUES_SHEET, WARNING_FILL
from planstats.templates import HEADER_ROW

ENYANG = "511903"
JINJIANG = "510104"  # a county of 成都市: asked 成都市's and 四川省's indicators


def row_of(path: Path, code: str) -> int:
    """The Excel row of an indicator in a filled template."""
    ws = load_workbook(path, read_only=True)["指标数据"]
    for number, row in enumerate(ws.iter_rows(min_row=HEADER_ROW + 1, max_col=1,
                                              values_only=True), start=HEADER_ROW + 1):
        if row[0] == code:
            return number
    raise KeyError(code)


def found(result: dict, severity: str | None = None) -> set[tuple]:
    return {(i["rule"], i["indicator_code"], i["row"], i["column"]) for i in result["issues"]
            if severity is None or i["severity"] == severity}


def ingest_one(ctx, make_workbook, name: str, year: int, **kwargs) -> dict:
    path = make_workbook(ctx.settings.inbox / ENYANG / name, year=year, **kwargs)
    (outcome,) = pipeline.ingest([str(path)], ctx=ctx)
    return outcome


def flag_of(ctx, code: str, year: int) -> str | None:
    with ctx.warehouse.engine.connect() as conn:
        return conn.execute(text(
            "select f.flag from fact_value f join submission s on s.submission_id = f.submission_id"
            " where s.is_current = 1 and f.indicator_code = :code and f.year = :year"),
            {"code": code, "year": year}).scalar_one()


# --------------------------------------------------------------------------- consistency rules

def test_completion_rate_above_answer_rate_is_an_error_on_the_completion_row(
        ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "enyang.xlsx", overrides={
        "ZB0033": (90, 90, 100), "ZB0034": (96, 96, 100)})
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    assert found(result, "error") == {("consistency", "ZB0034", row_of(path, "ZB0034"), "E")}
    (issue,) = result["issues"]
    assert issue["sheet"] == "指标数据" and issue["value"] == 96
    assert "民生诉求响应完成率" in issue["message"] and "民生诉求响应应答率" in issue["message"]
    assert "（96）" in issue["message"] and "（90）" in issue["message"]


def test_rounding_within_the_rules_tolerance_passes(ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "enyang.xlsx", overrides={
        "ZB0033": (90, 90, 100), "ZB0034": (90.4, 904, 1000)})
    assert pipeline.validate_file(path, ctx)["status"] == "accepted"


def test_part_exceeding_its_total_in_chengdu_plan_points_at_the_part(ctx, make_workbook,
                                                                     tmp_path):
    path = make_workbook(tmp_path / "jinjiang.xlsx", region=JINJIANG, overrides={
        "ZB2027": (40, None, None), "ZB2028": (55, None, None), "ZB2031": (41, None, None)})
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    assert found(result, "error") == {
        ("consistency", "ZB2028", row_of(path, "ZB2028"), "E"),  # 未来公园社区 ≤ 幸福美好公园社区
        ("consistency", "ZB2031", row_of(path, "ZB2031"), "E"),  # 主题公园社区 ≤ 幸福美好公园社区
    }


def test_a_warning_rule_accepts_with_a_warning(ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "jinjiang.xlsx", region=JINJIANG, overrides={
        "ZB2048": (80, 80, 100), "ZB2049": (90, 90, 100)})
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted_with_warnings"
    assert found(result) == {("consistency", "ZB2049", row_of(path, "ZB2049"), "E")}


# --------------------------------------------------------------------------- the other value rules

@pytest.mark.parametrize(
    ("overrides", "rule", "code", "column"),
    [({"ZB0002": (50, 137, 147)}, "ratio_consistency", "ZB0002", "E"),
     ({"ZB0016": (83, None, None)}, "weight_missing", "ZB0016", "G"),
     ({"ZB0003": (90, 9, 0)}, "ratio_parts", "ZB0003", "G")],
)
def test_each_value_rule_names_its_indicator_row_and_column(ctx, make_workbook, tmp_path,
                                                            overrides, rule, code, column):
    path = make_workbook(tmp_path / "bad.xlsx", overrides=overrides)
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    assert (rule, code, row_of(path, code), column) in found(result, "error")


def test_unknown_and_duplicate_indicator_rows(ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "rows.xlsx")
    wb = load_workbook(path)
    ws = wb["指标数据"]
    unknown, copied = row_of(path, "ZB0010"), row_of(path, "ZB0011")
    ws.cell(row=unknown, column=1, value="ZB9999")
    ws.cell(row=unknown, column=2, value="自创指标")
    extra = ws.max_row + 1
    for col in range(1, 9):
        ws.cell(row=extra, column=col, value=ws.cell(row=copied, column=col).value)
    wb.save(path)
    result = pipeline.validate_file(path, ctx)
    errors = found(result, "error")
    assert ("unknown_indicator", "ZB9999", unknown, "A") in errors
    assert {("duplicate_indicator", "ZB0011", copied, "A"),
            ("duplicate_indicator", "ZB0011", extra, "A")} <= errors
    assert ("missing_value", "ZB0010", None, None) in found(result, "warning")


# --------------------------------------------------------------------------- history

def test_jump_on_last_year_is_a_warning_and_explained_when_noted(ctx, make_workbook, tmp_path):
    assert ingest_one(ctx, make_workbook, "2022.xlsx", 2022,
                      overrides={"ZB0017": (10, None, None)})["status"] == "accepted"
    jump = {"ZB0017": (14, None, None)}  # +40% on 10: beyond the default 30%
    path = make_workbook(tmp_path / "2023.xlsx", year=2023, overrides=jump)
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted_with_warnings"
    assert found(result) == {("yoy_change", "ZB0017", row_of(path, "ZB0017"), "E")}
    (issue,) = result["issues"]
    assert "（10）" in issue["message"] and "+40.0%" in issue["message"]
    assert "±30%" in issue["message"] and "待核实" in issue["message"]

    quiet = make_workbook(tmp_path / "2023-quiet.xlsx", year=2023,
                          overrides={"ZB0017": (12, None, None)})
    assert pipeline.validate_file(quiet, ctx)["status"] == "accepted"

    outcome = ingest_one(ctx, make_workbook, "2023.xlsx", 2023, overrides=jump)
    assert outcome["status"] == "accepted_with_warnings"
    assert flag_of(ctx, "ZB0017", 2023) == "待核实"

    noted = ingest_one(ctx, make_workbook, "2023-noted.xlsx", 2023,
                       overrides={"ZB0017": (14.0, None, None)},
                       notes={"ZB0017": "新建小区集中验收"})
    (issue,) = noted["issues"]
    assert noted["status"] == "accepted_with_warnings" and issue["rule"] == "yoy_change"
    assert "已说明" in issue["message"] and "新建小区集中验收" in issue["message"]
    assert flag_of(ctx, "ZB0017", 2023) == "已说明"


def test_concept_threshold_overrides_the_default(ctx, make_workbook, tmp_path):
    ingest_one(ctx, make_workbook, "2022.xlsx", 2022, overrides={"ZB0031": (2, None, None)})
    fine = make_workbook(tmp_path / "fine.xlsx", year=2023, overrides={"ZB0031": (3, None, None)})
    assert pipeline.validate_file(fine, ctx)["status"] == "accepted", "+50% ≤ ZB0031's 100%"
    jump = make_workbook(tmp_path / "jump.xlsx", year=2023, overrides={"ZB0031": (5, None, None)})
    result = pipeline.validate_file(jump, ctx)
    assert found(result) == {("yoy_change", "ZB0031", row_of(jump, "ZB0031"), "E")}
    assert "±100%" in result["issues"][0]["message"]


def test_far_outside_the_countys_own_history_needs_three_prior_years(ctx, make_workbook,
                                                                     tmp_path):
    for year, value in ((2021, 0.10), (2022, 0.10)):
        ingest_one(ctx, make_workbook, f"{year}.xlsx", year,
                   overrides={"ZB0022": (value, None, None)})
    odd = {"ZB0022": (0.165, None, None)}  # 2021–2023: .10 .10 .13 → .11 ± 3 × .0173 ≈ .058～.162
    path = make_workbook(tmp_path / "2023-odd.xlsx", year=2023, overrides=odd)
    assert found(pipeline.validate_file(path, ctx)) == {
        ("yoy_change", "ZB0022", row_of(path, "ZB0022"), "E")}, "two prior years: no history rule"
    ingest_one(ctx, make_workbook, "2023.xlsx", 2023, overrides={"ZB0022": (0.13, None, None)})
    path = make_workbook(tmp_path / "2024.xlsx", year=2024, overrides=odd)  # +26.9% on .13
    result = pipeline.validate_file(path, ctx)
    assert found(result) == {("history_outlier", "ZB0022", row_of(path, "ZB0022"), "E")}
    assert "2021—2023年共3年" in result["issues"][0]["message"]
    assert "0.058～0.162" in result["issues"][0]["message"]


@pytest.mark.parametrize("chunk_values", [pipeline.CHUNK_VALUES, 1],
                         ids=["one-chunk", "a-chunk-per-file"])
def test_earlier_years_in_the_same_batch_count_as_history(ctx, make_workbook, monkeypatch,
                                                           chunk_values):
    """Checked together or loaded chunk by chunk (memory bound), the outcome is the same."""
    monkeypatch.setattr(pipeline, "CHUNK_VALUES", chunk_values)
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "a-2022.xlsx", year=2022, overrides={"ZB0017": (10, None, None)})
    make_workbook(folder / "b-2023.xlsx", year=2023, overrides={"ZB0017": (20, None, None)})
    make_workbook(folder / "c-2023.xlsx", year=2023, overrides={"ZB0017": (11, None, None)})
    outcomes = [(Path(o["file"]).name, o) for o in pipeline.ingest(ctx=ctx)]
    assert [name for name, _ in outcomes] == ["a-2022.xlsx", "b-2023.xlsx", "c-2023.xlsx"]
    a, b, c = (o for _, o in outcomes)
    assert a["status"] == "accepted"
    assert [i["rule"] for i in b["issues"]] == ["yoy_change"]
    assert c["status"] == "accepted" and c["summary"]["updated"] == 1, "compared with b"


# --------------------------------------------------------------------------- annotated workbook

def test_ingest_returns_the_countys_workbook_with_the_bad_cells_marked(ctx, make_workbook):
    ingest_one(ctx, make_workbook, "2022.xlsx", 2022, overrides={"ZB0017": (10, None, None)})
    folder = ctx.settings.inbox / ENYANG
    sent = make_workbook(folder / "2023-bad.xlsx", year=2023, overrides={
        "ZB0001": (120, 12, 10), "ZB0017": (20, None, None)})
    sent_bytes = sent.read_bytes()
    rate, count = row_of(sent, "ZB0001"), row_of(sent, "ZB0017")
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "rejected"
    stored = Path(outcome["stored_path"])
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(sent_bytes).digest(), \
        "the county's file is kept exactly as sent"
    marked = Path(outcome["annotated"])
    assert marked == stored.with_name(stored.name + ".批注.xlsx")
    receipts = sorted(p.name for p in (folder / pipeline.RECEIPTS).glob("2023-bad.*"))
    assert receipts == ["2023-bad.审核报告.html", "2023-bad.批注.xlsx"]

    wb = load_workbook(marked)
    assert wb.sheetnames[0] == ISSUES_SHEET and wb.active.title == ISSUES_SHEET
    ws = wb["指标数据"]
    red, yellow = ws[f"E{rate}"], ws[f"E{count}"]
    assert red.fill.fgColor.rgb.endswith(ERROR_FILL) and "0～100" in red.comment.text
    assert ws[f"F{rate}"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert yellow.fill.fgColor.rgb.endswith(WARNING_FILL) and "+100.0%" in yellow.comment.text
    listed = [row for row in wb[ISSUES_SHEET].iter_rows(min_row=5, values_only=True)]
    assert [(r[0], r[2], r[5]) for r in listed] == [
        ("错误", f"E{rate}", "ZB0001"), ("错误", f"F{rate}", "ZB0001"),
        ("提示", f"E{count}", "ZB0017")]
    assert wb[ISSUES_SHEET]["C5"].hyperlink.location == f"'指标数据'!E{rate}"


def test_the_county_can_fix_the_marked_copy_and_send_it_back(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "2023.xlsx", year=2023, overrides={"ZB0001": (120, 12, 10)})
    (outcome,) = pipeline.ingest(ctx=ctx)
    fixed = folder / "2023-改.xlsx"
    shutil.copy(outcome["annotated"], fixed)
    wb = load_workbook(fixed)
    row = row_of(fixed, "ZB0001")
    assert wb.sheetnames[0] == ISSUES_SHEET
    for col, value in zip("EFG", (100, 10, 10), strict=True):
        wb["指标数据"][f"{col}{row}"] = value
    wb.save(fixed)
    (again,) = pipeline.ingest(ctx=ctx)
    assert again["status"] == "accepted", again["issues"]
    assert again["annotated"] is None, "nothing to mark"


def test_a_csv_submission_gets_a_csv_of_its_problems(ctx):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    path = folder / "更正.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明"])
        writer.writerow([ENYANG, 2023, "ZB0033", 90, 90, 100, ""])
        writer.writerow([ENYANG, 2023, "ZB0034", 95, 95, 100, ""])
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "rejected"
    issues_csv = Path(outcome["annotated"])
    assert issues_csv.name.endswith("更正.csv.问题清单.csv")
    rows = list(csv.DictReader(issues_csv.open(encoding="utf-8-sig")))
    consistency = next(r for r in rows if r["规则"] == "consistency")
    assert (consistency["工作表"], consistency["单元格"], consistency["指标代码"]) == (
        "更正.csv", "D3", "ZB0034")
    assert (folder / pipeline.RECEIPTS / "更正.问题清单.csv").exists()


def test_an_unreadable_workbook_gets_the_csv_list(ctx):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    (folder / "坏.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "rejected"
    assert Path(outcome["annotated"]).name.endswith("坏.xlsx.问题清单.csv")


# --------------------------------------------------------------------------- pipeline faults

def test_bad_county_files_are_reported_never_raised(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "bad.xlsx", overrides={"ZB0001": ("很多", 1, 1)})
    make_workbook(ctx.settings.inbox / "511902" / "not-mine.xlsx")  # 恩阳区's data, 巴州区's folder
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    outcomes = pipeline.ingest(ctx=ctx)
    assert len(outcomes) == 4 and {o["status"] for o in outcomes} == {"rejected"}


def test_unusable_warehouse_fails_the_task(data_dir, make_workbook, monkeypatch):
    make_workbook(data_dir / "inbox" / ENYANG / "2023.xlsx")
    monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    broken = pipeline.context()
    with pytest.raises(OperationalError):
        pipeline.ingest(ctx=broken)
    assert (data_dir / "inbox" / ENYANG / "2023.xlsx").exists(), "left for the next run"


def test_missing_suite_fails_the_task_and_leaves_the_file(ctx, make_workbook, tmp_path,
                                                          monkeypatch):
    include = tmp_path / "include"
    shutil.copytree(ctx.settings.include_dir, include)
    (include / "expectations" / "values.json").unlink()
    path = make_workbook(ctx.settings.inbox / ENYANG / "2023.xlsx")
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(include))
    with pytest.raises(FileNotFoundError, match=r"values\.json"):
        pipeline.ingest(ctx=pipeline.context())
    assert path.exists(), "left in the inbox for the next run"
    with ctx.warehouse.engine.connect() as conn:
        assert conn.execute(text("select count(*) from submission")).scalar_one() == 0


def test_a_suite_that_cannot_run_fails_the_task_instead_of_passing_the_file(
        ctx, make_workbook, tmp_path, monkeypatch):
    include = tmp_path / "include"
    shutil.copytree(ctx.settings.include_dir, include)
    suite = include / "expectations" / "values.json"
    suite.write_text(suite.read_text(encoding="utf-8").replace(
        '"column_B": "error_ge"', '"column_B": "error_ge_typo"'), encoding="utf-8")
    path = make_workbook(ctx.settings.inbox / ENYANG / "2023.xlsx",
                         overrides={"ZB0001": (120, 12, 10)})
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(include))
    with pytest.raises(RuntimeError, match="error_ge_typo"):
        pipeline.ingest(ctx=pipeline.context())
    assert path.exists()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [("  operator: '<='\n  right: ZB0033", "  operator: '<'\n  right: ZB0033",
      "rule R01: field 'operator'"),
     ("  right: ZB0033", "  right: ZB2027", "rule R01: field 'right' names ZB2027"),
     ("  severity: error\n  tolerance: 0.5", "  severity: fatal\n  tolerance: 0.5",
      "rule R01: field 'severity'")],
)
def test_malformed_rule_is_refused_naming_plan_rule_and_field(tmp_path, old, new, expected):
    from planstats.catalog import CatalogError, load_catalog

    catalog = tmp_path / "catalog"
    shutil.copytree(Path(__file__).parent.parent / "include" / "catalog", catalog)
    plan = catalog / "plans" / "enyang-14th.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=f"enyang-14th.yaml, plan enyang-14th, {expected}"):
        load_catalog(catalog)


def test_yoy_threshold_must_be_a_positive_number(tmp_path):
    from planstats.catalog import CatalogError, load_catalog

    catalog = tmp_path / "catalog"
    shutil.copytree(Path(__file__).parent.parent / "include" / "catalog", catalog)
    concepts = catalog / "concepts" / "enyang.yaml"
    concepts.write_text(concepts.read_text(encoding="utf-8").replace(
        "yoy_threshold: 100", "yoy_threshold: -5"), encoding="utf-8")
    with pytest.raises(CatalogError, match="concept ZB0031: field 'yoy_threshold'"):
        load_catalog(catalog)
