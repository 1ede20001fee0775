"""A running ``airflow standalone`` with the workspace plugin, over a warehouse with real
submissions: 东坡区 and 仁寿县 (眉山市), 锦江区 and 金牛区 (成都市; 金牛区 is the browser test's),
a workbook from 青羊区 rejected for text in a number cell, year 2025.

Users (SimpleAuthManager): admin (admin), viewer (viewer: reads only), meishan and chengdu
(user). PLANSTATS_REVIEWER_REGIONS scopes admin to 510000 四川省, meishan to 511400 眉山市 and
chengdu to 510100 成都市.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2025
DONGPO, RENSHOU, JINJIANG, QINGYANG, JINNIU = "511402", "511421", "510104", "510105", "510106"
MEISHAN, CHENGDU = "511400", "510100"
USERS = "admin:admin,viewer:viewer,meishan:user,chengdu:user"
SCOPES = {"admin": ["510000"], "meishan": [MEISHAN], "chengdu": [CHENGDU]}


@dataclass
class Workspace:
    url: str  # the api-server, e.g. http://127.0.0.1:PORT
    data: Path
    home: Path
    env: dict[str, str]
    ids: dict[str, str]  # region code → its current submission id

    def password(self, user: str) -> str:
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())[user]

    def token(self, user: str) -> str:
        r = httpx.post(f"{self.url}/auth/token", timeout=30,
                       json={"username": user, "password": self.password(user)})
        r.raise_for_status()
        return r.json()["access_token"]

    def client(self, user: str | None = None, cookie: bool = False) -> httpx.Client:
        """A client authenticated as ``user`` by bearer token, or by the UI cookie."""
        headers, cookies = {}, {}
        if user and cookie:
            cookies["_token"] = self.token(user)
        elif user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return httpx.Client(base_url=self.url, headers=headers, cookies=cookies, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _submissions(data: Path) -> dict[str, str]:
    """Real county workbooks through the real ingest, then the year's roll-ups and Data Docs."""
    from planstats import pipeline
    from planstats.samples import fill_workbook, year_values

    ctx = pipeline.context()
    inbox = ctx.settings.inbox
    for county in (DONGPO, RENSHOU, JINJIANG, JINNIU):
        path = inbox / county / f"{county}_{YEAR}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        pipeline.make_template(county, YEAR, path, ctx)
        fill_workbook(path, year_values(ctx, county, YEAR, random.Random(county)), reporter="测试")
    broken = inbox / QINGYANG / "青羊区2025.xlsx"  # a number cell holding text: rejected
    broken.parent.mkdir(parents=True, exist_ok=True)
    pipeline.make_template(QINGYANG, YEAR, broken, ctx)
    values = year_values(ctx, QINGYANG, YEAR, random.Random(QINGYANG))
    first = next(iter(values))
    fill_workbook(broken, {**values, first: ("不详", None, None)}, reporter="测试")
    outcomes = pipeline.ingest(ctx=ctx)
    assert len(outcomes) == 5, outcomes
    for code in pipeline.plans_of_year(YEAR, ctx):
        pipeline.run_rollup(code, YEAR, ctx)
        pipeline.publish_statistics(code, YEAR, ctx=ctx)
    pipeline.data_docs(ctx)
    return {o["region_code"]: o["submission_id"] for o in outcomes if o["status"] != "rejected"}


def _wait(url: str, proc: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise RuntimeError(f"airflow standalone did not answer in {seconds} s:\n"
                       f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("workspace")
    data, home = root / "data", root / "airflow"
    home.mkdir()
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLANSTATS_", "AIRFLOW"))},
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",  # standalone starts `airflow …`
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "1",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        # the log servers default to fixed ports (8793, 8794) other runs may hold
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
        "AIRFLOW__API_AUTH__JWT_SECRET": "planstats-workspace-test-secret-" + "x" * 40,
        "GX_ANALYTICS_ENABLED": "False",
        "PLANSTATS_DATA_DIR": str(data),
        "PLANSTATS_STABLE_SECONDS": "0",
        "PLANSTATS_REVIEWER_REGIONS": json.dumps(SCOPES),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            if key.startswith("PLANSTATS_"):
                mp.setenv(key, value)
        ids = _submissions(data)
    log = root / "standalone.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["airflow", "standalone"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, log, 600)
        yield Workspace(url, data, home, env, ids)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
