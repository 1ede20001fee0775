"""Landing-zone rules: which files are picked up, which names and links are refused, and reading
a file's bytes once (no links followed, size limit first, hashed as read)."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from planstats.intake.model import CHUNK, Limits, Submission, mb

log = logging.getLogger(__name__)


READ_SUFFIXES = (".xlsx", ".xls", ".ods", ".csv")
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
# What the landing zone picks up: files it reads, and spreadsheets it refuses with a report
# rather than ignoring them, so the county learns why nothing happened.
SUFFIXES = (*READ_SUFFIXES, *MACRO_SUFFIXES, ".xlsb", ".xltx", ".et", ".ett", ".numbers")
MAX_NAME_BYTES = 200  # archive prefix and report suffixes must still fit in 255 bytes


LINK_MESSAGE = "文件或文件夹是链接（快捷方式），系统不读取链接。请把文件本身放入本县文件夹。"


def landing_problem(path: Path, inbox: Path) -> str | None:
    """Why the pipeline may not pick up ``path`` from ``inbox``, in the county's words (logged
    in English); None when it may.

    Links are never followed (a county could point at any file the pipeline can read), and the
    name must survive being stored, archived and reported: valid UTF-8, short enough to carry
    the archive's prefixes and suffixes within the file system's 255-byte limit.
    """
    reason = message = None
    try:
        relative = path.relative_to(inbox)
        links = [inbox / Path(*relative.parts[:i]) for i in range(1, len(relative.parts) + 1)]
        longest = max(len(part.encode("utf-8")) for part in relative.parts)
        if any(p.is_symlink() for p in links):
            reason, message = "symbolic link", LINK_MESSAGE
        elif not path.resolve().is_relative_to(inbox.resolve()):
            reason, message = "resolves outside the inbox", LINK_MESSAGE
        elif longest > MAX_NAME_BYTES:
            reason = f"name longer than {MAX_NAME_BYTES} bytes"
            message = (f"文件名过长（{longest} 字节，上限 {MAX_NAME_BYTES} 字节，约 "
                       f"{MAX_NAME_BYTES // 3} 个汉字）。请改短文件名后重新放入。")
    except UnicodeEncodeError:  # a ValueError too: caught first
        reason = "name is not valid UTF-8"
        message = "文件名的编码无法识别（不是 UTF-8）。请重新命名后再放入。"
    except ValueError:
        reason, message = "not under the inbox", "文件不在本县的共享文件夹内。"
    if reason:
        log.warning("not picked up from the landing zone (%s): %r", reason, str(path))
    return message



def landed_bytes(sub: Submission, limits: Limits, follow_links: bool) -> bytes | None:
    """The file's bytes, or None after recording why they are not read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(sub.path, flags)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        sub.fail("unsafe_path", "文件是符号链接（快捷方式），系统不读取链接。"
                 "请把文件本身放入本县文件夹。",
                 "symbolic links in the landing zone are not followed")
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        sub.received_at = datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")
        if not stat.S_ISREG(info.st_mode):
            sub.fail("file_type", "这不是一个普通文件，无法作为填报文件读取。",
                     "not a regular file")
            return None
        if info.st_size > limits.file_bytes:
            digest = hashlib.sha256()
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
            sub.file_hash = digest.hexdigest()
            too_large(sub, info.st_size, limits)
            return None
        data = fh.read(limits.file_bytes + 1)
    sub.file_hash = hashlib.sha256(data).hexdigest()
    if len(data) > limits.file_bytes:  # grew while being read
        too_large(sub, len(data), limits)
        return None
    return data


def too_large(sub: Submission, size: int, limits: Limits) -> None:
    sub.fail("file_too_large", f"文件大小 {mb(size)} MB，超过上限 {mb(limits.file_bytes)} MB。"
             "请删除无关的工作表和图片，只保留本县的填报数据后重新提交。",
             f"file is {size} bytes, over the limit of {limits.file_bytes}")
