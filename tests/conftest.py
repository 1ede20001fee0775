"""Shared fixtures: an isolated data folder per test, sample files, a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
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
    # every ingest of two workbooks or more has every other one read by the forked helper
    monkeypatch.setenv("PLANSTATS_READ_FORK_WORKBOOKS", "2")
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


class PgCluster:
    """A throwaway PostgreSQL cluster on a free port, run as an unprivileged user (initdb
    refuses root), with its own socket folder; ``restart`` keeps port and data."""

    def __init__(self, superuser: str | None = None, password: str | None = None) -> None:
        self.bindir = _pg_bindir()
        self.base = Path(tempfile.mkdtemp(prefix="planstats-pg-"))
        self.cluster, self.sockets = self.base / "cluster", self.base / "sock"
        self.sockets.mkdir()
        self.as_user: list[str] = []
        os_user = os.environ.get("USER") or "planstats"
        if os.geteuid() == 0:  # run the server as nobody
            os_user = "nobody"
            self.as_user = ["runuser", "-u", os_user, "--"]
            for path in (self.base, self.sockets):
                shutil.chown(path, user=os_user)
            self.base.chmod(0o755)
        self.user = superuser or os_user
        self.port = _free_port()
        auth = ["--auth=trust"]
        if password:  # TCP clients give the password; the local socket stays trusted
            pwfile = self.base / "pwfile"
            pwfile.write_text(password)
            if self.as_user:
                shutil.chown(pwfile, user=os_user)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        subprocess.run([*self.as_user, str(self.bindir / "initdb"), "-D", str(self.cluster),
                        "-U", self.user, *auth, "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.cluster),
                        *args], check=True, capture_output=True)

    def start(self) -> None:
        self.pg_ctl("-w", "-l", str(self.base / "server.log"), "-o",
                    f"-p {self.port} -k {self.sockets} -h 127.0.0.1", "start")

    def stop(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "stop")

    @property
    def pid(self) -> int:
        return int((self.cluster / "postmaster.pid").read_text().split()[0])

    def psql_env(self) -> dict[str, str]:
        """What a client on the local socket needs (as in the image's init scripts)."""
        return {**os.environ, "PGHOST": str(self.sockets), "PGPORT": str(self.port),
                "PGUSER": self.user, "PATH": f"{self.bindir}:{os.environ['PATH']}"}

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.time() + timeout
        while True:
            try:
                psycopg.connect(host=str(self.sockets), port=self.port, user=self.user,
                                dbname="postgres").close()
                return
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server in a throwaway cluster, run as an unprivileged user."""
    pg = PgCluster()
    pg.start()
    try:
        pg.wait_ready()
        yield f"postgresql+psycopg://{pg.user}@127.0.0.1:{pg.port}/postgres"
    finally:
        pg.remove()


def fresh_database(server_url: str) -> str:
    """The URL of a new, empty database on the PostgreSQL server of ``server_url``."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"planstats_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def wh_ctx(request, data_dir, monkeypatch):
    """A pipeline context on a fresh warehouse of each kind."""
    if request.param == "postgresql":
        monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL",
                           fresh_database(request.getfixturevalue("postgres_url")))
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
