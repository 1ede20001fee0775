"""Settings read from the environment, each with a working default."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _reviewer_regions(value: str | None) -> Mapping[str, tuple[str, ...]] | None:
    """``{"user": ["511400", …]}`` from PLANSTATS_REVIEWER_REGIONS; unset or blank is None."""
    if not value or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"PLANSTATS_REVIEWER_REGIONS is not JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(
            isinstance(codes, list) and all(isinstance(c, str | int) for c in codes)
            for codes in parsed.values()):
        raise ValueError('PLANSTATS_REVIEWER_REGIONS must look like {"user": ["511400", …]}')
    return {str(user): tuple(str(c) for c in codes) for user, codes in parsed.items()}


@dataclass(frozen=True)
class Settings:
    """Where things live. Every field has an environment variable ``PLANSTATS_<FIELD>``."""

    data_dir: Path
    include_dir: Path
    warehouse_url: str
    inbox: Path
    archive: Path
    quarantine: Path
    reports: Path
    outbox: Path
    publish: Path
    gx_dir: Path
    stable_seconds: float
    max_file_mb: float
    max_xlsx_mb: float  # all members of an xlsx, uncompressed
    max_zip_members: int
    max_rows: int
    max_cells: int  # rows × columns of a sheet as the reader lays it out
    # user → region codes they may decide for (and below); None: every user allowed to edit
    reviewer_regions: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def from_env(cls) -> Settings:
        data = _path("PLANSTATS_DATA_DIR", PROJECT_ROOT / "data")
        return cls(
            data_dir=data,
            include_dir=_path("PLANSTATS_INCLUDE_DIR", PROJECT_ROOT / "include"),
            warehouse_url=os.environ.get(
                "PLANSTATS_WAREHOUSE_URL", f"sqlite:///{data / 'warehouse.sqlite'}"
            ),
            inbox=_path("PLANSTATS_INBOX", data / "inbox"),
            archive=_path("PLANSTATS_ARCHIVE", data / "archive"),
            quarantine=_path("PLANSTATS_QUARANTINE", data / "quarantine"),
            reports=_path("PLANSTATS_REPORTS", data / "reports"),
            outbox=_path("PLANSTATS_OUTBOX", data / "outbox"),
            publish=_path("PLANSTATS_PUBLISH", data / "publish"),
            gx_dir=_path("PLANSTATS_GX_DIR", data / "gx"),
            stable_seconds=float(os.environ.get("PLANSTATS_STABLE_SECONDS", "2")),
            max_file_mb=float(os.environ.get("PLANSTATS_MAX_FILE_MB", "20")),
            max_xlsx_mb=float(os.environ.get("PLANSTATS_MAX_XLSX_MB", "50")),
            max_zip_members=int(os.environ.get("PLANSTATS_MAX_ZIP_MEMBERS", "1000")),
            max_rows=int(os.environ.get("PLANSTATS_MAX_ROWS", "100000")),
            max_cells=int(os.environ.get("PLANSTATS_MAX_CELLS", "2000000")),
            reviewer_regions=_reviewer_regions(os.environ.get("PLANSTATS_REVIEWER_REGIONS")),
        )

    @property
    def sql_dir(self) -> Path:
        return self.include_dir / "sql"

    @property
    def catalog_dir(self) -> Path:
        return self.include_dir / "catalog"

    @property
    def expectations_dir(self) -> Path:
        return self.include_dir / "expectations"
