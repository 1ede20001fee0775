"""OLE2 compound files (legacy .xls, and Office's password-protected packages): the streams
inside, read with every sector number, chain and size checked against the file, so a crafted
file cannot loop, point outside itself or claim more than it holds.

Layout from Microsoft's [MS-CFB] specification: a 512-byte header, a FAT of sector chains (its
sectors listed in the header's DIFAT and a DIFAT chain), a directory of 128-byte entries, and
a mini stream (with its own mini FAT) for streams under 4,096 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from planstats.intake.model import OLE_SIGNATURE

_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
_MAX_SECTOR = 0xFFFFFFFA  # larger numbers are markers, not sectors
_STREAM, _ROOT = 2, 5


class OleError(ValueError):
    """The compound file is malformed; the message says how (for the engineers' log)."""


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: int
    start: int
    size: int


class CompoundFile:
    """Read-only view of the streams of an OLE2 file held in memory."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(OLE_SIGNATURE):
            raise OleError("not an OLE2 compound file")
        (major, order, shift, mini_shift, fat_sectors, first_dir, mini_cutoff, first_minifat,
         minifat_sectors, first_difat, difat_sectors) = struct.unpack(
            "<2xHHHH10xLL4xLLLLL", data[24:76])
        if order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
            raise OleError(f"unsupported header (version {major}, sector shift {shift})")
        self._data = data
        self._size = 1 << shift
        self._sectors = (len(data) - 1) // self._size  # the header fills sector -1
        if fat_sectors > self._sectors or minifat_sectors > self._sectors:
            raise OleError("more FAT sectors declared than the file holds")
        self._cutoff = mini_cutoff
        self._fat = self._read_fat(data, fat_sectors, first_difat, difat_sectors)
        entries = self._chain_bytes(first_dir, self._fat)
        self.entries = [self._entry(entries[at:at + 128], major)
                        for at in range(0, len(entries), 128)]
        root = next((e for e in self.entries if e.kind == _ROOT), None)
        if root is None:
            raise OleError("no root entry")
        self._minifat = (self._table(self._chain_bytes(first_minifat, self._fat))
                         if minifat_sectors else [])
        self._ministream = (self._chain_bytes(root.start, self._fat)[:root.size]
                            if root.size else b"")

    def names(self) -> set[str]:
        return {e.name for e in self.entries if e.kind in (_STREAM, _ROOT)}

    def stream(self, name: str) -> bytes | None:
        """The bytes of stream ``name`` (case-insensitive, as in the spec), or None."""
        entry = next((e for e in self.entries if e.kind == _STREAM
                      and e.name.lower() == name.lower()), None)
        if entry is None:
            return None
        if entry.size < self._cutoff:
            data = self._chain_bytes(entry.start, self._minifat, mini=True)
        else:
            data = self._chain_bytes(entry.start, self._fat)
        if len(data) < entry.size:
            raise OleError(f"stream {name!r} is shorter than its declared size")
        return data[:entry.size]

    def _read_fat(self, data: bytes, count: int, first_difat: int, difat_count: int) -> list[int]:
        listed = list(struct.unpack("<109L", data[76:512]))
        per_sector = self._size // 4
        sector, seen = first_difat, set()
        while sector <= _MAX_SECTOR and len(seen) < difat_count:
            if sector in seen:
                raise OleError("DIFAT chain loops")
            seen.add(sector)
            block = self._sector(sector)
            listed += struct.unpack(f"<{per_sector - 1}L", block[:-4])
            (sector,) = struct.unpack("<L", block[-4:])
        fat: list[int] = []
        for sector in listed[:count]:
            fat += self._table(self._sector(sector))
        return fat

    @staticmethod
    def _table(block: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(block) // 4}L", block[:len(block) // 4 * 4]))

    def _sector(self, number: int) -> bytes:
        if number >= self._sectors:
            raise OleError(f"sector {number} is beyond the end of the file")
        start = (number + 1) * self._size
        return self._data[start:start + self._size]

    def _chain_bytes(self, start: int, table: list[int], mini: bool = False) -> bytes:
        """The sectors of a chain joined; a chain may visit each sector once and must end."""
        size = 64 if mini else self._size
        parts, seen, sector = [], set(), start
        while sector != _END_OF_CHAIN:
            if sector > _MAX_SECTOR or sector >= len(table) or sector in seen:
                raise OleError("broken or looping sector chain")
            seen.add(sector)
            if mini:
                block = self._ministream[sector * 64:sector * 64 + 64]
                if len(block) < 64:
                    raise OleError("mini sector beyond the mini stream")
            else:
                block = self._sector(sector)
            parts.append(block)
            sector = table[sector]
        return b"".join(parts)[:len(parts) * size]

    @staticmethod
    def _entry(raw: bytes, major: int) -> _Entry:
        if len(raw) < 128:
            return _Entry("", 0, _FREE, 0)
        length = min(struct.unpack("<H", raw[64:66])[0], 64)
        name = raw[:max(length - 2, 0)].decode("utf-16-le", errors="replace")
        start, size = struct.unpack("<LQ", raw[116:128])
        if major == 3:  # version 3 leaves the high half of the size undefined
            size &= 0xFFFFFFFF
        return _Entry(name, raw[66], start, size)
