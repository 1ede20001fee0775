"""xlsx: the template's sheets, read with python-calamine once the zip package passed its
checks (zipcheck); hidden sheets, merged cells and formulas in typed columns are reported."""

from __future__ import annotations

import posixpath

from planstats.intake.model import DATA_SHEET, INFO_SHEET, Limits, Submission
from planstats.intake.workbook import (
    SheetFacts,
    check_extent,
    check_formulas,
    read_template_sheets,
    template_sheets,
    typed_formulas,
)
from planstats.intake.zipcheck import open_zip, sheet_cells, verify_members


def read_xlsx(sub: Submission, data: bytes, limits: Limits) -> None:
    book = open_zip(sub, data, limits)
    if book is None:
        return
    zf, sheets = book
    names = template_sheets(sub, sheets)
    if names is None:
        return
    wanted = {name: sheets[names[name]] for name in (INFO_SHEET, DATA_SHEET) if name in names}
    scans = verify_members(sub, zf, {part for part, _ in wanted.values()}, set(
        part for part, _ in sheets.values()))
    if scans is None:
        return
    for name, (part, state) in wanted.items():
        scan = scans[part.lower()]
        check_extent(sub, name, SheetFacts(state, scan.height, scan.width), limits)
    if sub.fatal:
        return
    table = read_template_sheets(sub, data, names)
    data_part = wanted[DATA_SHEET][0]
    # the template's own formulas (自查) are not in typed columns: parse only for one that is
    if table is not None and typed_formulas(scans[data_part.lower()].formula_cells, *table):
        info = next(i for i in zf.infolist()
                    if posixpath.normpath(i.filename).lower() == data_part.lower())
        check_formulas(sub, sheet_cells(zf, info), *table)
