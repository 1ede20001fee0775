#!/usr/bin/env bash
# `make workspace`: Airflow (standalone) with the reviewer workspace over the demo data of
# `make run`. Open http://localhost:${PORT}/planstats/ and log in with a user printed below.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"  # standalone starts its parts as `airflow …`
export PLANSTATS_DATA_DIR="${PLANSTATS_DATA_DIR:-$root/data/demo}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PLANSTATS_DATA_DIR/airflow}"
# shellcheck source=scripts/airflow-env.sh
source scripts/airflow-env.sh
port="${PORT:-8080}"
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:$port}"
# a reviewer who may decide, a viewer who may only read (SimpleAuthManager; passwords below)
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin,reviewer:user,viewer:viewer}"
[ -d "$PLANSTATS_DATA_DIR/archive" ] || echo "提示：尚无演示数据，请先运行 make run。"
echo "审核工作台：http://localhost:$port/planstats/ （Airflow 导航“Plugins → 规划指标统计审核”，"
echo "            以及各 DAG 页面的“规划指标审核”标签页）；用户与密码见："
echo "            $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
exec airflow standalone
