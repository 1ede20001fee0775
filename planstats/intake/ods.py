"""OpenDocument spreadsheets (.ods, as LibreOffice and WPS save them): the zip package gets the
same size, member, CRC and DTD checks as an xlsx (zipcheck); then content.xml is walked once,
streaming, to learn each sheet's visibility, extent with repeated rows and columns expanded,
merged cells and formulas, before python-calamine lays the sheets out.

Element and attribute names from OASIS OpenDocument 1.2, part 1, chapter 9 (tables).
"""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree

from planstats.intake.model import Limits, Submission
from planstats.intake.workbook import SheetFacts, read_measured
from planstats.intake.zipcheck import open_package, small_member, verify_members

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_CELLS = (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell")


def read_ods(sub: Submission, data: bytes, limits: Limits) -> None:
    zf = open_package(sub, data, limits)
    if zf is None or not _is_plain_spreadsheet(sub, zf):
        return
    if verify_members(sub, zf, set(), set()) is None:
        return
    try:
        sheets = _sheets(zf, limits)
    except (ElementTree.ParseError, KeyError, ValueError) as exc:
        sub.fail("file_unreadable", "文件内部的表格数据格式有误，请用 WPS 或 LibreOffice 打开后"
                 "“另存为”“Excel 工作簿（*.xlsx）”再提交。", f"malformed content.xml: {exc}")
        return
    read_measured(sub, data, sheets, limits)


def _is_plain_spreadsheet(sub: Submission, zf: zipfile.ZipFile) -> bool:
    """An OpenDocument spreadsheet without macros or a password; records why not."""
    lower = {m.filename.lower() for m in zf.infolist()}
    if small_member(zf, "mimetype") != MIMETYPE or "content.xml" not in lower:
        sub.fail("file_unreadable", "文件不是 OpenDocument 电子表格（可能是文本文档或其他文件"
                 "改了扩展名）。请用下发的模板填报并保存为 .xlsx。", "not an ods package")
        return False
    if any(n.startswith(("basic/", "scripts/")) for n in lower):
        sub.fail("macro", "文件含有宏，不予接收。请“另存为”“Excel 工作簿（*.xlsx）”"
                 "（不含宏）后提交。", "ods package contains macros (Basic/ or Scripts/)")
        return False
    manifest = small_member(zf, "META-INF/manifest.xml") or b""
    if b"encryption-data" in manifest:
        sub.fail("file_unreadable", "文件设置了密码，无法读取。请去掉密码后重新保存再提交。",
                 "encrypted ods package")
        return False
    return True


def _sheets(zf: zipfile.ZipFile, limits: Limits) -> dict[str, SheetFacts]:
    """Every table of content.xml measured as the reader will lay it out."""
    hidden_styles: set[str] = set()
    style = ""
    sheets: dict[str, SheetFacts] = {}
    facts = SheetFacts()
    row = col = row_repeat = 0
    parents: list[ElementTree.Element] = []
    with zf.open("content.xml") as fh:
        for event, el in ElementTree.iterparse(fh, events=("start", "end")):
            tag = el.tag
            if event == "start":
                parents.append(el)
                if tag == f"{_STYLE}style":
                    style = el.get(f"{_STYLE}name", "")
                elif tag == f"{_STYLE}table-properties" and el.get(f"{_TABLE}display") == "false":
                    hidden_styles.add(style)
                elif tag == f"{_TABLE}table":
                    facts = SheetFacts(merged=[])
                    facts.state = ("hidden" if el.get(f"{_TABLE}style-name") in hidden_styles
                                   else facts.state)
                    sheets[el.get(f"{_TABLE}name", "")] = facts
                    row = 0
                elif tag == f"{_TABLE}table-row":
                    col, row_repeat = 0, _repeat(el, "rows")
                continue
            parents.pop()
            if tag in _CELLS:
                repeat = _repeat(el, "columns")
                if len(el) or el.get("{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
                                     "value-type"):
                    facts.height = max(facts.height, row + row_repeat)
                    facts.width = max(facts.width, col + repeat)
                formula = el.get(f"{_TABLE}formula")
                if formula is not None and len(facts.formulas) <= limits.rows:
                    facts.formulas.append((row + 1, col, formula.split(":", 1)[-1].lstrip("=")))
                rows, cols = _span(el, "rows"), _span(el, "columns")
                if (rows > 1 or cols > 1) and facts.merged is not None:
                    facts.merged.append(((row, col), (row + rows - 1, col + cols - 1)))
                col += repeat
                el.clear()
            elif tag == f"{_TABLE}table-row":
                row += row_repeat
                if parents:
                    parents[-1].remove(el)  # keep memory flat over long sheets
    return sheets


def _repeat(el: ElementTree.Element, what: str) -> int:
    return max(int(el.get(f"{_TABLE}number-{what}-repeated", "1")), 1)


def _span(el: ElementTree.Element, what: str) -> int:
    return max(int(el.get(f"{_TABLE}number-{what}-spanned", "1")), 1)
