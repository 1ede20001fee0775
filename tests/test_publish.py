import csv
import io
import json
import os
import resource
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from planstats import forked, pipeline, publish
from planstats.publish import _write_rows_json
from planstats.regions import load_regions
from planstats.rollup import StatRow
from planstats.sheets import row_height, safe_text
from tests.office import convert, office_profile  # noqa: F401  (fixture)

ENYANG = "511903"


def test_statistics_workbook_csv_and_json(ctx, make_workbook):
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025,
                  overrides={"ZB0031": (None, None, None)})
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    wb = load_workbook(paths["xlsx"])
    ws = wb.worksheets[0]
    assert "规划指标年度统计（2025年，期末评估）" in ws["A1"].value
    assert [c.value for c in ws[4]][:8] == ["序号", "类别", "指标", "单位", "目标值", "属性",
                                             "年度值", "完成情况"]
    assert ws.freeze_panes == "D5"
    statuses = [ws.cell(row=r, column=8).value for r in range(5, 5 + 37)]
    assert statuses[30] == "缺报" and set(statuses) <= {"达标", "未达标", "缺报"}
    assert Path(paths["csv"]).read_bytes().startswith(b"\xef\xbb\xbf")
    with open(paths["csv"], encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 38 and rows[0][0] == "行政区划代码"
    published = pipeline.statistics("enyang-14th", 2025, ctx)
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8")) == json.loads(
        json.dumps([r.to_dict() for r in published]))


def test_statistics_sheet_styles(ctx, make_workbook):
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025)
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    ws = load_workbook(paths["xlsx"]).worksheets[0]
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and _rgb(ws["A2"].font.color) == "595959"
    header = ws["E4"]
    assert header.font.b and _rgb(header.font.color) == "FFFFFF"
    assert _rgb(header.fill.fgColor) == "1F4E79" and header.fill.fill_type == "solid"
    assert header.alignment.horizontal == "center" and header.alignment.wrap_text
    assert header.border.top.style == "thin"
    name, value, rate = ws["C5"], ws["G5"], ws["I5"]
    assert name.alignment.wrap_text and not value.alignment.wrap_text
    assert value.alignment.vertical == "center" and value.border.left.style == "thin"
    assert _rgb(value.border.bottom.color) == "BFBFBF" and value.font.name == "Calibri"
    assert rate.number_format == "0.0%" and not ws["A1"].border.left.style
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert [r.formula for r in rules] == [['"达标"'], ['"未达标"'], ['"缺报"']]


def _rgb(colour: Any) -> str:
    """RRGGBB: the alpha byte means nothing to Excel (openpyxl writes 00, xlsxwriter FF)."""
    return colour.rgb[-6:]


def _widths(ws: Any) -> list[float]:
    """Column widths from A on; a run of equal columns may be stored as one."""
    widths = {c: d.width for d in ws.column_dimensions.values() if d.width
              for c in range(d.min, d.max + 1)}
    return [widths[c] for c in range(1, len(widths) + 1)]


def _heights(ws: Any) -> list[float]:
    """Row heights from row 5 on; a row without one has Excel's default, 15 points."""
    return [ws.row_dimensions[r].height or 15.0 for r in range(5, ws.max_row + 1)]


