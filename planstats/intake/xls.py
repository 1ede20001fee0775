"""Legacy Excel (.xls, BIFF8, as Excel 97–2003, WPS and LibreOffice save it): the workbook
stream is walked record by record before python-calamine reads it, to learn each sheet's name,
visibility, extent (cells and the DIMENSIONS record the reader sizes its grid by), merged cells
and formulas, and to refuse password protection and oversized string tables.

Record layout from Microsoft's [MS-XLS] specification.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from planstats.intake.model import Limits, Submission
from planstats.intake.ole2 import CompoundFile, OleError
from planstats.intake.workbook import VISIBLE, SheetFacts, read_measured

_BOF, _EOF, _BOUNDSHEET, _FILEPASS, _SST = 0x0809, 0x000A, 0x0085, 0x002F, 0x00FC
_DIMENSIONS, _MERGECELLS, _FORMULA = 0x0200, 0x00E5, 0x0006
_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: one row, a run of columns
_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0204, 0x00D6, *_MULTI}
_STATES = {0: VISIBLE, 1: "hidden", 2: "veryHidden"}
_BIFF8 = 0x0600
_MAX_RECORDS = 2_000_000  # a county workbook has a few thousand


class _Refused(Exception):
    def __init__(self, rule: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.rule, self.zh, self.en = rule, zh, en


def read_xls(sub: Submission, data: bytes, limits: Limits) -> None:
    try:
        sheets = _sheets(data, limits)
    except _Refused as refused:
        sub.fail(refused.rule, refused.zh, refused.en)
        return
    except (OleError, struct.error, UnicodeDecodeError) as exc:
        sub.fail("file_unreadable", "文件已损坏，无法读取（旧版 Excel .xls 格式）。"
                 "请用 Excel 或 WPS 打开后“另存为”“Excel 工作簿（*.xlsx）”再提交。",
                 f"malformed xls: {str(exc)[:200]}")
        return
    read_measured(sub, data, sheets, limits)


def _sheets(data: bytes, limits: Limits) -> dict[str, SheetFacts]:
    book = CompoundFile(data)
    if {"EncryptionInfo", "EncryptedPackage"} <= book.names():
        raise _Refused("file_unreadable", "文件设置了打开密码，无法读取。请去掉密码后另存为"
                       "“Excel 工作簿（*.xlsx）”再提交。", "password-protected Office package")
    stream = book.stream("Workbook")
    if stream is None:
        old = book.stream("Book") is not None
        raise _Refused("file_type", "这是 Excel 5.0/95 或更早版本的文件，无法读取。"
                       "请用 Excel 或 WPS 打开后“另存为”“Excel 工作簿（*.xlsx）”再提交。"
                       if old else "文件不是 Excel 工作簿（可能是 Word 等其他文件改了扩展名）。"
                       "请用下发的模板填报并保存为 .xlsx。",
                       "BIFF5 or older workbook" if old else "no Workbook stream")
    sheets: dict[str, SheetFacts] = {}
    starts: list[tuple[str, int]] = []
    for kind, body in _records(stream, 0):
        if kind == _BOF and struct.unpack("<H", body[:2])[0] != _BIFF8:
            raise _Refused("file_type", "这是 Excel 95 或更早版本的文件，无法读取。请用 Excel 或 "
                           "WPS 打开后“另存为”“Excel 工作簿（*.xlsx）”再提交。", "not BIFF8")
        if kind == _FILEPASS:
            raise _Refused("file_unreadable", "文件设置了密码，无法读取。请去掉密码后重新保存"
                           "再提交。", "encrypted xls (FILEPASS)")
        if kind == _SST:
            _, unique = struct.unpack("<LL", body[:8])
            if unique * 3 > len(stream):  # each string takes at least three bytes
                raise _Refused("file_unreadable", "文件内部的文字表已损坏，无法读取。请用 Excel "
                               "打开后重新保存再提交。", f"SST claims {unique} strings")
        elif kind == _BOUNDSHEET:
            offset, state, sheet_type = struct.unpack("<LBB", body[:6])
            if sheet_type == 0:  # a worksheet; charts and macro sheets are not read
                name = _short_string(body[6:])
                sheets[name] = SheetFacts(_STATES.get(state & 3, "hidden"))
                starts.append((name, offset))
        elif kind == _EOF:
            break
    for name, offset in starts:
        if offset >= len(stream):
            raise OleError(f"sheet {name!r} starts beyond the workbook stream")
        _measure(sheets[name], stream, offset, limits)
    return sheets


def _measure(facts: SheetFacts, stream: bytes, offset: int, limits: Limits) -> None:
    for kind, body in _records(stream, offset):
        if kind in _CELLS and len(body) >= 4:
            row, col = struct.unpack("<HH", body[:4])
            last = struct.unpack("<H", body[-2:])[0] if kind in _MULTI else col
            facts.height = max(facts.height, row + 1)
            facts.width = max(facts.width, last + 1, col + 1)
            if kind == _FORMULA and len(facts.formulas) <= limits.rows:
                facts.formulas.append((row + 1, col, ""))
        elif kind == _DIMENSIONS and len(body) >= 12:
            _, rows, _, cols = struct.unpack("<LLHH", body[:12])
            facts.height, facts.width = max(facts.height, rows), max(facts.width, cols)
        elif kind == _EOF:
            return


def _records(stream: bytes, at: int) -> Iterator[tuple[int, bytes]]:
    count = 0
    while at + 4 <= len(stream):
        kind, size = struct.unpack("<HH", stream[at:at + 4])
        body = stream[at + 4:at + 4 + size]
        if len(body) < size:
            raise OleError("record runs past the end of the workbook stream")
        yield kind, body
        at += 4 + size
        count += 1
        if count > _MAX_RECORDS:
            raise OleError("too many records")


def _short_string(raw: bytes) -> str:
    """ShortXLUnicodeString: a character count, a flags byte, then Latin-1 or UTF-16 text."""
    count, flags = raw[0], raw[1]
    if flags & 1:
        return raw[2:2 + 2 * count].decode("utf-16-le")
    return raw[2:2 + count].decode("latin-1")
