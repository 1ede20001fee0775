"""What people read: submission reports, the reviewer index, and the statistics workbook."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import cache
from itertools import islice, repeat
from operator import add, lt, mul
from pathlib import Path
from typing import Any

from planstats import celltext, clock, forked
from planstats.catalog import Catalog, Indicator, Plan
from planstats.quality import METHOD_LABELS, QualityRow
from planstats.regions import RegionTree
from planstats.review import FOLLOW_UP_LABELS
from planstats.review import LABELS as REVIEW_LABELS
from planstats.rollup import (
    _DICT_FIELDS,
    _ROUNDED,
    BASIS_LABELS,
    BASIS_SUFFIXES,
    Completeness,
    StatRow,
    StatTable,
    no_gc,
)
from planstats.sheets import fit_to_page_width, row_height, safe_text
from planstats.validate import Checked, sorted_issues

STATUS_LABELS = {"accepted": "通过", "accepted_with_warnings": "通过（有提示）", "rejected": "退回"}
ADVICE = {
    "accepted": "数据已接收入库，无需处理。",
    "accepted_with_warnings": "数据已接收入库。带“提示”的数值标为“待核实”：请核对，"
                              "确认无误的在“说明”列写明原因后重新提交。",
    "rejected": "文件未入库。请按问题清单逐项修改后重新放入共享文件夹；本次提交的数据均未生效。",
}
# A pre-check (预审) is never loaded, whatever it finds.
PRECHECK_LABELS = {"accepted": "预审通过", "accepted_with_warnings": "预审通过（有提示）",
                   "rejected": "预审未通过"}
PRECHECK_ADVICE = {
    "accepted": "这是预审结果，数据没有入库。正式报送时请把文件放入本县文件夹"
                "（不是“预审”文件夹）。",
    "accepted_with_warnings": "这是预审结果，数据没有入库。带“提示”的数值请核对，确认无误的在"
                              "“说明”列写明原因；正式报送时请把文件放入本县文件夹"
                              "（不是“预审”文件夹）。",
    "rejected": "这是预审结果，数据没有入库。正式报送会被退回：请按问题清单逐项修改，"
                "可再次放入“预审”文件夹检查，通过后放入本县文件夹正式报送。",
}


def _env():
    from planstats.settings import Settings

    return _environment(Settings.from_env().include_dir / "templates")


@cache
def _environment(templates: Path):
    """One Jinja environment per templates folder: templates compile once, not per report."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(templates),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["beijing"] = clock.beijing
    return env