def test_statistics_workbook_as_readers_see_it(ctx, make_workbook):
    """Sheets in order, frozen headers, formats, the status fills, the chart, widths, row
    heights and print set-up of every sheet, read back as a reader's spreadsheet reads them."""
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025,
                  overrides={"ZB0031": (None, None, None)})
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    assert sorted(p.name for p in Path(paths["xlsx"]).parent.iterdir()
                  if p.suffix == ".part") == []  # written aside, renamed into place
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["恩阳区“十四五”", "约束性指标", "历年趋势", "报送情况", "数据质量",
                             "说明"]
    plan = ctx.catalog.plan("enyang-14th")
    region = wb.worksheets[0]
    assert region.max_row == 4 + len(plan.indicators)
    assert region.freeze_panes == "D5"
    assert {ws.freeze_panes for ws in wb.worksheets[1:]} == {"A5"}
    assert {region.cell(row=r, column=9).number_format
            for r in range(5, region.max_row + 1)} == {"0.0%"}
    assert _widths(region) == list(publish.STAT_WIDTHS)
    assert _heights(region) == [
        row_height([(region.cell(row=r, column=c).value, publish.STAT_WIDTHS[c - 1])
                    for c in (3, 4, 5)]) for r in range(5, region.max_row + 1)]
    assert max(_heights(region)) > 15  # some 单位/目标值 wrap
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$4:$4"

    def fills(ws: Any) -> list[tuple[str, str, str]]:
        return [(str(cf.sqref), r.formula[0], _rgb(r.dxf.fill.bgColor))
                for cf in ws.conditional_formatting for r in cf.rules if r.operator == "equal"]

    last = region.max_row
    assert fills(region) == [(f"H5:H{last}", '"达标"', "D9EAD3"),
                             (f"H5:H{last}", '"未达标"', "FFF2CC"),
                             (f"H5:H{last}", '"缺报"', "F4CCCC")]
    assert region["H35"].value == "缺报"  # ZB0031, not reported

    binding = wb["约束性指标"]
    n = sum(i.attribute == "约束性" for i in plan.indicators)
    assert binding.max_row == 4 + n and [c.value for c in binding[4]][4:] == ["完成情况", "完成率"]
    assert [f[0] for f in fills(binding)] == [f"E5:E{4 + n}"] * 3
    assert {binding.cell(row=r, column=6).number_format for r in range(5, 5 + n)} == {"0.0%"}
    (chart,) = binding._charts
    assert (chart.tagname, chart.type, chart.legend) == ("barChart", "bar", None)
    assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == (0, 1.2)
    assert chart.y_axis.numFmt.formatCode == "0%"
    assert (chart.anchor._from.col, chart.anchor._from.row) == (7, 3)  # H4
    (series,) = chart.series
    assert series.val.numRef.f.endswith(f"$F$5:$F${4 + n}")
    assert series.cat.numRef.f.endswith(f"$A$5:$A${4 + n}")
    text = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "Σ分子÷Σ分母" in text


def _row(region: str, **fields: Any) -> StatRow:
    values = {"plan_code": "p", "region_code": region, "indicator_code": "ZB0001", "year": 2025,
              "value": 1 / 3, "numerator": None, "denominator": None, "target": 90.0,
              "comparator": ">=", "status": "未达标", "completion_rate": 0.123456789,
              "reporting_regions": 1, "expected_regions": 2, "direct": True,
              "expected_value": None, "on_track": False}
    return StatRow(**{**values, **fields})


def test_statistics_json_one_row_a_line(tmp_path):
    rows = [_row("511900", missing_regions=("511923", "5119\"24")), _row("511902"),
            _row("511903", value=None, on_track=None, status="缺报 \n=x", expected_value=2.5),
            _row("511921", missing_regions=("511921",))]
    path = tmp_path / "rows.json"
    for case in (rows, rows[1:3], []):
        _write_rows_json(case, path)
        text = path.read_text(encoding="utf-8")
        assert json.loads(text) == json.loads(json.dumps([r.to_dict() for r in case]))
        assert len(text.splitlines()) == (len(case) + 2 if case else 1)
    assert json.loads(path.read_text(encoding="utf-8")) == [] and [*tmp_path.iterdir()] == [path]


def test_cells_that_spreadsheets_would_run_are_neutralised():
    assert safe_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("-1+2") == "'-1+2"
    assert safe_text(-5) == -5
    assert safe_text("达标") == "达标"


def _plan_of(ctx: Any, indicators: int) -> Any:
    """enyang-14th with ``indicators`` indicators (its own repeated, each under a code of its
    own): one long table per region."""
    base = ctx.catalog.plan("enyang-14th")
    own = base.indicators
    return replace(base, indicators=tuple(
        replace(own[i % len(own)], seq=i + 1,
                concept=replace(own[i % len(own)].concept, code=f"ZX{i:05d}"))
        for i in range(indicators)))


