"""The pre-filled county workbook: hard to fill wrongly, stamped with the template version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planstats import selfcheck
from planstats.catalog import Catalog, Concept, Entry, Plan, entries, template_version
from planstats.intake import DATA_SHEET, GUIDE_SHEET, INFO_SHEET
from planstats.intake.model import SELF_CHECK
from planstats.regions import RegionTree
from planstats.sheets import fit_to_page_width, row_height, text_width

HEADER_ROW = 3
DATA_HEADERS = ("指标代码", "指标名称", "单位", "目标值", "本年值", "分子", "分母", "说明",
                SELF_CHECK, "上年值", "分子含义", "分母含义", "所属规划")
WIDTHS = (10, 44, 8, 18, 12, 12, 12, 30, 60, 10, 34, 26, 28)
WRAPPED = ("指标名称", "目标值", "说明", SELF_CHECK, "分子含义", "分母含义", "所属规划")
# Hidden helper columns right of the table: the 自查 counts and text, then one flag per check.
ERRORS, WARNINGS, MISSING, CHECK_TEXT, FLAG = (
    "自查错误数", "自查待说明数", "自查未填数", "自查文字", "自查项")
SUMMARY_CELL = "E2"
GUIDE_WIDTH = 110
LINE = 15.0  # points per wrapped line, as sheets.row_height counts them
INPUT_FILL = "FFF2CC"
LOCKED_FILL = "F2F2F2"
HEADER_FILL = "1F4E79"
ERROR_FILL, WARNING_FILL, EXPLAINED_FILL, PASS_FONT = "FFC7CE", "FFD966", "DDEBF7", "38761D"
PASS = "通过"
INPUT_STYLE, LOCKED_STYLE, CHECK_STYLE = "填报输入", "填报锁定", "填报自查"  # named cell styles


@dataclass(frozen=True)
class TemplateRow:
    entry: Entry
    targets: str
    plans: str

    @property
    def concept(self) -> Concept:
        return self.entry.concept


def template_rows(catalog: Catalog, plans: list[Plan], region_code: str) -> list[TemplateRow]:
    """Every indicator the region must report: the union over its plans, each concept once."""
    rows = []
    for entry in entries(plans, region_code).values():
        uses = entry.uses
        if len(uses) == 1:
            targets = uses[0][1].target_label(entry.unit)
        else:
            targets = "；".join(f"{p.short_name}{i.target_label(entry.unit)}" for p, i in uses)
        plans_text = "、".join(p.short_name for p, _ in uses)
        rows.append(TemplateRow(entry, targets, plans_text))
    return rows


GUIDE = (
    "一、本表由县（市、区）填报，填好后放入本县的共享文件夹，系统自动接收并回复审核报告。"
    "可提交 .xlsx（推荐）、.xls、.ods 或 .csv 文件；WPS 的 .et 格式请另存为 .xlsx。",
    "二、请勿修改指标代码、指标名称、单位、目标值等灰色单元格；只在黄色单元格填写。",
    "三、“本年值”填写统计年度末的数值；百分比指标填写百分数（如 95.5 表示 95.5%），不带%号也可。",
    "四、比率类指标须同时填写“分子”“分母”（含义见右侧两列），上级汇总按Σ分子÷Σ分母计算，"
    "不是各地百分比的平均。满意度类指标在“分母”填写受访人数，作为加权平均的权重。",
    "五、确无数据的指标，“本年值”留空，并在“说明”列写明原因；数值变化较大或超出常规范围的，"
    "请在“说明”列说明原因，否则将标为“待核实”。",
    "六、“指标数据”表的“自查”列随填写自动检查，规则与系统审核相同：红色为错误，必须修改；"
    "黄色为提示，请核对，无误的在“说明”列写明原因。表头上方一行汇总还有几处需要修改。"
    "自查只是帮助，以系统回复的审核报告为准。",
    "七、正式报送前可以先预审：把填好的文件放入本县共享文件夹里的“预审”文件夹（没有就新建一个），"
    "系统在下一轮接收（约 15 分钟内）按正式报送完全相同的规则检查，并在“回执”文件夹中放回"
    "“文件名.预审报告.html”、“文件名.预审回执.txt”，有问题时还有标注了问题的副本"
    "“文件名.预审.批注.xlsx”。预审的文件不入库、不算报送，检查后由系统存档，不会删除；"
    "预审通过后，请把文件放入本县文件夹（不是“预审”文件夹）正式报送。",
    "八、同一年度重复提交时，以最新一次通过审核的文件为准，历次提交均保留备查。",
)


def build_template(catalog: Catalog, regions: RegionTree, plans: list[Plan], region_code: str,
                   year: int, path: Path,
                   history: dict[str, dict[int, float]] | None = None) -> Path:
    """The county's workbook; ``history`` (indicator → year → value) fills 上年值 and the 自查
    column's history range."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    rows = template_rows(catalog, plans, region_code)
    version = template_version(row.entry for row in rows)
    region_name = regions.name(region_code)
    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    input_fill = PatternFill("solid", fgColor=INPUT_FILL)
    locked_fill = PatternFill("solid", fgColor=LOCKED_FILL)
    unlocked = Protection(locked=False)

    wb = Workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET
    guide["A1"] = f"{region_name}{year}年度规划指标统计填报说明"
    guide["A1"].font = Font(bold=True, size=14)
    lines = [*GUIDE, "", "适用规划：" + "；".join(p.name for p in plans)]
    for i, line in enumerate(lines, start=3):
        guide.cell(row=i, column=1, value=line or None).alignment = Alignment(wrap_text=True)
        guide.row_dimensions[i].height = row_height([(line, GUIDE_WIDTH)])
    guide.column_dimensions["A"].width = GUIDE_WIDTH
    fit_to_page_width(guide, title_rows="1:1")
    guide.protection.sheet = True

    info = wb.create_sheet(INFO_SHEET)
    info.append(["项目", "内容"])
    values = {"行政区划代码": region_code, "统计年度": year, "填报单位": f"{region_name}",
              "填报人": None, "联系电话": None, "填报日期": None, "模板版本": version}
    editable = {"填报单位", "填报人", "联系电话", "填报日期"}
    for key, value in values.items():
        info.append([key, value])
        cell = info.cell(row=info.max_row, column=2)
        cell.border = border
        if key in editable:
            cell.protection = unlocked
            cell.fill = input_fill
        else:
            cell.fill = locked_fill
    info["B2"].number_format = "@"
    for cell in info[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 36
    info.protection.sheet = True

    ws = wb.create_sheet(DATA_SHEET)
    ws["A1"] = f"{region_name}（{region_code}）{year}年度规划指标统计表"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "只填写黄色单元格；比率类指标须填写分子、分母。模板版本：" + version
    ws["A2"].font = Font(color="7F7F7F")
    for col, (name, width) in enumerate(zip(DATA_HEADERS, WIDTHS, strict=True), start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
        ws.column_dimensions[cell.column_letter].width = width
    history = history or {}
    place = {name: i for i, name in enumerate(DATA_HEADERS, start=1)}
    editable = {"本年值", "说明"}
    styles = _row_styles(wb, border)
    for r, item in enumerate(rows, start=HEADER_ROW + 1):
        c, entry = item.concept, item.entry
        past = history.get(c.code, {})
        cells = dict(zip(DATA_HEADERS, [
            c.code, c.name, entry.unit, item.targets, None, None, None, None, None,
            entry.entered(past.get(year - 1)), c.numerator or "", c.denominator or "", item.plans],
            strict=True))
        for name, value in cells.items():
            if (name in editable or (name == "分子" and c.needs_numerator)
                    or (name == "分母" and c.needs_denominator)):
                kind = INPUT_STYLE
            else:
                kind = CHECK_STYLE if name == SELF_CHECK else LOCKED_STYLE
            ws.cell(row=r, column=place[name], value=value).style = styles[(kind,
                                                                            name in WRAPPED)]
        ws.row_dimensions[r].height = row_height(
            [(cells[name], WIDTHS[place[name] - 1]) for name in WRAPPED])
        _add_validation(ws, DataValidation, entry, r)
    _self_check(ws, catalog, plans, rows, year, history)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=3)
    fit_to_page_width(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    wb.active = wb.index(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _row_styles(wb: Any, border: Any) -> dict[tuple[str, bool], str]:
    """Named styles of the data rows, (kind, wrapped) → name: one assignment a cell instead of
    four style objects, which openpyxl hashes and looks up again for every cell."""
    from copy import copy

    from openpyxl.styles import Alignment, NamedStyle, PatternFill, Protection
    from openpyxl.styles.fonts import DEFAULT_FONT

    kinds = {INPUT_STYLE: (PatternFill("solid", fgColor=INPUT_FILL), False),
             LOCKED_STYLE: (PatternFill("solid", fgColor=LOCKED_FILL), True),
             CHECK_STYLE: (PatternFill(), True)}
    names = {}
    for kind, (fill, locked) in kinds.items():
        for wrap in (False, True):
            name = kind + ("换行" if wrap else "")
            wb.add_named_style(NamedStyle(
                name, font=copy(DEFAULT_FONT), border=border, fill=fill,
                protection=Protection(locked=locked),
                alignment=Alignment(vertical="center", wrap_text=wrap)))
            names[(kind, wrap)] = name
    return names


def _self_check(ws: Any, catalog: Catalog, plans: list[Plan], rows: list[TemplateRow],
                year: int, history: dict[str, dict[int, float]]) -> None:
    """The 自查 column, its hidden helper columns and the summary line (see planstats.selfcheck)."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    letters = {name: get_column_letter(i) for i, name in enumerate(DATA_HEADERS, start=1)}
    first, last = HEADER_ROW + 1, HEADER_ROW + len(rows)
    cells = {item.concept.code: selfcheck.RowCells(
        r, item.concept, letters,
        selfcheck.history_of(history.get(item.concept.code, {}), year, item.concept),
        item.entry)
        for r, item in enumerate(rows, start=first)}
    rules = selfcheck.rule_checks(plans, catalog, cells)
    checks = {code: [*selfcheck.read_checks(c), *selfcheck.value_checks(c), *rules.get(code, [])]
              for code, c in cells.items()}
    helpers = [ERRORS, WARNINGS, MISSING, CHECK_TEXT,
               *(f"{FLAG}{i}" for i in range(1, max(map(len, checks.values()), default=0) + 1))]
    base = len(DATA_HEADERS) + 1
    column = {name: get_column_letter(base + i) for i, name in enumerate(helpers)}
    for name, letter in column.items():
        ws[f"{letter}{HEADER_ROW}"] = name
        ws.column_dimensions[letter].hidden = True
    for code, c in cells.items():
        r = c.row
        flags = [f"{column[f'{FLAG}{i}']}{r}" for i in range(1, len(checks[code]) + 1)]
        formulas = selfcheck.combine(c, checks[code], flags)
        for ref, formula in zip(flags, formulas.flags, strict=True):
            ws[ref] = "=" + formula
        ws[f"{column[ERRORS]}{r}"] = "=" + formulas.errors
        ws[f"{column[WARNINGS]}{r}"] = "=" + formulas.warnings
        ws[f"{column[MISSING]}{r}"] = "=" + formulas.missing
        text = f"{column[CHECK_TEXT]}{r}"
        ws[text] = "=" + formulas.text
        ws[c.ref(SELF_CHECK)] = f'=IF({text}="",{selfcheck.quote(PASS)},LEFT({text},LEN({text})-1))'
        # room for the two longest messages: a row rarely has more at once
        longest = sorted((check.sample for check in checks[code]), key=text_width)[-2:]
        lines = sum(-(-text_width(m) // (WIDTHS[DATA_HEADERS.index(SELF_CHECK)] - 1))
                    for m in longest)
        ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 0, LINE * lines)
    errors, warnings, missing = (f"{column[n]}{first}:{column[n]}{last}"
                                 for n in (ERRORS, WARNINGS, MISSING))
    ws[SUMMARY_CELL] = selfcheck.summary_formula(errors, warnings, missing)
    ws[SUMMARY_CELL].font = Font(bold=True, size=12)
    red = PatternFill("solid", bgColor=ERROR_FILL)
    yellow = PatternFill("solid", bgColor=WARNING_FILL)
    green = Font(color=PASS_FONT, bold=True)
    area = f"{letters[SELF_CHECK]}{first}:{letters[SELF_CHECK]}{last}"
    ws.conditional_formatting.add(area, FormulaRule(
        formula=[f"${column[ERRORS]}{first}>0"], fill=red, stopIfTrue=True))
    ws.conditional_formatting.add(area, FormulaRule(
        formula=[f"${column[WARNINGS]}{first}+${column[MISSING]}{first}>0"], fill=yellow,
        stopIfTrue=True))
    ws.conditional_formatting.add(area, FormulaRule(
        formula=[f'${letters[SELF_CHECK]}{first}={selfcheck.quote(PASS)}'], font=green,
        stopIfTrue=True))
    ws.conditional_formatting.add(area, FormulaRule(  # warnings answered in 说明
        formula=["TRUE"], fill=PatternFill("solid", bgColor=EXPLAINED_FILL)))
    ws.conditional_formatting.add(SUMMARY_CELL, FormulaRule(
        formula=[f"SUM({errors})>0"], fill=red, stopIfTrue=True))
    ws.conditional_formatting.add(SUMMARY_CELL, FormulaRule(
        formula=[f"SUM({warnings})+SUM({missing})>0"], fill=yellow, stopIfTrue=True))
    ws.conditional_formatting.add(SUMMARY_CELL, FormulaRule(
        formula=[f"SUM({errors})+SUM({warnings})+SUM({missing})=0"], font=green))


def _add_validation(ws, data_validation, entry: Entry, row: int) -> None:
    concept = entry.concept
    low = entry.entered(concept.valid_min if concept.valid_min is not None else 0)
    high = entry.entered(concept.valid_max)
    kind = "whole" if concept.integer and entry.factor == 1 else "decimal"
    kind_text = "整数" if kind == "whole" else "数值"
    if high is None:
        bounds = {"operator": "greaterThanOrEqual", "formula1": f"{low:g}"}
        wording = f"不小于{low:g}"
    else:
        bounds = {"operator": "between", "formula1": f"{low:g}", "formula2": f"{high:g}"}
        wording = f"{low:g}～{high:g}之间"
    rule = data_validation(type=kind, allow_blank=True, showErrorMessage=True,
                           errorTitle="数值超出范围",
                           error=f"{concept.name}应为{wording}的{kind_text}"
                                 f"（单位：{entry.unit}）。", **bounds)
    rule.add(f"E{row}")
    ws.add_data_validation(rule)
    if concept.aggregation in ("ratio", "weighted_mean"):
        parts = data_validation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                allow_blank=True, showErrorMessage=True, errorTitle="数值无效",
                                error="分子、分母应为不小于0的数值。")
        parts.add(f"F{row}:G{row}")
        ws.add_data_validation(parts)
