"""Reading county files from the landing zone into rows that remember their cell.

Every kind of file is read into the same ``Submission``; headers are found by name, not
position; limits are checked before anything is parsed; anything unreadable becomes an issue,
never an exception. The parts, top down:

- ``reader``: ``read_submission``, the one entry point, choosing a reader by kind;
- ``landing``: which files the landing zone picks up, links and names it refuses, reading bytes;
- ``model``: ``Submission``, ``ValueRow``, ``Limits`` and the template's sheet and column names;
- ``workbook``: what every workbook format shares: sheets by name, extents held to the limits,
  the cells read with python-calamine, merged cells and formulas reported;
- ``xlsx`` and ``zipcheck``: the xlsx reader and the zip/XML checks that run before it;
- ``xls`` and ``ole2``: legacy Excel, its BIFF records walked inside the OLE2 container first;
- ``ods``: OpenDocument spreadsheets, zip checks shared with xlsx, content.xml measured first;
- ``csvfile``: CSV decoding and delimiters;
- ``table``: the 填报信息 and 指标数据 tables, whatever file they came from.
"""

from planstats.intake.csvfile import DELIMITERS
from planstats.intake.landing import (
    LINK_MESSAGE,
    MACRO_SUFFIXES,
    MAX_NAME_BYTES,
    READ_SUFFIXES,
    SUFFIXES,
    landing_problem,
)
from planstats.intake.model import (
    CSV_COLUMNS,
    DATA_COLUMNS,
    DATA_SHEET,
    GUIDE_SHEET,
    INFO_KEYS,
    INFO_SHEET,
    INPUT_COLUMNS,
    MAX_CELL_CHARS,
    MB,
    NUMBER_COLUMNS,
    WORKBOOK_KINDS,
    Limits,
    Submission,
    ValueRow,
    column_index,
    column_letter,
)
from planstats.intake.reader import read_submission
from planstats.intake.workbook import MAX_FORMULA_ISSUES

__all__ = [
    "CSV_COLUMNS", "DATA_COLUMNS", "DATA_SHEET", "DELIMITERS", "GUIDE_SHEET", "INFO_KEYS",
    "INFO_SHEET", "INPUT_COLUMNS", "LINK_MESSAGE", "MACRO_SUFFIXES", "MAX_CELL_CHARS",
    "MAX_FORMULA_ISSUES", "MAX_NAME_BYTES", "MB", "NUMBER_COLUMNS", "READ_SUFFIXES", "SUFFIXES",
    "WORKBOOK_KINDS", "Limits", "Submission", "ValueRow", "column_index", "column_letter",
    "landing_problem", "read_submission",
]
