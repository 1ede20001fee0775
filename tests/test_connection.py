"""The warehouse as the Airflow connection planstats_warehouse, with its fallbacks."""

import json
import os
import subprocess
import sys

import pytest

from planstats.settings import AIRFLOW_CONN as ENV_VAR
from planstats.settings import Settings

URL = "postgresql+psycopg://planstats:p%40ss@db.example:5433/planstats?sslmode=require"


def test_connection_from_the_environment_wins_over_the_url(data_dir, monkeypatch):
    monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", "sqlite:///elsewhere.sqlite")
    monkeypatch.setenv(ENV_VAR, "postgres://planstats:p%40ss@db.example:5433/planstats"
                                "?sslmode=require")
    assert Settings.from_env().warehouse_url == URL
    monkeypatch.setenv(ENV_VAR, json.dumps({"conn_type": "sqlite", "host": "/srv/w.sqlite"}))
    assert Settings.from_env().warehouse_url == "sqlite:////srv/w.sqlite"
    monkeypatch.setenv(ENV_VAR, "mysql://u@h/db")
    with pytest.raises(ValueError, match="mysql"):
        Settings.from_env()


def test_without_a_connection_the_url_then_the_sqlite_default(data_dir, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert Settings.from_env().warehouse_url == f"sqlite:///{data_dir / 'warehouse.sqlite'}"
    monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", "sqlite:///elsewhere.sqlite")
    assert Settings.from_env().warehouse_url == "sqlite:///elsewhere.sqlite"


def test_inside_airflow_the_connection_comes_from_its_secrets_backend(tmp_path):
    """Airflow's own lookup (secrets backends, then the metadata DB) in an Airflow process."""
    secrets = tmp_path / "connections.json"
    secrets.write_text(json.dumps({"planstats_warehouse": {
        "conn_type": "postgres", "host": "db.example", "port": 5433, "login": "planstats",
        "password": "p@ss", "schema": "planstats", "extra": {"sslmode": "require"}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANSTATS_", ENV_VAR))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__SECRETS__BACKEND":
                "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(secrets)}),
            "PLANSTATS_WAREHOUSE_URL": "sqlite:///not-this.sqlite"}
    code = ("import airflow.sdk\nfrom planstats.settings import Settings\n"
            "print(Settings.from_env().warehouse_url)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == URL
