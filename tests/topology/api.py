"""What an operator's script does with Airflow's REST API v2: log in, unpause, trigger, watch."""

from __future__ import annotations

import time
from typing import Any

import httpx


class Api:
    """A logged-in client of one api-server (a JWT from ``/auth/token``)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        login = httpx.post(f"{base_url}/auth/token", json={"username": username,
                                                           "password": password}, timeout=60)
        login.raise_for_status()
        self.client = httpx.Client(base_url=f"{base_url}/api/v2", timeout=60, headers={
            "Authorization": f"Bearer {login.json()['access_token']}"})

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; retried while the api-server itself cannot answer (restarts, DB down)."""
        deadline = time.monotonic() + 90
        while True:
            try:
                response = self.client.request(method, path, **kwargs)
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.json() if response.content else None
                problem = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                problem = repr(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: {problem}")
            time.sleep(1)

    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 100})["dags"])

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.call("POST", f"/dags/{dag_id}/dagRuns",
                        json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns",
                         params={"limit": 100, "order_by": "run_after"})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """The run once it has finished (success or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout} s")
            time.sleep(1)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                         params={"limit": 100})["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str,
              map_index: int = -1) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        return self.call("GET", f"{path}/tries")["task_instances"]