def test_a_large_table_is_written_in_bounded_memory(ctx, tmp_path):
    """10,000 lines on 10 sheets (1,000 indicators over 恩阳区 and 9 of its communities): the
    workbook is streamed, so Python's peak while writing it, CSV and JSON included, is ≈ 4 MB
    and hardly grows with the table (5,000 lines: 3.2 MB, 15,000: 3.8 MB); openpyxl held every
    cell until it saved, ≈ 5 kB a line: 24 MB for 5,000 lines, ≈ 48 MB here. (Traced, writing
    takes ≈ 4× as long: hence not 60,000 lines.)"""
    plan = _plan_of(ctx, 1000)
    regions = load_regions(ctx.settings.include_dir / "regions")  # not the shared, cached tree
    codes = [plan.region_code, *(regions.with_unit(f"{plan.region_code}001{k:03d}").code
                                 for k in range(1, 10))]
    statuses = ("达标", "未达标", "缺报")
    rows = [_row(region, plan_code=plan.code, indicator_code=ind.code, status=statuses[i % 3],
                 value=None if i % 3 == 2 else i / 7, completion_rate=i % 120 / 100)
            for region in codes for i, ind in enumerate(plan.indicators)]
    assert len(rows) == 10_000
    tracemalloc.start()
    try:
        paths = publish.write_statistics(plan, 2025, rows, regions, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MB"
    wb = load_workbook(paths["xlsx"], read_only=True)
    assert wb.sheetnames[10:] == ["约束性指标", "说明"] and wb.sheetnames[1] == codes[1]
    last = list(wb.worksheets[9].iter_rows(min_row=1004, values_only=True))
    assert len(last) == 1 and last[0][0] == 1000 and last[0][7] == "达标"
    assert not list(tmp_path.glob("*.part"))


def test_libreoffice_reads_the_statistics_workbook(ctx, make_workbook, tmp_path,
                                                   office_profile):  # noqa: F811
    """Strings are inline in a streamed workbook (no shared-string table): LibreOffice opens it
    with every sheet, value, status fill and the chart, and saves it again. (A headless re-save
    drops frozen panes, the old workbooks' too.)"""
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025)
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    (copy,) = convert([Path(paths["xlsx"])], tmp_path / "lo", office_profile)
    ours, theirs = load_workbook(paths["xlsx"]), load_workbook(copy)
    assert theirs.sheetnames == ours.sheetnames
    for mine, read in zip(ours.worksheets, theirs.worksheets, strict=True):
        assert [*read.iter_rows(values_only=True)] == [*mine.iter_rows(values_only=True)]
    region = theirs.worksheets[0]
    assert [r.formula for cf in region.conditional_formatting for r in cf.rules] == [
        ['"达标"'], ['"未达标"'], ['"缺报"']]
    assert region["I5"].number_format == "0.0%" and region["E4"].font.b
    assert len(theirs["约束性指标"]._charts) == 1


