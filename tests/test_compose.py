"""docker-compose.yml cannot start here (no Docker engine): check it as data."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_has_airflow_3_services_postgres_and_the_shared_folders():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    for name in ("postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "airflow-init"):
        assert name in services, name
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert services["airflow-dag-processor"]["command"] == "dag-processor"
    for name in ("postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer"):
        assert "healthcheck" in services[name], name
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    scheduler = services["airflow-scheduler"]
    env = scheduler["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"].startswith("${AIRFLOW__CORE__EXECUTOR:-LocalExecutor")
    assert env["PLANSTATS_WAREHOUSE_URL"].startswith("postgresql+psycopg://")
    assert "postgres" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    mounts = {next(part for part in v.split(":")[1:] if part.startswith("/"))
              for v in scheduler["volumes"]}
    for folder in ("inbox", "archive", "quarantine", "reports", "outbox", "publish", "gx"):
        assert f"/srv/planstats/{folder}" in mounts
        assert env[f"PLANSTATS_{'GX_DIR' if folder == 'gx' else folder.upper()}"] == \
            f"/srv/planstats/{folder}"
    assert "/opt/airflow/dags" in mounts


def test_compose_takes_every_secret_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${POSTGRES_PASSWORD" in text and "${PLANSTATS_DB_PASSWORD" in text
    compose = yaml.safe_load(text)
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key:
                assert str(value).startswith("${"), key
