"""docker-compose.yml as plain processes on this machine: the same environment and commands.

Everything a service gets comes from the compose file, interpolated as ``docker compose`` does
(``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``, ``$$``), then made local: service names
become 127.0.0.1 and a free port, container paths become the local side of their mount. What
only containers have (their own hostname, network namespace and home) is stood in for by
``CONTAINER`` below, and what only a 2-core test needs by ``TEST_TUNING``; nothing else is added.
A value that still names a compose host or a container path after that fails (``Drift``), so
the test breaks when the compose file says something the topology does not do.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROFILE = "celery"
# The Airflow image's home, where compose mounts dags/, plugins/ and the logs volume.
IMAGE_HOME = "/opt/airflow"
# Compose services by what the topology does with them.
SERVERS = ("postgres", "redis")
INIT = "airflow-init"
AIRFLOW = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
           "airflow-triggerer", "airflow-worker")
# Settings of the image, not of compose, pointed at the local side of the mounts.
IMAGE_FOLDERS = {"AIRFLOW__CORE__DAGS_FOLDER": f"{IMAGE_HOME}/dags",
                 "AIRFLOW__CORE__PLUGINS_FOLDER": f"{IMAGE_HOME}/plugins",
                 "AIRFLOW__LOGGING__BASE_LOG_FOLDER": f"{IMAGE_HOME}/logs"}
# Each container has its own hostname and ports; here the processes share one host.
CONTAINER = ("HOSTNAME", "AIRFLOW_HOME", "AIRFLOW__CORE__HOSTNAME_CALLABLE", "AIRFLOW__API__HOST",
             "AIRFLOW__API__PORT", "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
             "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
             "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", "HOME", "LANG", "PATH", "PYTHONPATH")
# A killed worker's task is found within a minute (default 5), two task slots per worker, and
# patience with an api-server slowed by a shared 2-core machine (default 5 s per call).
TEST_TUNING = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    # the test's batches are a few workbooks: read by a forked helper under Celery, as big ones
    "PLANSTATS_READ_FORK_WORKBOOKS": "2",
}
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class Drift(Exception):
    """The compose file says something the local topology cannot do."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}`` and ``$$``."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        got = variables.get(name)
        if op in (":?", "?") and (got is None or (op == ":?" and not got)):
            raise Drift(f"{name} must be set: {arg}")
        if (op == ":-" and not got) or (op == "-" and got is None):
            return arg
        return got or ""

    return _VAR.sub(value, text)


def _interpolated(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolated(v, variables) for v in node]
    if isinstance(node, dict):
        return {k: _interpolated(v, variables) for k, v in node.items()}
    return node


def load(variables: Mapping[str, str], path: Path = COMPOSE) -> dict[str, Any]:
    """The compose file with its anchors merged and variables interpolated."""
    return _interpolated(yaml.safe_load(path.read_text(encoding="utf-8")), variables)


@dataclass
class Local:
    """Where the compose file's hosts and container paths are on this machine."""

    base: Path  # named volumes and the services' homes live here
    endpoints: dict[str, tuple[int, int]]  # compose host → (container port, local port)
    mounts: dict[str, Path] = field(default_factory=dict)  # container path → local path

    def add_mounts(self, volumes: list[str]) -> None:
        for volume in volumes:
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):
                local = (ROOT / source).resolve()
            else:  # a named volume
                local = self.base / "volumes" / source
            local.mkdir(parents=True, exist_ok=True)
            if self.mounts.setdefault(target, local) != local:
                raise Drift(f"{target} is mounted from two places")
        # A parent whose children all come from one local parent (mkdir -p /srv/x/{a,b}).
        parents: dict[str, set[Path]] = {}
        for target, local in self.mounts.items():
            if Path(target).name == local.name:
                parents.setdefault(str(Path(target).parent), set()).add(local.parent)
        for target, locals_ in parents.items():
            if len(locals_) == 1 and target not in ("/", IMAGE_HOME):
                self.mounts.setdefault(target, locals_.pop())

    def rewrite(self, value: str) -> str:
        """Service names → 127.0.0.1:port, container paths → local paths."""
        for host, (port, local) in self.endpoints.items():
            # host[:port] as the compose network knows it; another port stays (and fails check)
            value = re.sub(rf"(?<=[@/]){re.escape(host)}(:{port})?(?=[/?]|$)",
                           f"127.0.0.1:{local}", value)
            value = value.replace(f"localhost:{port}", f"127.0.0.1:{local}")
        for target in sorted(self.mounts, key=len, reverse=True):
            value = re.sub(rf"(?<![\w.-]){re.escape(target)}(?=[/\s'\"{{}}]|$)",
                           str(self.mounts[target]), value)
        return value

    def check(self, where: str, value: str) -> str:
        hosts = "|".join(re.escape(h) for h in self.endpoints)
        if re.search(rf"(?<=[@/])({hosts})(?=[:/])|(?<![\w.-])(/srv/|{IMAGE_HOME})", value):
            raise Drift(f"{where}: {value!r} names a compose host or container path that the "
                        "topology does not provide")
        return value


@dataclass(frozen=True)
class Service:
    """One compose service as a local process: argv and environment."""

    name: str
    argv: list[str]
    env: dict[str, str]
    healthcheck: list[str] | None
    restart: str | None


def airflow_service(compose: dict[str, Any], name: str, local: Local,
                    container: Mapping[str, str]) -> Service:
    """An Airflow service: compose's environment (made local), the image's folders, the
    container's stand-ins, and its command after ``airflow`` (the image's entrypoint)."""
    spec = compose["services"][name]
    local.add_mounts(spec.get("volumes", []))
    env = {key: local.check(f"{name}.{key}", local.rewrite(str(value)))
           for key, value in (spec.get("environment") or {}).items()}
    env |= {key: str(local.mounts[target]) for key, target in IMAGE_FOLDERS.items()}
    env |= TEST_TUNING | dict(container)
    command = spec["command"]
    if spec.get("entrypoint"):
        argv = [*shlex.split(spec["entrypoint"]), *[local.rewrite(c) for c in command]]
    else:
        argv = ["airflow", *(shlex.split(command) if isinstance(command, str) else command)]
    if argv[1:3] == ["celery", "worker"]:  # Celery names a node after the container's host
        argv += ["--celery-hostname", f"celery@{container['HOSTNAME']}"]
    for part in argv:
        local.check(f"{name}.command", part)
    health = spec.get("healthcheck", {}).get("test")
    if health:
        kind, *rest = health
        health = [local.rewrite(part)
                  for part in (["bash", "-c", *rest] if kind == "CMD-SHELL" else rest)]
    return Service(name, argv, env, health, spec.get("restart"))


def started_services(compose: dict[str, Any]) -> set[str]:
    """Services ``docker compose --profile celery up`` starts."""
    return {name for name, spec in compose["services"].items()
            if not spec.get("profiles") or PROFILE in spec["profiles"]}