def write_submission_report(checked: Checked, regions: RegionTree, catalog: Catalog,
                            html_path: Path, processed_at: datetime | str,
                            precheck: bool = False,
                            follow_ups: list[dict[str, Any]] | None = None) -> Path:
    """The county's receipt: the checks' outcome (``precheck`` for a 预审 file, which is never
    loaded), and the reviewers' 待核实 marks on its data (still open, or answered by this file)."""
    sub = checked.submission
    labels, advice = (PRECHECK_LABELS, PRECHECK_ADVICE) if precheck else (STATUS_LABELS, ADVICE)
    issues = []
    for issue in sorted_issues(checked.issues):
        item = issue.to_dict()
        concept = catalog.concepts.get(issue.indicator_code or "")
        item["indicator_name"] = concept.name if concept else ""
        issues.append(item)
    context = {
        "region_name": regions.name(sub.region_code or sub.folder),
        "year": sub.year, "file_name": sub.path.name, "received_at": sub.received_at,
        "processed_at": processed_at, "status": checked.status,
        "status_label": labels[checked.status], "advice": advice[checked.status],
        "report_name": "预审报告" if precheck else "审核报告",
        "summary": checked.summary, "issues": issues,
        "errors": sum(i["severity"] == "error" for i in issues),
        "warnings": sum(i["severity"] == "warning" for i in issues),
        "follow_ups": follow_ups or [], "follow_up_labels": FOLLOW_UP_LABELS,
    }
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(_env().get_template("submission_report.html.j2").render(**context),
                         encoding="utf-8")
    html_path.with_suffix(".json").write_text(
        json.dumps(checked.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return html_path


def precheck_receipt(checked: Checked, file_name: str, processed_at: datetime | str) -> str:
    """The plain-text receipt of a pre-check, for the county's 回执 folder."""
    errors = sum(i.severity == "error" for i in checked.issues)
    warnings = len(checked.issues) - errors
    return (f"预审回执\n\n文件：{file_name}\n处理时间：{clock.beijing(processed_at)}\n"
            f"结果：{PRECHECK_LABELS[checked.status]}（错误 {errors} 个，提示 {warnings} 个）\n\n"
            f"{PRECHECK_ADVICE[checked.status]}\n\n详细问题见同名的“预审报告.html”"
            f"{'和“预审.批注.xlsx”' if checked.issues else ''}。原文件已由系统存档，没有删除。\n")


def _href(target: str | Path | None, page: Path) -> str | None:
    """A link from ``page`` to ``target`` when the target exists."""
    if not target or not Path(target).exists():
        return None
    return os.path.relpath(target, page.parent)


def _render(template: str, page: Path, **context: Any) -> Path:
    html = _env().get_template(template).render(
        review_labels=REVIEW_LABELS, generated_at=clock.now(),
        **context)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(html, encoding="utf-8")
    return page


def write_review_index(year: int, rows: list[dict[str, Any]], path: Path,
                       data_docs: Path | None) -> Path:
    for row in rows:
        row["report_href"] = _href(row.get("report_path"), path)
    counts = [(STATUS_LABELS[s], sum(r["status"] == s for r in rows)) for s in STATUS_LABELS]
    return _render("review_index.html.j2", path, year=year, rows=rows, counts=counts,
                   labels=STATUS_LABELS, data_docs=_href(data_docs, path))


STAT_HEADERS = ("序号", "类别", "指标", "单位", "目标值", "属性", "年度值", "完成情况", "完成率",
                "序时进度值", "报送地区", "应报地区", "指标代码")
STAT_WIDTHS = (6, 12, 46, 8, 10, 8, 10, 10, 9, 11, 9, 9, 10)
STATUS_FILLS = {"达标": "D9EAD3", "未达标": "FFF2CC", "缺报": "F4CCCC"}
METHODS = (
    ("统计口径", "每个指标按所属规划的目标值、单位和属性统计；本年值取各县（市、区）当前有效"
               "（最近一次通过审核）的报送，审核基准为“全部已接收数据”或“仅已审核通过数据”，"
               "见标题下方说明。"),
    ("汇总方法", "上级地区的值：本级直接报送的取报送值；否则由下级汇总——总量类指标求和；"
               "比率类指标按Σ分子÷Σ分母×倍数计算，不是各地百分比的平均；"
               "满意度类指标按受访人数加权平均；“仅本级”指标不汇总。"
               "某县已报送时，其下属社区的数据不再重复计入。"),
    ("单位", "单位、目标值与属性均按各规划原文。数据按指标概念统一存储，各规划单位不同的"
           "（如眉山市“全市志愿者注册率”以%计、恩阳区“每万人中注册志愿者数量”以人/万人计）"
           "按指标目录声明的换算系数换算后与本规划目标比较；无法换算的表述（如“≥1个”每街道）"
           "按目录注明的口径考核，单位栏注明年度值的单位。"),
    ("完成情况", "按目标的比较方式判断：“≥”类指标本年值不低于目标为达标，“≤”类不高于目标为达标；"
               "无数据为缺报。"),
    ("完成率", "“≥”类：本年值÷目标值；“≤”类：目标值÷本年值（越低越好，低于目标时大于100%）。"),
    ("序时进度", "规划给出基期值的指标，按基期值到目标年目标值的直线计算当年应达到的序时进度值，"
               "据此在期中判断进度是否滞后。"),
    ("报送情况", "应报地区为规划范围内的县级单位；按时指首次报送时间不晚于规划规定的截止日"
               "（默认次年1月31日，北京时间）。"),
    ("数据质量", "“数据质量”表列出明显偏离同类或本县往年的数值，供审核参考，不退回、不影响统计："
               "与同市（州）各县、与全省各县比较用修正Z值 0.6745×(本年值−中位数)÷中位数绝对离差"
               "（过半数县数值相同时用 1.253314×平均绝对离差代替），绝对值超过阈值（默认 3.5）"
               "且同组报送县数不少于下限（默认 5 个）时列出；与本县往年比较，超出往年均值±3倍标准差"
               "（至少 3 个往年）时列出。"),
    ("数据来源", "各县（市、区）报送的规划指标年度统计表；"
               "指标目录取自各规划文本（见 planstats catalog）。"),
)


def _by_region(rows: list[StatRow]) -> dict[str, dict[str, StatRow]]:
    """region → indicator code → row, regions in order of first appearance; one pass."""
    out: dict[str, dict[str, StatRow]] = {}
    for r in rows:
        out.setdefault(r.region_code, {})[r.indicator_code] = r
    return out


def _table(plan: Plan, by_code: dict[str, StatRow]) -> list[list[Any]]:
    """One region's lines of the statistics table, in the plan's order."""
    return [_table_line(ind, r) for ind in plan.indicators
            if (r := by_code.get(ind.code)) is not None]


def _table_line(ind: Indicator, r: StatRow | None) -> list[Any]:
    """An indicator's line of a region's table; without a row, its cells of the plan's only."""
    unit = ind.unit if ind.unit == ind.stat_unit else f"{ind.unit}（年度值{ind.stat_unit}）"
    if r is None:
        return [ind.seq, ind.category, ind.name, unit, ind.target_label(), ind.attribute,
                None, None, None, None, None, None, ind.code]
    return [ind.seq, ind.category, ind.name, unit, ind.target_label(),
            ind.attribute, None if r.value is None else round(r.value, 4), r.status,
            None if r.completion_rate is None else round(r.completion_rate, 4),
            None if r.expected_value is None else round(r.expected_value, 4),
            r.reporting_regions, r.expected_regions, ind.code]


# A big statistics workbook is streamed (xlsxwriter, constant-memory mode): each row goes to
# its sheet's temporary file as it is written, strings inline, so memory hardly grows with the
# tables; small ones are built in memory (STREAM_LINES). openpyxl held an object per cell until
# ``Workbook.save``: ≈ 5 kB a table line, 1.1 GB for 220,000 lines; streamed, ≈ 0.2 kB a row
# taller than one line (xlsxwriter's record of its height) (docs/publication-at-scale.md).
_GRID = {"border": 1, "border_color": "#BFBFBF"}  # thin, light grey, all four sides
CELL_FORMATS: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14},
    "note": {"font_color": "#595959"},
    "header": {"bold": True, "font_color": "#FFFFFF", "pattern": 1, "bg_color": "#1F4E79",
               "align": "center", "valign": "vcenter", "text_wrap": True, **_GRID},
    "body": {"valign": "vcenter", **_GRID},
    "wrap": {"valign": "vcenter", "text_wrap": True, **_GRID},
}
# text stays text: no formula, link or number made of a string (xlsxwriter's defaults would)
WORKBOOK_OPTIONS = {"strings_to_formulas": False,
                    "strings_to_urls": False, "strings_to_numbers": False,
                    "nan_inf_to_errors": True}
