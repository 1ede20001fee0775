"""One entry point for every kind of county file: read it into a ``Submission`` whatever it
holds; anything unreadable becomes an issue, never an exception."""

from __future__ import annotations

import logging
from pathlib import Path

from planstats.intake.csvfile import read_csv
from planstats.intake.landing import MACRO_SUFFIXES, landed_bytes
from planstats.intake.model import Limits, Submission
from planstats.intake.xlsx import read_xlsx

log = logging.getLogger(__name__)


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
        if sub.kind == "xlsx":
            read_xlsx(sub, data, limits)
        elif sub.kind == "csv":
            read_csv(sub, data, limits)
        elif path.suffix.lower() in MACRO_SUFFIXES:
            sub.fail("macro", f"不接收启用宏的工作簿（{path.suffix}）。请在 Excel 中“另存为”"
                     "“Excel 工作簿（*.xlsx）”后提交。", f"macro-enabled workbooks ({path.suffix}) "
                     "are not accepted; save as .xlsx")
        elif path.suffix.lower() == ".xls":
            sub.fail("file_type", "不支持旧版 Excel（.xls）文件。请在 Excel 中“另存为”"
                     "“Excel 工作簿（*.xlsx）”后提交。",
                     "legacy .xls is not supported; save as .xlsx")
        else:
            sub.fail("file_type", f"不支持的文件类型“{path.suffix}”，请提交 .xlsx 或 .csv 文件。",
                     f"unsupported file type {path.suffix!r}; send .xlsx or .csv")
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
