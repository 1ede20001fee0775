"""docker compose --profile celery up, as plain processes: start, watch, fault, stop.

Every process runs in its own session (its own process group) so that a fault or the teardown
signals exactly it and its children, by process id, never by name. Services whose compose
``restart`` is ``always`` are restarted when they exit by themselves, as Docker would.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import PgCluster, _free_port
from tests.topology import compose

VENV_BIN = Path(sys.executable).parent
WORKERS = 2  # docker compose --profile celery up --scale airflow-worker=2


class Proc:
    """One service's process (a container's main process) and its log."""

    def __init__(self, container: str, service: compose.Service, logs: Path) -> None:
        self.container, self.service = container, service
        self.log_path = logs / f"{container}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.expected_down = False
        self.restarts = 0

    def start(self) -> None:
        self.log = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.service.argv, env=self.service.env, stdout=self.log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=self.service.env.get("AIRFLOW_HOME"),
                                      start_new_session=True)
        self.expected_down = False

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Signal the process group (the service and every child it forked)."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def kill9(self) -> None:
        self.expected_down = True
        self.signal(signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait(30)

    def stop(self, grace: float = 20) -> None:
        self.expected_down = True
        if self.alive():
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)  # type: ignore[union-attr]
        self.signal(signal.SIGKILL)  # whatever of the group is left
        if self.popen is not None:
            self.popen.wait(30)
        if self.log:
            self.log.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Stack:
    """PostgreSQL, Redis, airflow-init, then the Airflow services, all from docker-compose.yml."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.logs = base / "logs"
        self.logs.mkdir(parents=True)
        self.share = base / "share"
        # The .env a data team writes for docker compose.
        self.variables = {
            "POSTGRES_PASSWORD": secrets.token_urlsafe(12),
            "PLANSTATS_DB_PASSWORD": secrets.token_urlsafe(12),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "PLANSTATS_SHARE": str(self.share),
        }
        self.spec = compose.load(self.variables)
        self.pg: PgCluster | None = None
        self.procs: dict[str, Proc] = {}
        self.local: compose.Local | None = None
        self.api_url = ""
        self._watching = threading.Event()
        self.timings: dict[str, float] = {}

    # ---- servers -----------------------------------------------------------------------
    def start_postgres(self) -> None:
        """The postgres image's entrypoint: superuser, POSTGRES_DB, then initdb.d scripts."""
        env = self.spec["services"]["postgres"]["environment"]
        self.pg = PgCluster(superuser=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"])
        self.pg.start()
        self.pg.wait_ready()
        psql = self.pg.psql_env() | {k: str(v) for k, v in env.items()}
        if env["POSTGRES_DB"] != "postgres":
            subprocess.run(["createdb", env["POSTGRES_DB"]], env=psql, check=True,
                           capture_output=True)
        local = compose.Local(self.base, {})
        local.add_mounts(self.spec["services"]["postgres"]["volumes"])
        for script in sorted(local.mounts["/docker-entrypoint-initdb.d"].glob("*.sh")):
            subprocess.run(["bash", str(script)], env=psql, check=True, capture_output=True)

    def start_redis(self) -> int:
        port = _free_port()
        service = compose.Service("redis", [
            shutil.which("redis-server") or "redis-server", "--port", str(port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            dict(os.environ), None, "always")
        proc = Proc("redis", service, self.logs)
        proc.start()
        self.procs["redis"] = proc
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("redis did not start:\n" + proc.tail())
            time.sleep(0.2)
        return port

    # ---- Airflow -------------------------------------------------------------------------
    def container_env(self, container: str) -> dict[str, str]:
        home = self.base / "home" / container
        home.mkdir(parents=True, exist_ok=True)
        assert self.local is not None
        return {
            "HOSTNAME": container,
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.topology.container.hostname",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.local.endpoints["airflow-apiserver"][1]),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT":
                str(self.local.endpoints["airflow-scheduler"][1]),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "PYTHONPATH": str(compose.ROOT),
        }

    def service(self, name: str, container: str) -> compose.Service:
        assert self.local is not None
        return compose.airflow_service(self.spec, name, self.local, self.container_env(container))

    def start(self) -> None:
        began = time.monotonic()
        self.start_postgres()
        redis_port = self.start_redis()
        assert self.pg is not None
        self.local = compose.Local(self.base, {
            "postgres": (5432, self.pg.port), "redis": (6379, redis_port),
            "airflow-apiserver": (8080, _free_port()), "airflow-scheduler": (8974, _free_port())})
        self.api_url = f"http://127.0.0.1:{self.local.endpoints['airflow-apiserver'][1]}"
        self.timings["servers_s"] = time.monotonic() - began
        init = self.service(compose.INIT, compose.INIT)
        done = subprocess.run(init.argv, env=init.env, capture_output=True, text=True,
                              cwd=init.env["AIRFLOW_HOME"], timeout=400)
        (self.logs / f"{compose.INIT}.log").write_text(done.stdout + done.stderr)
        if done.returncode:
            raise RuntimeError(f"{compose.INIT} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        self.timings["init_s"] = time.monotonic() - began - self.timings["servers_s"]
        for name in compose.AIRFLOW:
            count = WORKERS if name == "airflow-worker" else 1
            for n in range(1, count + 1):
                container = f"{name}-{n}" if count > 1 else name
                proc = Proc(container, self.service(name, container), self.logs)
                proc.start()
                self.procs[container] = proc
        threading.Thread(target=self._restart_always, daemon=True).start()
        self.wait_healthy()
        self.timings["startup_s"] = time.monotonic() - began

    def wait_healthy(self, timeout: float = 420) -> None:
        """Every service healthy, as compose's healthchecks mean it (``service_healthy``).

        The api-server's and scheduler's checks are HTTP GETs and run as written. The others
        start an Airflow or Celery command each (5–10 s of CPU apiece, minutes on a loaded
        2-core machine), so the same facts are read cheaply: the dag-processor's and
        triggerer's job heartbeats from ``/api/v2/monitor/health`` (what ``airflow jobs
        check`` reads), and each worker's own "ready" line (what ``inspect ping`` asks it).
        """
        deadline = time.monotonic() + timeout

        def ready(what: str, probe) -> None:
            while not probe():
                dead = [p.container for p in self.procs.values() if not p.alive()]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"not {what} (exited: {dead}):\n{self.logs_tail()}")
                time.sleep(1)

        for name in ("airflow-apiserver", "airflow-scheduler"):
            check = self.procs[name].service.healthcheck
            assert check and check[0] == "curl", check
            ready(f"{name} healthy", lambda check=check: subprocess.run(
                check, capture_output=True, timeout=30).returncode == 0)

        def jobs() -> bool:
            health = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=30).json()
            return all((health.get(job) or {}).get("status") == "healthy"
                       for job in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

        ready("dag-processor and triggerer heartbeating", jobs)
        for proc in self.procs.values():
            if proc.service.argv[1:3] == ["celery", "worker"]:
                ready(f"{proc.container} ready", lambda proc=proc: f"celery@{proc.container} ready"
                      in proc.log_path.read_text(errors="replace"))

    def _restart_always(self) -> None:
        while not self._watching.wait(1):
            for proc in list(self.procs.values()):
                if (proc.service.restart == "always" and not proc.expected_down
                        and proc.popen is not None and proc.popen.poll() is not None):
                    proc.restarts += 1
                    proc.start()

    def restart(self, container: str) -> None:
        """``docker compose restart``-like start of a stopped or killed service."""
        self.procs[container].start()

    def admin_password(self) -> str:
        home = Path(self.procs["airflow-apiserver"].service.env["AIRFLOW_HOME"])
        path = home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    def healthy_api(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/api/v2/version", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """Stop everything this stack started, by its own process groups; then PostgreSQL."""
        self._watching.set()
        for proc in self.procs.values():  # all at once, then whatever is left gets SIGKILL
            proc.expected_down = True
            proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            while proc.alive() and time.monotonic() < deadline:
                time.sleep(0.2)
            proc.stop(grace=0)
        if self.pg is not None:
            self.pg.remove()

    def logs_tail(self) -> str:
        return "\n".join(f"--- {p.container}\n{p.tail(20)}" for p in self.procs.values())