PX_PER_CM = 96 / 2.54
ONE_LINE = row_height([])  # points: Excel's default row height


# Region tables longer than this in all are streamed through a temporary file per sheet
# (constant memory); shorter ones are built in memory (≈ 5 kB a line), which spares making,
# reading back and deleting a file per sheet and per XML part: 190 files and ≈ 0.25 s of 1.1 s
# for the province's four plans.
STREAM_LINES = 2_000


class _Book:
    """The statistics workbook being written: its cell formats made once, its sheet names.

    ``tmpdir`` None: built in memory; else streamed, each sheet's rows through a file there.
    """

    def __init__(self, path: Path, tmpdir: str | None) -> None:
        import xlsxwriter

        mode = {"in_memory": True} if tmpdir is None else {"constant_memory": True,
                                                           "tmpdir": tmpdir}
        self.streamed = tmpdir is not None
        self.wb = xlsxwriter.Workbook(str(path), {**WORKBOOK_OPTIONS, **mode})
        self._formats: dict[tuple[str, str | None], Any] = {}
        self._names: set[str] = set()

    def format(self, kind: str, num_format: str | None = None) -> Any:
        key = (kind, num_format)
        if key not in self._formats:
            extra = {"num_format": num_format} if num_format else {}
            self._formats[key] = self.wb.add_format({**CELL_FORMATS[kind], **extra})
        return self._formats[key]

    def fill(self, colour: str) -> Any:
        """The fill of a conditional format."""
        key = ("fill", colour)
        if key not in self._formats:
            self._formats[key] = self.wb.add_format({"bg_color": f"#{colour}"})
        return self._formats[key]

    def sheet_name(self, title: str) -> str:
        """At most 31 characters; a name already taken (Excel ignores case) gets a number."""
        name, n = title[:31], 0
        while name.lower() in self._names:
            n += 1
            name = title[:31 - len(str(n))] + str(n)
        self._names.add(name.lower())
        return name


