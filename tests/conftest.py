"""Shared fixtures: an isolated data folder per test, sample files, a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
ENYANG = "511903"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("PLANSTATS_DATA_DIR", str(data))
    monkeypatch.setenv("PLANSTATS_STABLE_SECONDS", "0")
    for name in ("WAREHOUSE_URL", "INBOX", "ARCHIVE", "QUARANTINE", "REPORTS", "PUBLISH",
                 "GX_DIR", "INCLUDE_DIR", "OUTBOX"):
        monkeypatch.delenv(f"PLANSTATS_{name}", raising=False)
    return data


@pytest.fixture
def ctx(data_dir: Path):
    from planstats import pipeline

    return pipeline.context()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    except (OSError, subprocess.CalledProcessError):
        pass
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: run scripts/ensure-postgres.sh")
    return found[-1].parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server in a throwaway cluster, run as an unprivileged user."""
    bindir = _pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="planstats-pg-"))
    cluster, sockets = base / "cluster", base / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    user = os.environ.get("USER") or "planstats"
    if os.geteuid() == 0:  # initdb refuses root: run the server as nobody
        user = "nobody"
        as_user = ["runuser", "-u", user, "--"]
        for path in (base, sockets):
            shutil.chown(path, user="nobody")
        base.chmod(0o755)
    port = _free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(cluster), "-U", user,
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(cluster), "-w", "-l",
                    str(base / "server.log"), "-o", f"-p {port} -k {sockets} -h 127.0.0.1",
                    "start"], check=True, capture_output=True)
    try:
        url = f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
        deadline = time.time() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user={user} dbname=postgres").close()
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(cluster), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def wh_ctx(request, data_dir, monkeypatch):
    """A pipeline context on a fresh warehouse of each kind."""
    if request.param == "postgresql":
        import uuid

        import psycopg
        from sqlalchemy.engine import make_url

        server = make_url(request.getfixturevalue("postgres_url"))
        name = f"planstats_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(host=server.host, port=server.port, user=server.username,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", url)
    from planstats import pipeline

    return pipeline.context()


def good_values(ctx, region: str, year: int) -> dict:
    """Plausible values for every indicator the region reports in the year."""
    import random

    from planstats.samples import year_values

    return year_values(ctx, region, year, random.Random(f"test-{region}-{year}"))


@pytest.fixture
def make_workbook(ctx):
    """Write a real template for (region, year) filled with good values and the given overrides."""
    from planstats.pipeline import make_template
    from planstats.samples import fill_workbook

    def make(path: Path, region: str = ENYANG, year: int = 2023, overrides: dict | None = None,
             notes: dict | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        values = good_values(ctx, region, year)
        values.update(overrides or {})
        make_template(region, year, path, ctx)
        fill_workbook(path, values, reporter="测试", notes=notes)
        return path

    return make
