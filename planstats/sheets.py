"""Spreadsheet helpers shared by the county template and the published statistics."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def fit_to_page_width(ws: Any, title_rows: str) -> None:
    """Print landscape, all columns on one page width, the header row repeated on every page.

    ``ws``: an openpyxl worksheet, or an xlsxwriter one (the published statistics).
    """
    if hasattr(ws, "fit_to_pages"):  # xlsxwriter
        first, last = (int(row) - 1 for row in title_rows.split(":"))
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(first, last)
        ws.set_margins(left=0.75, right=0.75, top=1, bottom=1)  # inches, as openpyxl writes
        ws.set_header("", {"margin": 0.5})
        ws.set_footer("", {"margin": 0.5})
        return
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows


def safe_text(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def text_width(text: str) -> int:
    """Display width in Excel character units: CJK and full-width characters count two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def row_height(cells: list[tuple[Any, float]], line: float = 15.0) -> float:
    """Height that shows every wrapped (value, column width) pair of a row in full."""
    lines = 1
    for value, width in cells:
        if value is not None:
            lines = max(lines, -(-text_width(str(value)) // max(int(width) - 1, 1)))
    return line * lines