def _write(ws: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    value = safe_text(value)
    if value is None:
        ws.write_blank(row, col, None, fmt)  # empty, but in the grid
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _sheet(book: _Book, title: str, heading: str, note: str, headers: list[str],
           lines: list[list[Any]], widths: list[float], wrap: int | tuple[int, ...] = (),
           number_formats: dict[int, str] | None = None, status_column: int | None = None,
           freeze: str = "A5") -> Any:
    """A sheet in the shape of a statistical annual table: title, 口径 line, frozen header.

    Written top to bottom in one pass (constant memory: a row cannot be revisited).
    ``wrap``: the column(s), 1-based, whose text wraps; rows grow to fit them.
    ``number_formats``: 1-based column → Excel number format of its cells.
    ``status_column``: 1-based column of 完成情况, coloured by STATUS_FILLS.
    """
    from xlsxwriter.utility import xl_col_to_name

    ws = book.wb.add_worksheet(book.sheet_name(title))
    ws.write_string(0, 0, heading, book.format("title"))
    ws.write_string(1, 0, note, book.format("note"))
    header = book.format("header")
    for col, text in enumerate(headers):
        ws.write_string(3, col, text, header)
    height = row_height(list(zip(headers, widths, strict=True)))
    if height != ONE_LINE:  # a header longer than its column wraps: the row shows it whole
        ws.set_row(3, height)
    wrapped = (wrap,) if isinstance(wrap, int) else wrap
    formats = [book.format("wrap" if c in wrapped else "body", (number_formats or {}).get(c))
               for c in range(1, len(headers) + 1)]
    width = len(formats)
    for row, line in enumerate(lines, start=4):
        if wrapped:
            height = row_height([(line[c - 1], widths[c - 1]) for c in wrapped])
            if height != ONE_LINE:  # the default already; xlsxwriter keeps each set_row
                ws.set_row(row, height)
        for col in range(width):
            _write(ws, row, col, line[col] if col < len(line) else None, formats[col])
    for col, chars in enumerate(widths):
        # the width as stored in the file (openpyxl's); set_column would add Excel's 5 px padding
        ws.set_column_pixels(col, col, round(chars * 7))
    ws.freeze_panes(freeze)
    fit_to_page_width(ws, title_rows="4:4")
    if status_column is not None:
        column, last = xl_col_to_name(status_column - 1), max(4 + len(lines), 5)
        for status, colour in STATUS_FILLS.items():
            ws.conditional_format(f"{column}5:{column}{last}", {
                "type": "cell", "criteria": "equal to", "value": f'"{status}"',
                "format": book.fill(colour)})
    if book.streamed:
        # Its rows are all written: close the sheet's temporary file until the workbook is
        # packed (as Workbook.close does for every sheet), so a plan with a thousand sheets
        # holds no thousand open files.
        ws._opt_close()
    return ws


def _binding_chart(book: _Book, ws: Any, lines: int) -> None:
    """约束性指标完成率 as horizontal bars, 0–120 %, beside the table."""
    chart = book.wb.add_chart({"type": "bar"})
    name = ws.get_name()
    chart.add_series({"name": [name, 3, 5], "categories": [name, 4, 0, 3 + lines, 0],
                      "values": [name, 4, 5, 3 + lines, 5]})
    chart.set_title({"name": "约束性指标完成率"})
    chart.set_x_axis({"num_format": "0%", "min": 0, "max": 1.2})  # a bar chart's value axis
    chart.set_legend({"none": True})
    chart.set_size({"width": round(16 * PX_PER_CM),
                    "height": round(max(7.5, 0.45 * lines) * PX_PER_CM)})
    ws.insert_chart("H4", chart)


@contextmanager
def _aside(path: Path) -> Iterator[Path]:
    """Where to write ``path``: renamed into place when the block succeeds, removed if it fails,
    so readers never see half a file."""
    part = path.with_name(path.name + ".part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)


def binding_summary(plan: Plan, rows: list[StatRow]) -> dict[str, Any]:
    """约束性指标 at the plan's own level: how many met, and which not."""
    own = {r.indicator_code: r for r in rows if r.region_code == plan.region_code}
    binding = [i for i in plan.indicators if i.attribute == "约束性" and i.code in own]
    unmet = [i for i in binding if own[i.code].status != "达标"]
    return {"total": len(binding), "met": len(binding) - len(unmet),
            "unmet": [{"code": i.code, "name": i.name, "status": own[i.code].status}
                      for i in unmet]}


def basis_text(basis: str, as_of: datetime | None = None) -> str:
    """How a page or sheet names the data it stands on: basis, and the time when not now."""
    text = BASIS_LABELS[basis]
    return f"{text}（截至 {clock.beijing(as_of)}）" if as_of else text


def statistics_paths(plan: Plan, year: int, out_dir: Path, basis: str) -> dict[str, Path]:
    stem = f"{plan.code}_{year}_规划指标年度统计" + BASIS_SUFFIXES[basis]
    return {kind: out_dir / f"{stem}.{kind}" for kind in ("xlsx", "csv", "json")}


def dashboard_name(basis: str) -> str:
    """One dashboard page per basis in a folder: the official one is index.html."""
    return "index.html" if basis == "accepted" else f"index.{basis}.html"


def write_statistics(plan: Plan, year: int, rows: list[StatRow], regions: RegionTree,
                     out_dir: Path, complete: Completeness | None = None,
                     history: dict[str, dict[int, dict[str, Any]]] | None = None,
                     basis: str = "accepted", as_of: datetime | None = None,
                     quality: list[QualityRow] | None = None,
                     fork_rows: int = 0) -> dict[str, Path]:
    """The 规划指标年度统计 of one plan and year as xlsx, CSV (UTF-8 with BOM) and JSON.

    From ``fork_rows`` rows (the publish_fork_rows setting; 0: never) the JSON is written by a
    forked child while the workbook and CSV are written here: each takes about as long
    (sichuan-14th at community level, 220,000 rows: JSON 1.5 s, workbook and CSV 1.4 s). Each
    file is written aside and renamed into place.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = statistics_paths(plan, year, out_dir, basis)
    table = _as_table(rows)
    by_region = _sheet_rows(plan, table, regions)
    own = list(by_region.get(plan.region_code, {}).values())

    def workbook_and_csv() -> None:
        _write_workbook(plan, year, by_region, regions, complete, history,
                        basis_text(basis, as_of), quality, own, paths["xlsx"])
        _write_csv(plan, table, regions, paths["csv"])

    forked.beside(lambda: _write_rows_json(table, paths["json"]), workbook_and_csv,
                  fork=0 < fork_rows <= len(table))
    return paths


def _write_workbook(plan: Plan, year: int, by_region: dict[str, dict[str, StatRow]],
                    regions: RegionTree, complete: Completeness | None,
                    history: dict[str, dict[int, dict[str, Any]]] | None, basis: str,
                    quality: list[QualityRow] | None, own: list[StatRow], path: Path) -> None:
    lines = sum(map(len, by_region.values()))
    with _aside(path) as part, ExitStack() as stack:
        tmp = (stack.enter_context(tempfile.TemporaryDirectory(prefix="planstats-"))
               if lines > STREAM_LINES else None)
        book = _Book(part, tmp)
        _statistics_sheets(book, plan, year, by_region, regions, complete, history, basis,
                           quality, binding_summary(plan, own))
        book.wb.close()


def _as_table(rows: list[StatRow] | StatTable) -> StatTable:
    return rows if isinstance(rows, StatTable) else StatTable.of(rows)


def _sheet_rows(plan: Plan, table: StatTable,
                regions: RegionTree) -> dict[str, dict[str, StatRow]]:
    """``_by_region`` of the rows of the regions with a sheet (_region_sheets) only, in their
    sheets' order: the workbook's rows, a few hundred of a plan's 220,000 at community level."""
    candidates = [plan.region_code, *regions.children.get(plan.region_code, [])]
    found = table.rows_of(candidates)  # in order of appearance, as _by_region has them
    sheets = _region_sheets(plan, found, regions)
    return _by_region(table.stat_rows(i for code in sheets for i in found[code]))


def _write_csv(plan: Plan, rows: list[StatRow] | StatTable, regions: RegionTree,
               path: Path) -> None:
    """Every region's table, one after the other, each line led by the region's code and name.

    Each line is what ``csv.writer`` writes of ``[code, name, *_table line]``, put together
    from the texts of its cells (planstats.celltext): the plan's and each region's made once,
    the values' a column of a batch at a time.
    """
    table = _as_table(rows)
    with _aside(path) as part, part.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerow(["行政区划代码", "行政区划", *STAT_HEADERS])
        texts = _CsvTexts(plan, regions)
        indexes, positions = _csv_order(plan, table)
        with no_gc():
            for start in range(0, len(indexes), BATCH):
                fh.write("".join(_csv_lines(plan, table, texts, regions,
                                            indexes[start:start + BATCH],
                                            positions[start:start + BATCH])))


BATCH = 500  # rows of the CSV and JSON put together at a time: their values stay in CPU caches
# region code and name, the indicator's leading cells (序号 … 指标属性), then 年度值, 完成情况,
# 完成率, 预期值, the two region counts and the indicator's code: each part its own text
_CSV_LINE = "%s%s%s,%s,%s,%s,%s,%s,%s\r\n"


class _CsvTexts:
    """The CSV's cells as text: per region, per plan position of an indicator, per column."""

    def __init__(self, plan: Plan, regions: RegionTree) -> None:
        self.region = celltext.Column(
            lambda code: celltext.csv_cells([code, regions.name(code)]) + ",", _none,
            kinds=(str,), only=True, limit=math.inf)
        lines = [_table_line(ind, None) for ind in plan.indicators]
        self.head = [celltext.csv_cells(list(map(safe_text, line[:6]))) + "," for line in lines]
        self.tail = [celltext.csv_cells(list(map(safe_text, line[12:]))) for line in lines]
        self.status = celltext.Column(lambda v: celltext.csv_cells([safe_text(v)]), _none,
                                      kinds=(str,), only=True, limit=math.inf)
        self.numbers = [celltext.csv_number_column() for _ in range(3)]


def _none(values: Sequence[Any]) -> None:
    return None


def _csv_order(plan: Plan, table: StatTable) -> tuple[Sequence[int], list[int]]:
    """The CSV's lines as (row index, plan position) lists: regions in order of appearance,
    each region's rows in the plan's order, the last of an indicator repeated, none of an
    indicator not in the plan (_by_region, then _table)."""
    codes = table.indicator_codes
    position = {ind.code: k for k, ind in enumerate(plan.indicators)}
    if len(position) == len(plan.indicators) and set(codes) <= position.keys():
        region = table.region_codes
        rank = {code: i for i, code in enumerate(dict.fromkeys(region))}
        keys = list(map(add, map(mul, map(rank.__getitem__, region), repeat(len(position))),
                        map(position.__getitem__, codes)))
        if all(map(lt, keys, islice(keys, 1, None))):
            # each region's rows follow one another in the plan's order (a tree that knows
            # every region): the lines are the rows as they are
            return range(len(keys)), list(map(position.__getitem__, codes))
        # else (regions the tree does not know come last, by indicator): by (the region's first
        # appearance, plan position), when no (region, indicator) is there twice
        indexes = sorted(range(len(keys)), key=keys.__getitem__)
        ordered = list(map(keys.__getitem__, indexes))
        if all(map(lt, ordered, islice(ordered, 1, None))):
            return indexes, list(map(position.__getitem__, map(codes.__getitem__, indexes)))
    by_region: dict[str, dict[str, int]] = {}
    for i, (region_code, code) in enumerate(zip(table.region_codes, codes, strict=True)):
        by_region.setdefault(region_code, {})[code] = i
    indexes, positions = [], []
    for by_code in by_region.values():
        for k, ind in enumerate(plan.indicators):
            i = by_code.get(ind.code)
            if i is not None:
                indexes.append(i)
                positions.append(k)
    return indexes, positions


def _csv_lines(plan: Plan, table: StatTable, texts: _CsvTexts, regions: RegionTree,
               indexes: Sequence[int], positions: list[int]) -> list[str]:
    """The lines of rows ``indexes`` (at ``positions`` of the plan)."""
    if not indexes:
        return []
    rows = (table.rows[indexes.start:indexes.stop] if isinstance(indexes, range)
            else list(map(table.rows.__getitem__, indexes)))
    region, status, value, rate, expected_value, reporting, expected = table.columns(rows, (
        "region_code", "status", "value", "completion_rate", "expected_value",
        "reporting_regions", "expected_regions"))
    cells = [texts.region.texts(region), texts.status.texts(status),
             *(column.texts(values) for column, values in zip(
                 texts.numbers, (value, rate, expected_value), strict=True))]
    if (None not in cells and celltext.exactly(reporting, int)
            and celltext.exactly(expected, int)):
        region, status, value, rate, expected_value = cells
        return list(map(_CSV_LINE.__mod__, zip(
            region, map(texts.head.__getitem__, positions), value, status, rate,
            expected_value, map(str, reporting), map(str, expected),
            map(texts.tail.__getitem__, positions), strict=True)))
    out = io.StringIO()  # values of other kinds: csv.writer, line by line
    writer = csv.writer(out)
    for row, k in zip(table.stat_rows(indexes), positions, strict=True):
        writer.writerow([row.region_code, regions.name(row.region_code),
                         *(safe_text(v) for v in _table_line(plan.indicators[k], row))])
    return [out.getvalue()]


def _region_sheets(plan: Plan, by_region: dict[str, dict[str, StatRow]],
                   regions: RegionTree) -> list[str]:
    """The regions with a sheet of their own: the plan's and each directly below it."""
    return [c for c in by_region if c == plan.region_code
            or (c in regions and regions[c].parent == plan.region_code)]


def _statistics_sheets(book: _Book, plan: Plan, year: int,
                       by_region: dict[str, dict[str, StatRow]], regions: RegionTree,
                       complete: Completeness | None,
                       history: dict[str, dict[int, dict[str, Any]]] | None, based_on: str,
                       quality: list[QualityRow] | None, summary: dict[str, Any]) -> None:
    """The workbook's sheets, in order: one per region of ``by_region`` (``_sheet_rows``: the
    plan's region and each directly below it), 约束性指标 (with its chart), 历年趋势, 报送情况,
    数据质量 (when given), 说明."""
    final = year == plan.period_end
    heading = f"{plan.name} 规划指标年度统计（{year}年{'，期末评估' if final else ''}）"
    for region in by_region:
        title = plan.short_name if region == plan.region_code else regions.name(region)
        note = (f"填报口径：{regions.name(region)}（{region}），统计年度 {year}，{based_on}；"
                "比率类指标按Σ分子÷Σ分母汇总；“缺报”表示无数据。")
        _sheet(book, title, heading, note, list(STAT_HEADERS), _table(plan, by_region[region]),
               list(STAT_WIDTHS), wrap=(3, 4, 5),  # 单位/目标值 as printed may be long
               number_formats={9: "0.0%"}, status_column=8, freeze="D5")

    own = by_region.get(plan.region_code, {})
    binding = [[i.seq, i.name, i.target_label(i.stat_unit), None if own[i.code].value is None
                else round(own[i.code].value, 4), own[i.code].status,
                round(own[i.code].completion_rate or 0, 4)]
               for i in plan.indicators if i.attribute == "约束性" and i.code in own]
    ws = _sheet(book, "约束性指标", f"{plan.short_name} 约束性指标完成情况（{year}年）",
                f"约束性指标 {summary['total']} 项，达标 {summary['met']} 项，未达标或缺报 "
                f"{summary['total'] - summary['met']} 项。",
                ["序号", "指标", "目标值", "年度值", "完成情况", "完成率"], binding,
                [6, 46, 10, 10, 10, 9], wrap=(2, 3), number_formats={6: "0.0%"},
                status_column=5)
    if binding:
        _binding_chart(book, ws, len(binding))

    years = list(range(plan.period_start, plan.period_end + 1))
    if history:
        lines = []
        for ind in plan.indicators:
            per_year = history.get(ind.code, {})
            values = [per_year.get(y, {}).get("value") for y in years]
            lines.append([ind.seq, ind.name, ind.target_label(ind.stat_unit),
                          *(None if v is None else round(v, 4) for v in values),
                          (per_year.get(year) or {}).get("status", "")])
        _sheet(book, "历年趋势", f"{plan.short_name} 规划期历年指标值（{years[0]}–{years[-1]}）",
               f"{plan.region_code} {regions.name(plan.region_code)}；空白为尚未统计或缺报。",
               ["序号", "指标", "目标值", *(f"{y}年" for y in years), f"{year}年完成情况"],
               lines, [6, 46, 10, *(9 for _ in years), 12], wrap=(2, 3))

    if complete is not None:
        lines = [[c["region_code"], c["region_name"], reported_label(c),
                  "是" if c["on_time"] else ("否" if c["received"] else ""),
                  clock.beijing(c["first_received_at"]), c["files"], c["rejected_files"],
                  REVIEW_LABELS.get(c["review_status"] or "", "")] for c in complete.rows]
        due = clock.beijing(complete.rows[0]["due_at"]) if complete.rows else ""
        _sheet(book, "报送情况", f"{plan.short_name} {year}年度报送情况",
               f"应报 {complete.expected} 个，已报 {complete.received} 个（其中部分报送 "
               f"{complete.partial} 个），按时 {complete.on_time} 个；截止时间 {due}。"
               "已报：当前文件至少填报了本规划的一项数值（空表不算报送）。",
               ["行政区划代码", "地区", "已报送", "按时", "首次报送时间（北京时间）", "文件数",
                "退回文件数", "审核状态"], lines, [12, 16, 14, 8, 26, 8, 10, 10])

    if quality is not None:
        names = {i.code: i.name for i in plan.indicators}
        _sheet(book, QUALITY_SHEET, f"{plan.short_name} {year}年度数据质量分析（供审核参考）",
               f"共 {len(quality)} 条，按偏离程度排序；只是提示，不影响数据接收。方法见“说明”表。",
               list(QUALITY_HEADERS), quality_lines(quality, regions, names),
               list(QUALITY_WIDTHS), wrap=QUALITY_HEADERS.index("原因") + 1)

    _sheet(book, "说明", f"{plan.short_name} 规划指标年度统计 · 方法说明",
           f"规划：{plan.name}（{plan.region_code}，{plan.period_start}–{plan.period_end}）",
           ["项目", "说明"], [list(m) for m in METHODS], [14, 100], wrap=2)


QUALITY_SHEET = "数据质量"
QUALITY_HEADERS = ("序号", "行政区划代码", "地区", "所属市（州）", "指标代码", "指标", "本年值",
                   "单位", "比较对象", "中位数", "偏离程度", "原因", "县的说明")
QUALITY_WIDTHS = (6, 12, 12, 12, 10, 36, 10, 8, 18, 10, 9, 60, 24)


def quality_lines(rows: list[QualityRow], regions: RegionTree,
                  indicator_names: dict[str, str]) -> list[list[Any]]:
    """The data-quality findings as table lines, the county and indicator named, value and
    median in the unit of the plan that asks them (单位)."""
    out = []
    for seq, r in enumerate(rows, start=1):
        city = regions[r.region_code].parent if r.region_code in regions else None
        out.append([seq, r.region_code, regions.name(r.region_code),
                    regions.name(city) if city else "", r.indicator_code,
                    indicator_names.get(r.indicator_code, r.indicator_code), round(r.value, 4),
                    r.unit, METHOD_LABELS[r.method],
                    None if r.peer_median is None else round(r.peer_median, 4),
                    round(r.score, 1), r.reason, r.note or ""])
    return out


def _write_rows_json(rows: list[StatRow] | StatTable, path: Path) -> None:
    """A JSON array, one row a line: ``indent`` would force json's Python encoder (3× slower).

    Each line is json of the row's ``to_dict``, put together from the texts of its values
    (planstats.celltext), made a column of a batch at a time, not a dict a row. Written aside
    and renamed, so readers never see half a file.
    """
    table = _as_table(rows)
    columns = [celltext.json_column(6 if field in _ROUNDED else None) for field in _DICT_FIELDS]
    with _aside(path) as part, part.open("w", encoding="utf-8") as fh, no_gc():
        fh.write("[")
        for start in range(0, len(table), BATCH):
            lines = ",\n".join(_json_lines(table, columns, start,
                                           min(start + BATCH, len(table))))
            fh.write((",\n" if start else "\n") + lines)
        fh.write("\n]\n" if len(table) else "]\n")


# a row's line: its dict's keys as json writes them, a value's text for each %s
_JSON_LINE = "{" + ", ".join(f"{celltext.json_text(k)}: %s"
                             for k in (*_DICT_FIELDS, "missing_regions")) + "}"
_FIELD = {field: i for i, field in enumerate(_DICT_FIELDS)}


def _json_lines(table: StatTable, columns: list[celltext.Column], start: int,
                stop: int) -> list[str]:
    """The lines of rows start … stop - 1."""
    rows = table.rows[start:stop]
    try:
        texts = [column.texts(values)
                 for column, values in zip(columns, table.columns(rows), strict=True)]
    except (TypeError, ValueError):  # a value StatRow.to_dict cannot round, json cannot write
        texts = [None]
    if None in texts:
        return [celltext.json_text(row.to_dict())
                for row in table.stat_rows(range(start, stop))]
    missing = ["[]"] * len(rows)
    for i, regions in table.missing_between(start, stop):
        missing[i - start] = celltext.json_text(list(regions))
    return list(map(_JSON_LINE.__mod__, zip(*texts, missing, strict=True)))


BAR_FULL = 300  # pixels for 100 % completion
BAR_COLOURS = {"达标": "#6aa84f", "未达标": "#f1c232", "缺报": "#e06666"}


def dashboard_plan(plan: Plan, year: int, rows: list[StatRow], regions: RegionTree,
                   complete: Completeness, reports: dict[str, str], paths: dict[str, str],
                   page: Path) -> dict[str, Any]:
    """What the yearly dashboard shows of one plan."""
    own = [r for r in rows if r.region_code == plan.region_code]
    counts = {s: sum(r.status == s for r in own) for s in STATUS_FILLS}
    by_code = {r.indicator_code: r for r in own}
    categories: dict[str, list[dict[str, Any]]] = {}
    for ind in plan.indicators:
        r = by_code.get(ind.code)
        if r is None:
            continue
        rate, target = r.completion_rate, ind.target_label(ind.stat_unit)
        categories.setdefault(ind.category, []).append({
            "name": ind.name, "status": r.status, "colour": BAR_COLOURS[r.status],
            "bar": 0 if rate is None else round(min(rate, 1.5) * BAR_FULL),
            "label": "缺报" if rate is None else f"{rate:.0%}（目标 {target}）"})
    counties = [{**c, "reported": reported_label(c),
                 "report_href": _href(reports.get(c["current_submission_id"] or ""), page)}
                for c in complete.rows]
    return {
        "code": plan.code, "name": plan.name, "region_name": regions.name(plan.region_code),
        "period": f"{plan.period_start}–{plan.period_end}", "final": year == plan.period_end,
        "total": len(own), "counts": counts, "binding": binding_summary(plan, rows),
        "categories": [{"name": k, "bars": v} for k, v in categories.items()],
        "expected": complete.expected, "received": complete.received,
        "on_time": complete.on_time, "counties": counties,
        "xlsx": os.path.relpath(paths["xlsx"], page.parent),
        "csv": os.path.relpath(paths["csv"], page.parent),
    }


def reported_label(row: dict[str, Any]) -> str:
    """是 / 部分（12/62）/ 否 for one county's row of the completeness table."""
    if not row["received"]:
        return "否"
    if row["values_reported"] < row["values_asked"]:
        return f"部分（{row['values_reported']}/{row['values_asked']}）"
    return "是"


def write_dashboard(year: int, plans: list[dict[str, Any]], page: Path, basis: str,
                    review_index: Path | None, as_of: datetime | None = None) -> Path:
    return _render("dashboard.html.j2", page, year=year, plans=plans, full=BAR_FULL,
                   basis_text=basis_text(basis, as_of), review_index=_href(review_index, page))
