"""Dry runs on real templates with planted mistakes: the right indicator, row and column."""

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from planstats import pipeline
from planstats.templates import HEADER_ROW
from tests.conftest import good_values

ENYANG = "511903"


def row_of(code: str) -> int:
    return HEADER_ROW + int(code[2:])  # 恩阳区's template lists ZB0001… in plan order


def issues(result: dict, severity: str = "error") -> list[dict]:
    return [i for i in result["issues"] if i["severity"] == severity]


def test_good_workbook_is_accepted_and_previews_all_values_as_new(ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "good.xlsx")
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted", result["issues"]
    assert (result["region_code"], result["year"]) == (ENYANG, 2023)
    n = len(good_values(ctx, ENYANG, 2023))
    assert n >= 37, "恩阳区 reports its own 37 indicators and those of the plans above it"
    assert result["summary"] == {"values": n, "new": n, "updated": 0, "unchanged": 0,
                                 "rejected": 0}
    assert not list((ctx.settings.data_dir).glob("gx")), "a dry run writes nothing"


def test_planted_errors_name_the_indicator_row_and_column(ctx, make_workbook, tmp_path):
    good = pipeline.validate_file(make_workbook(tmp_path / "ok.xlsx"), ctx)
    assert good["status"] == "accepted"
    path = make_workbook(tmp_path / "bad.xlsx", overrides={
        "ZB0001": (120, 12, 10),          # rate over 100, 分子 > 分母
        "ZB0005": ("九十", 9, 10),         # text in a number cell
        "ZB0017": (3.5, None, None),      # a count that is not whole
        "ZB0020": (90, None, 40),         # rate without 分子
    })
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    found = {(i["rule"], i["indicator_code"], i["row"], i["column"]) for i in issues(result)}
    assert ("value_range", "ZB0001", row_of("ZB0001"), "E") in found
    assert ("ratio_parts", "ZB0001", row_of("ZB0001"), "F") in found
    assert ("numeric", "ZB0005", row_of("ZB0005"), "E") in found
    assert ("integer", "ZB0017", row_of("ZB0017"), "E") in found
    assert ("ratio_parts", "ZB0020", row_of("ZB0020"), "F") in found
    assert all(i["sheet"] == "指标数据" for i in issues(result))
    numeric = next(i for i in issues(result) if i["rule"] == "numeric")
    assert numeric["value"] == "九十" and "应填写数字" in numeric["message"]
    assert not any(i["rule"] == "missing_value" and i["indicator_code"] == "ZB0005"
                   for i in result["issues"]), "a cell already in error is not also 缺报"


def test_missing_value_is_a_warning_listed_as_missing(ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "gap.xlsx", overrides={"ZB0031": (None, None, None)})
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted_with_warnings"
    (warning,) = issues(result, "warning")
    assert (warning["rule"], warning["indicator_code"], warning["row"]) == (
        "missing_value", "ZB0031", row_of("ZB0031"))
    assert "缺报" in warning["message"]


def test_outdated_template_version_is_refused_with_the_version_to_download(
        ctx, make_workbook, tmp_path):
    path = make_workbook(tmp_path / "old.xlsx")
    wb = load_workbook(path)
    wb["填报信息"]["B8"] = "T00000000"
    wb.save(path)
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    (err,) = issues(result)
    current = load_workbook(make_workbook(tmp_path / "new.xlsx"))["填报信息"]["B8"].value
    assert err["rule"] == "template_version" and current in err["message"]
    assert current.startswith("T") and current != "T00000000"
    assert (err["sheet"], err["row"], err["column"]) == ("填报信息", 8, "B")


def test_file_in_another_countys_folder_is_rejected_whole(ctx, make_workbook):
    path = make_workbook(ctx.settings.inbox / "511902" / "enyang.xlsx")
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    assert [i["rule"] for i in issues(result)] == ["ownership"]
    assert "恩阳区" in issues(result)[0]["message"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_any_accepted_encoding_reads_the_same(ctx, tmp_path, encoding):
    values = good_values(ctx, ENYANG, 2022)
    path = tmp_path / f"data-{encoding}.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["说明：恩阳区 2022 年度"])
        writer.writerow([])
        writer.writerow(["行政区划代码", "统计年度", "指标代码", "指标名称", "本年值", "分子",
                         "分母", "说明"])
        for code, (value, num, den) in values.items():
            shown = f"{value}%" if ctx.catalog.concepts[code].unit == "%" else value
            writer.writerow([ENYANG, 2022, code, "", shown, num, den, ""])
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted", result["issues"]
    assert result["summary"]["values"] == len(values)


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [("empty.xlsx", b"", "file_unreadable"),
     ("renamed.xlsx", b"<html><body>not excel</body></html>", "file_unreadable"),
     ("truncated.xlsx", b"PK\x03\x04\x14\x00\x00\x00", "file_unreadable"),
     ("random.csv", bytes(range(256)) * 4, "file_encoding"),
     ("notes.txt", b"hello", "file_type")],
)
def test_unreadable_files_get_a_chinese_message_not_a_traceback(ctx, tmp_path, name, content,
                                                                rule):
    path = tmp_path / name
    path.write_bytes(content)
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "rejected"
    assert [i["rule"] for i in result["issues"]] == [rule]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result["issues"][0]["message"])


def test_validate_cli_exit_codes_and_json(ctx, make_workbook, tmp_path, capsys):
    from planstats.cli import main

    good = make_workbook(tmp_path / "good.xlsx")
    assert main(["validate", str(good), "--json"]) == 0
    bad = Path(tmp_path / "bad.xlsx")
    bad.write_bytes(b"garbage")
    assert main(["validate", str(bad), "--json"]) == 1
    out = capsys.readouterr().out
    assert '"status": "accepted"' in out and '"status": "rejected"' in out


def test_messy_cells_and_traditional_names_read_as_meant(ctx, tmp_path):
    """Codes left blank are matched by name (traditional script too); numbers typed as text,
    with %, full-width digits, thousands separators and ≥ are read as the number meant."""
    values = good_values(ctx, ENYANG, 2024)
    path = tmp_path / "messy.csv"
    traditional = {"ZB0001": "小區（院落）黨組織（或聯合黨組織）覆蓋率",
                   "ZB0020": "城鄉社區綜合服務設施覆蓋率"}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "统计年度", "指标代码", "指标名称", "本年值", "分子",
                         "分母", "说明"])
        for code, (value, num, den) in values.items():
            shown = value
            if code == "ZB0017":
                shown = "１９"
            elif code == "ZB0015":
                shown = f"{value:,.2f}"
            elif code == "ZB0002":
                shown = f" {value} % "
            elif code == "ZB0025":
                shown = f"≥{value:g}"
            name = traditional.get(code, "")
            writer.writerow([ENYANG, 2024, "" if name else code, name, shown, num, den, ""])
    result = pipeline.validate_file(path, ctx)
    assert result["status"] == "accepted", result["issues"]
    from planstats.intake import read_submission

    rows = {r.indicator_code: r for r in read_submission(path).rows}
    assert rows["ZB0017"].value == 19 and rows["ZB0015"].value == round(values["ZB0015"][0], 2)
    assert rows["ZB0002"].value == values["ZB0002"][0]
