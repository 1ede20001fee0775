"""Settings: one typed object read from the environment (``PLANSTATS_<FIELD>``), with defaults.

No other module reads the environment: everything comes from ``Settings.from_env()``. A value
that does not parse stops with a message naming the variable and the form it expects.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "PLANSTATS_"
AIRFLOW_CONN = "AIRFLOW_CONN_PLANSTATS_WAREHOUSE"


class SettingsError(ValueError):
    """An environment variable that cannot be used as it is."""


def _resolved(value: Any) -> Any:
    return Path(value).expanduser().resolve() if isinstance(value, str | Path) and value else value


AbsPath = Annotated[Path | None, BeforeValidator(_resolved)]
_DERIVED = ("inbox", "archive", "quarantine", "reports", "outbox", "publish", "gx_dir")
_FORMS = {  # what a variable of each type looks like, for the error message
    "int": "a whole number, e.g. 100000", "float": "a number, e.g. 20 or 0.5",
    "bool": "true or false (1 / 0)", "path": "a folder path",
}


class Settings(BaseSettings):
    """Where things live and the limits the pipeline applies."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    data_dir: AbsPath = Field(default=None, description="root of everything written")
    include_dir: AbsPath = Field(default=None, description="catalog, SQL, suites, templates")
    warehouse_url: str = Field(default="", description="SQLAlchemy URL; SQLite under data/")
    # the Airflow Connection planstats_warehouse given in the environment (URI or JSON form)
    airflow_conn_warehouse: str | None = Field(
        default=None, validation_alias=AIRFLOW_CONN)
    inbox: AbsPath = None
    archive: AbsPath = None
    quarantine: AbsPath = None
    reports: AbsPath = None
    outbox: AbsPath = None
    publish: AbsPath = None
    gx_dir: AbsPath = None
    stable_seconds: float = Field(default=2, ge=0)
    max_file_mb: float = Field(default=20, gt=0)
    max_xlsx_mb: float = Field(default=50, gt=0)  # all members of an xlsx, uncompressed
    max_zip_members: int = Field(default=1000, gt=0)
    max_rows: int = Field(default=100_000, gt=0)
    max_cells: int = Field(default=2_000_000, gt=0)  # rows × columns as the reader lays out
    gx_keep_runs: int = Field(default=30, ge=1)  # GX results kept per suite (Data Docs speed)
    max_parallel: int = Field(default=2, ge=1)  # mapped Airflow tasks at a time
    # from this many workbooks in one ingest a forked helper reads ≈ every other one (0: never)
    read_fork_workbooks: int = Field(default=16, ge=0)
    # from this many statistics rows a plan's JSON is written by a forked child (0: never)
    publish_fork_rows: int = Field(default=20_000, ge=0)
    # a chunk's GX run by a forked worker while the next chunk's files are read (False: here)
    gx_fork: bool = True
    allow_purge: bool = False  # `planstats purge` is for test warehouses only
    # user → region codes they may decide for (and below); unset: every user who may edit
    reviewer_regions: dict[str, list[Annotated[str, BeforeValidator(str)]]] | None = None
    quality_threshold: float = Field(default=3.5, gt=0)  # |modified z| that stands out
    quality_min_peers: int = Field(default=5, ge=2)  # reporting counties a peer group needs

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        data = self.data_dir or PROJECT_ROOT / "data"
        set_ = object.__setattr__  # frozen: fill the derived defaults once, here
        set_(self, "data_dir", data)
        set_(self, "include_dir", self.include_dir or PROJECT_ROOT / "include")
        from planstats.connection import warehouse_url_from_airflow

        # the Airflow Connection first, then PLANSTATS_WAREHOUSE_URL, then SQLite under data/
        set_(self, "warehouse_url", warehouse_url_from_airflow(self.airflow_conn_warehouse)
             or self.warehouse_url or f"sqlite:///{data / 'warehouse.sqlite'}")
        for name, default in zip(_DERIVED, ("inbox", "archive", "quarantine", "reports",
                                            "outbox", "publish", "gx"), strict=True):
            if getattr(self, name) is None:
                set_(self, name, data / default)
        return self

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of the current environment (validated once per distinct environment)."""
        return _from(tuple(sorted((k, v) for k, v in os.environ.items()
                                  if k.startswith(PREFIX) or k == AIRFLOW_CONN)))

    def replaced(self, **changes: Any) -> Settings:
        """A copy with some fields changed (e.g. the CLI's ``--inbox``), validated again."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @property
    def sql_dir(self) -> Path:
        return self.include_dir / "sql"

    @property
    def catalog_dir(self) -> Path:
        return self.include_dir / "catalog"

    @property
    def expectations_dir(self) -> Path:
        return self.include_dir / "expectations"


@cache
def _from(environment: tuple[tuple[str, str], ...]) -> Settings:
    env = dict(environment)
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_explain(exc, env)) from None


def _explain(exc: ValidationError, env: dict[str, str]) -> str:
    lines = []
    for error in exc.errors():
        if not error["loc"]:  # a check across fields (e.g. the Airflow connection's type)
            lines.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        field = str(error["loc"][0])
        variable = AIRFLOW_CONN if field == "airflow_conn_warehouse" else PREFIX + field.upper()
        annotation = Settings.model_fields[field].annotation if field in Settings.model_fields \
            else None
        kind = getattr(annotation, "__name__", str(annotation)).lower()
        form = next((f for k, f in _FORMS.items() if k in kind), None)
        if field == "reviewer_regions":
            form = 'JSON {"user": ["511400", …]}'
        expected = form or error["msg"]
        lines.append(f"{variable}={env.get(variable, '')!r}: expected {expected} ({error['msg']})")
    return "bad setting: " + "; ".join(lines)

