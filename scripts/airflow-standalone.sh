#!/usr/bin/env bash
# `make airflow`: a local Airflow — `airflow standalone` (api-server, scheduler, dag-processor,
# triggerer on an SQLite metadata DB under data/airflow) with the project's DAGs, plugins and
# settings. Standalone starts its parts as `airflow …` by name, so the venv's bin goes first on
# PATH: nothing needs activating. Port: AIRFLOW_PORT (default 8080).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
# shellcheck source=scripts/airflow-env.sh
source scripts/airflow-env.sh
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
url="http://localhost:$AIRFLOW__API__PORT"
echo "planstats: starting Airflow standalone (home $AIRFLOW_HOME, DAGs $AIRFLOW__CORE__DAGS_FOLDER)"
(  # tell the login once the api-server has written it
  for _ in $(seq 1 600); do
    if [ -s "$passwords" ] && curl -fs "$url/api/v2/version" >/dev/null 2>&1; then
      echo "planstats: Airflow UI $url — login admin / $(python -c \
        'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$passwords")"
      exit 0
    fi
    sleep 1
  done
) &
exec airflow standalone