def test_a_plan_with_hundreds_of_sheets_keeps_no_file_open_per_sheet(ctx, tmp_path,
                                                                      monkeypatch):
    """Each streamed sheet has a temporary file; it is closed once the sheet's rows are written,
    so 400 sheets (a county's communities, each its own sheet) pass under a limit of 200 more
    open files (Linux's default limit is 1,024). Its 802 lines would be built in memory:
    streaming is forced."""
    monkeypatch.setattr(publish, "STREAM_LINES", 0)
    plan = _plan_of(ctx, 2)
    regions = load_regions(ctx.settings.include_dir / "regions")
    codes = [plan.region_code, *(regions.with_unit(f"{plan.region_code}{t:03d}{k:03d}").code
                                 for t in range(1, 21) for k in range(1, 21))]
    rows = [_row(region, plan_code=plan.code, indicator_code=ind.code)
            for region in codes for ind in plan.indicators]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 200, hard))
    try:
        paths = publish.write_statistics(plan, 2025, rows, regions, tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    names = load_workbook(paths["xlsx"], read_only=True).sheetnames
    assert len(names) == 401 + 2 and names[-2:] == ["约束性指标", "说明"]


def test_a_workbook_built_in_memory_reads_as_the_streamed_one(ctx, tmp_path, monkeypatch):
    """Small workbooks are built in memory, large ones streamed (STREAM_LINES): a reader cannot
    tell which — same sheets, values, number formats, fills, widths, heights and panes."""
    plan = _plan_of(ctx, 30)
    regions = load_regions(ctx.settings.include_dir / "regions")
    codes = [plan.region_code, *(regions.with_unit(f"{plan.region_code}001{k:03d}").code
                                 for k in range(1, 4))]
    rows = [_row(region, plan_code=plan.code, indicator_code=ind.code,
                 status=("达标", "未达标", "缺报")[i % 3], value=None if i % 3 == 2 else i / 7,
                 completion_rate=i % 120 / 100)
            for region in codes for i, ind in enumerate(plan.indicators)]
    books = {}
    for name, limit in (("memory", publish.STREAM_LINES), ("streamed", 0)):
        monkeypatch.setattr(publish, "STREAM_LINES", limit)
        books[name] = load_workbook(publish.write_statistics(plan, 2025, rows, regions,
                                                             tmp_path / name)["xlsx"])
    memory, streamed = books["memory"], books["streamed"]
    assert memory.sheetnames == streamed.sheetnames and len(memory.sheetnames) == 6
    for a, b in zip(memory.worksheets, streamed.worksheets, strict=True):
        cells = [[(c.value, c.number_format, c.fill.fgColor.rgb, c.font.b) for c in row]
                 for row in a.iter_rows()]
        assert cells == [[(c.value, c.number_format, c.fill.fgColor.rgb, c.font.b) for c in row]
                         for row in b.iter_rows()]
        assert a.freeze_panes == b.freeze_panes
        assert ({k: d.width for k, d in a.column_dimensions.items()}
                == {k: d.width for k, d in b.column_dimensions.items()})
        assert ({k: d.height for k, d in a.row_dimensions.items()}
                == {k: d.height for k, d in b.row_dimensions.items()})
        assert len(a.conditional_formatting) == len(b.conditional_formatting)
    assert memory.worksheets[0]["A5"].value == 1 and len(memory["约束性指标"]._charts) == 1


def _csv_row_by_row(plan: Any, rows: list[StatRow], regions: Any) -> bytes:
    """The statistics CSV as csv.writer wrote it row by row before planstats.celltext."""
    by_region: dict[str, dict[str, StatRow]] = {}
    for r in rows:
        by_region.setdefault(r.region_code, {})[r.indicator_code] = r
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["行政区划代码", "行政区划", *publish.STAT_HEADERS])
    for region, by_code in by_region.items():
        writer.writerows([region, regions.name(region), *(safe_text(v) for v in line)]
                         for line in publish._table(plan, by_code))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _json_row_by_row(rows: list[StatRow]) -> bytes:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    lines = ",\n".join(encode(r.to_dict()) for r in rows)
    return (("[\n" + lines + "\n]\n") if rows else "[]\n").encode("utf-8")


