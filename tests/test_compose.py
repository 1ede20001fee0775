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
    assert env["AIRFLOW_CONN_PLANSTATS_WAREHOUSE"].startswith("postgres://planstats:")
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


VARIABLES = {"POSTGRES_PASSWORD": "pw", "PLANSTATS_DB_PASSWORD": "pw2",
             "AIRFLOW__API_AUTH__JWT_SECRET": "jwt", "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}


def local_topology(tmp_path):
    from tests.topology import compose

    spec = compose.load(VARIABLES | {"PLANSTATS_SHARE": str(tmp_path / "share")})
    local = compose.Local(tmp_path, {"postgres": (5432, 15432), "redis": (6379, 16379),
                                     "airflow-apiserver": (8080, 18080),
                                     "airflow-scheduler": (8974, 18974)})
    return compose, spec, local


def test_the_topology_test_starts_what_compose_starts_with_its_environment(tmp_path):
    """tests/topology runs every service of `--profile celery up`, each with the compose
    environment (made local) and command."""
    compose, spec, local = local_topology(tmp_path)
    assert compose.started_services(spec) == {*compose.SERVERS, compose.INIT, *compose.AIRFLOW}
    for name in (compose.INIT, *compose.AIRFLOW):
        service = compose.airflow_service(spec, name, local, {"HOSTNAME": name})
        declared = spec["services"][name]["environment"]
        assert set(declared) <= set(service.env), name
        assert set(service.env) - set(declared) <= (
            set(compose.IMAGE_FOLDERS) | set(compose.TEST_TUNING) | {"HOSTNAME"}), name
        assert "postgres" not in service.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].split("@")[1]
        assert service.env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@127.0.0.1:16379/0"
        assert service.env["PLANSTATS_INBOX"] == str(tmp_path / "share" / "inbox")
        assert service.env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(ROOT / "plugins")
        command = spec["services"][name]["command"]
        if name != compose.INIT:
            assert service.argv[:1 + len(command.split())] == ["airflow", *command.split()]
    init = compose.airflow_service(spec, compose.INIT, local, {"HOSTNAME": "init"})
    assert "airflow db migrate" in init.argv[-1]
    assert f"mkdir -p {tmp_path / 'share'}/{{inbox," in init.argv[-1]


def test_a_compose_change_the_topology_cannot_follow_fails(tmp_path):
    import pytest

    compose, spec, local = local_topology(tmp_path)
    spec["services"]["airflow-scheduler"]["environment"]["PLANSTATS_EXTRA"] = "/srv/other/x"
    with pytest.raises(compose.Drift, match="PLANSTATS_EXTRA"):
        compose.airflow_service(spec, "airflow-scheduler", local, {"HOSTNAME": "s"})
    spec["services"]["airflow-scheduler"]["environment"]["PLANSTATS_EXTRA"] = "http://statsd:8125"
    spec["services"]["statsd"] = {"image": "statsd"}
    assert compose.started_services(spec) != {*compose.SERVERS, compose.INIT, *compose.AIRFLOW}
    spec["services"]["airflow-scheduler"]["environment"]["PLANSTATS_EXTRA"] = "x@postgres:5433/db"
    with pytest.raises(compose.Drift):
        compose.airflow_service(spec, "airflow-scheduler", local, {"HOSTNAME": "s"})
    with pytest.raises(compose.Drift, match="POSTGRES_PASSWORD"):
        compose.load({})


def test_the_local_postgresql_is_the_compose_image_major_version():
    import subprocess

    image = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["postgres"]
    local = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout
    assert local.split()[1].split(".")[0] == image["image"].split(":")[1].split(".")[0]
