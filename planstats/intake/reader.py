"""One entry point for every kind of county file: read it into a ``Submission`` whatever it
holds; anything unreadable becomes an issue, never an exception."""

from __future__ import annotations

import logging
from pathlib import Path

from planstats.intake.csvfile import read_csv
from planstats.intake.landing import MACRO_SUFFIXES, landed_bytes
from planstats.intake.model import OLE_SIGNATURE, Limits, Submission
from planstats.intake.ods import MIMETYPE, read_ods
from planstats.intake.xls import read_xls
from planstats.intake.xlsx import read_xlsx

log = logging.getLogger(__name__)
READERS = {"xlsx": read_xlsx, "xls": read_xls, "ods": read_ods}
SAVE_AS_XLSX = "请在 Excel 或 WPS 中“另存为”“Excel 工作簿（*.xlsx）”后提交"
# Formats python-calamine cannot read, and how the county turns them into an .xlsx.
SAVE_ADVICE = {".et": "请在 WPS 表格中“另存为”“Excel 工作簿（*.xlsx）”后提交",
               ".ett": "请在 WPS 表格中“另存为”“Excel 工作簿（*.xlsx）”后提交",
               ".numbers": "请在 Numbers 中选择“文件”→“导出为”→“Excel”，保存为 .xlsx 后提交"}
_ODS_HEAD = b"mimetype" + MIMETYPE  # ODF stores this first and uncompressed


def workbook_kind(data: bytes, named: str) -> str:
    """The workbook format the bytes are in, whatever the name says: a renamed .xls or .ods is
    read as what it is (an OLE2 .xlsx is a password-protected one, which the xls reader says)."""
    if data.startswith(OLE_SIGNATURE):
        return "xls"
    if data.startswith(b"PK\x03\x04"):
        # an .ods whose mimetype is not stored first is still read (and checked) as one
        return "ods" if named == "ods" or data[30:30 + len(_ODS_HEAD)] == _ODS_HEAD else "xlsx"
    return named


def read_submission(path: Path, folder: str | None = None,
                    limits: Limits | None = None) -> Submission:
    """Read a county file. ``folder`` is the landing-zone folder (region code) it was found in.

    A landing-zone file is opened without following symbolic links, read once, and parsed from
    the bytes that were hashed, so the hash always matches what was read.
    """
    limits = limits or Limits.from_settings()
    sub = Submission(path=path, folder=folder or "", file_hash="", received_at="",
                     kind=path.suffix.lower().lstrip("."))
    try:
        data = landed_bytes(sub, limits, follow_links=folder is None)
        if data is None:
            return sub
        suffix = path.suffix.lower()
        if sub.kind in READERS:
            sub.kind = workbook_kind(data, sub.kind)
            READERS[sub.kind](sub, data, limits)
        elif sub.kind == "csv":
            read_csv(sub, data, limits)
        elif suffix in MACRO_SUFFIXES:
            sub.fail("macro", f"不接收启用宏的工作簿（{path.suffix}）。请在 Excel 中“另存为”"
                     "“Excel 工作簿（*.xlsx）”后提交。", f"macro-enabled workbooks ({path.suffix}) "
                     "are not accepted; save as .xlsx")
        else:
            advice = SAVE_ADVICE.get(suffix, SAVE_AS_XLSX)
            sub.fail("file_type", f"不支持的文件类型“{path.suffix}”。{advice}"
                     "（也接收 .xls、.ods 和 .csv）。",
                     f"unsupported file type {path.suffix!r}; save as .xlsx")
    except FileNotFoundError:
        raise  # gone before it could be read: nothing to report to anyone
    except Exception as exc:  # a county file must never stop the batch
        _unexpected(sub, exc)
    except BaseException as exc:  # the Rust reader's panics derive from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        _unexpected(sub, exc)
    return sub


def _unexpected(sub: Submission, exc: BaseException) -> None:
    log.exception("unexpected error reading %s", sub.path)
    sub.rows.clear()
    sub.cells_read = False
    sub.fail("file_unreadable", "文件无法读取，可能已损坏。请用 Excel 打开后重新保存再提交；"
             "如仍有问题请联系管理员。", f"unexpected reader error: {type(exc).__name__}")