def test_csv_and_json_are_what_the_writers_write_row_by_row(ctx, tmp_path, monkeypatch):
    """The lines are put together from texts made a column at a time, cached or in C: byte
    for byte what csv.writer and json wrote of each row, whatever the values — repeated or
    not, floats and ints mixed in a column, -0.0, NaN and infinities, tiny and huge numbers,
    text to quote or neutralise, rows out of order, repeated, of regions outside the tree."""
    monkeypatch.setattr(publish, "BATCH", 7)  # many batches: caches filled, then full
    plan = _plan_of(ctx, 12)
    regions = load_regions(ctx.settings.include_dir / "regions")
    codes = [plan.region_code, *(regions.with_unit(f"{plan.region_code}001{k:03d}").code
                                 for k in range(1, 6)), "999999"]
    floats = [1 / 3, 2.5, 0.0, -0.0, 1e-05, 1.23456789e-07, 123456789012.5, 1e300, 722747.0,
              48.601789145, float("nan"), float("inf"), float("-inf"), None]
    statuses = ["达标", "未达标", "缺报", 'a, "b"', "=x", "-1", "line\nbreak", ""]
    inds = list(plan.indicators)

    def rows_of(value_of: Any) -> list[StatRow]:
        rows = [_row(region, plan_code=plan.code, indicator_code=ind.code,
                     value=value_of(i, j), numerator=floats[(i + j) % len(floats)],
                     denominator=(0.0, -0.0, 1.0)[(i + j) % 3], completion_rate=value_of(j, i),
                     target=90.0 if i % 2 else 90,
                     expected_value=floats[j % len(floats)], status=statuses[(i * j) % 8],
                     reporting_regions=i % 4, expected_regions=3, on_track=(None, True,
                                                                            False)[j % 3],
                     missing_regions=("511923", f"5119{j}") if j % 5 == 0 else ())
                for i, region in enumerate(codes) for j, ind in enumerate(inds)]
        return rows[::-1][:40] + rows[40:] + rows[3:9]  # out of order, some twice

    cases = {
        "floats": lambda i, j: floats[(i * 7 + j) % len(floats)],
        "distinct": lambda i, j: (i * 100 + j) / 7,
        "ints among floats": lambda i, j: i * j if j % 4 == 0 else (i + j) / 3,
        "one int": lambda i, j: 5 if (i, j) == (3, 3) else 0.25,
        "bool": lambda i, j: bool(j % 2),
    }
    for name, value_of in cases.items():
        rows = rows_of(value_of)
        paths = publish.write_statistics(plan, 2025, rows, regions, tmp_path / name)
        assert Path(paths["csv"]).read_bytes() == _csv_row_by_row(plan, rows, regions), name
        assert Path(paths["json"]).read_bytes() == _json_row_by_row(rows), name
    mixed = rows_of(cases["floats"])
    mixed[5] = replace(mixed[5], reporting_regions=2.0, status=None, unit=7)
    paths = publish.write_statistics(plan, 2025, mixed, regions, tmp_path / "mixed")
    assert Path(paths["csv"]).read_bytes() == _csv_row_by_row(plan, mixed, regions)
    assert Path(paths["json"]).read_bytes() == _json_row_by_row(mixed)


def test_a_big_tables_json_is_written_by_a_forked_child_or_again_here(ctx, tmp_path,
                                                                      monkeypatch):
    """From fork_rows rows a child writes the JSON beside the workbook and CSV; if it fails,
    the parent writes it itself, so the file is there and right either way."""
    plan = _plan_of(ctx, 3)
    regions = load_regions(ctx.settings.include_dir / "regions")
    rows = [_row(plan.region_code, plan_code=plan.code, indicator_code=ind.code, value=k / 3)
            for k, ind in enumerate(plan.indicators)]
    joined: list[bool] = []
    collect = forked._collect

    def collected(stream: Any, pid: int) -> object:
        result = collect(stream, pid)
        joined.append(result is not forked._FAILED)
        return result

    monkeypatch.setattr(forked, "_collect", collected)
    paths = publish.write_statistics(plan, 2025, rows, regions, tmp_path / "forked",
                                     fork_rows=len(rows))
    assert joined == [True] and Path(paths["json"]).read_bytes() == _json_row_by_row(rows)

    parent, write = os.getpid(), publish._write_rows_json

    def fails_in_the_child(*args: Any) -> None:
        if os.getpid() != parent:
            raise OSError("disk full")
        write(*args)

    monkeypatch.setattr(publish, "_write_rows_json", fails_in_the_child)
    paths = publish.write_statistics(plan, 2025, rows, regions, tmp_path / "again",
                                     fork_rows=len(rows))
    assert joined == [True, False] and Path(paths["json"]).read_bytes() == _json_row_by_row(rows)
    assert not list((tmp_path / "again").glob("*.part"))


def test_published_files_of_a_warehouse_table_are_its_rows_written_row_by_row(ctx,
                                                                               make_workbook):
    """rollup.read_table's tuples give the files its StatRows (rollup.read) would give."""
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025,
                  overrides={"ZB0031": (None, None, None)})
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    plan = ctx.catalog.plan("enyang-14th")
    rows = pipeline.statistics("enyang-14th", 2025, ctx)
    assert Path(paths["csv"]).read_bytes() == _csv_row_by_row(plan, rows, ctx.regions)
    assert Path(paths["json"]).read_bytes() == _json_row_by_row(rows)
