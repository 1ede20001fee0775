"""CSV: UTF-8 with or without BOM, GBK, UTF-16 with BOM; comma, tab, semicolon or bar between
cells; one region and one year a file."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from itertools import islice

from planstats.intake.model import (
    MAX_CELL_CHARS,
    OLE_SIGNATURE,
    Limits,
    Submission,
    cell_text,
    shown,
)
from planstats.intake.table import read_table, sheet_too_large

DELIMITERS = (",", "\t", ";", "|")


def read_csv(sub: Submission, data: bytes, limits: Limits) -> None:
    sub.data_sheet = sub.path.name
    decoded = _decode_csv(sub, data)
    if decoded is None:
        return
    text, encoding = decoded
    delimiter = _sniff_delimiter(text)
    if delimiter is None:
        if encoding == "gb18030" and _looks_big5(data):
            sub.fail("file_encoding", "CSV 文件似乎是繁体中文 Big5 编码，"
                     "请另存为 UTF-8 或 GBK 编码后提交。",
                     "CSV looks like Big5; save as UTF-8 or GBK", sheet=sub.data_sheet)
            return
        delimiter = ","
    lines = text.count("\n") + 1
    if lines > limits.rows:
        sub.fail("too_many_rows", f"文件有 {lines} 行，超过上限 {limits.rows} 行。"
                 "请只保留本县（含下辖单位）的指标数据后重新提交。",
                 f"{lines} lines, over the limit of {limits.rows}", sheet=sub.data_sheet)
        return
    if text.count(delimiter) + lines > limits.cells:
        width = text.count(delimiter) // lines + 1
        sheet_too_large(sub, sub.data_sheet, lines, width, limits)
        return
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        if "field limit" in str(exc):
            sub.fail("cell_too_long", f"第 {reader.line_num} 行有单元格内容过长"
                     f"（超过 {csv.field_size_limit()} 个字符）。请只填写数值或简短说明。",
                     f"a cell on line {reader.line_num} is too long", sheet=sub.data_sheet,
                     row=reader.line_num)
        else:
            sub.fail("file_unreadable", f"CSV 文件第 {reader.line_num} 行格式有误"
                     "（引号不成对等），请用 Excel 打开后重新另存为 CSV。",
                     f"malformed CSV at line {reader.line_num}: {exc}", sheet=sub.data_sheet,
                     row=reader.line_num)
        return
    sub.cells_read = True
    # a cell is never longer than its line: most files need no look at each cell's length
    long_cells = max(map(len, text.split("\n"))) > MAX_CELL_CHARS
    if read_table(sub, rows, sub.path.name, first_row=1, long_cells=long_cells) is None:
        return
    regions = {r.region_code for r in sub.rows} - {None}
    years = {cell_text(y) for y in {r.raw.get("统计年度") for r in sub.rows}} - {""}
    # The file's region is its county: rows may be the county itself or units below it.
    sub.info["行政区划代码"] = min(regions, key=len)[:6] if regions else ""
    if len(years) > 1:
        shown = "、".join(shown(y, 12) for y in sorted(years)[:10])
        sub.error("mixed_years", f"一个文件只能填报一个统计年度，本文件含有：{shown}。",
                  "a file may carry one statistics year only", sheet=sub.data_sheet,
                  column="统计年度")
    sub.info["统计年度"] = min(years) if years else ""


def _decode_csv(sub: Submission, data: bytes) -> tuple[str, str] | None:
    """The text and the encoding it was read with, or None after recording why not."""
    def refuse(zh: str, en: str, rule: str = "file_encoding") -> None:
        sub.fail(rule, zh, en, sheet=sub.data_sheet)

    if not data:
        refuse("文件是空的（0 字节），请重新保存、重新复制后提交。", "the file is empty",
               "file_unreadable")
        return None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)  # Excel's "Unicode text"
    elif data.startswith((b"PK\x03\x04", OLE_SIGNATURE)):
        refuse("文件其实是 Excel 工作簿，只是扩展名为 .csv。请把扩展名改回 .xlsx"
               "（旧版 .xls 请另存为 .xlsx）后提交。", "an Excel workbook renamed to .csv",
               "file_type")
        return None
    elif b"\x00" in data:
        refuse("文件含有二进制内容，不是 CSV 文本文件（如是 UTF-16 编码，请另存为 UTF-8）。",
               "binary content (NUL bytes) in a CSV")
        return None
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        if "\n" not in text and "\r" in text:  # classic Mac line ends
            text = text.replace("\r", "\n")
        return text, encoding
    refuse("CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码。",
           "CSV encoding is neither UTF-8 nor GBK")
    return None


def _lines(text: str) -> Iterator[str]:
    """Lines of ``text`` one at a time, without copying the whole text again."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _sniff_delimiter(text: str) -> str | None:
    """The delimiter under which some early record has a 指标代码 cell."""
    for delimiter in DELIMITERS:
        try:
            for record in islice(csv.reader(_lines(text), delimiter=delimiter), 30):
                if "指标代码" in {cell_text(c) for c in record}:
                    return delimiter
        except csv.Error:
            continue
    return None


def _looks_big5(data: bytes) -> bool:
    try:
        return "指標代碼" in data.decode("big5")
    except UnicodeDecodeError:
        return False
