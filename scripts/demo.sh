#!/usr/bin/env bash
# `make run`: sample submissions for 恩阳区 2021–2025 (a couple of them broken), the collection
# DAG and the yearly statistics DAG through real Airflow (`airflow dags test`), all on the
# embedded defaults (SQLite warehouse and metadata DB) under data/demo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export PLANSTATS_DATA_DIR="${PLANSTATS_DATA_DIR:-$root/data/demo}"
export PLANSTATS_STABLE_SECONDS=0
export AIRFLOW_HOME="$PLANSTATS_DATA_DIR/airflow"
rm -rf "$PLANSTATS_DATA_DIR"
# shellcheck source=scripts/airflow-env.sh
source scripts/airflow-env.sh

echo "== 1/4 生成恩阳区 2021–2025 年度样例报送文件（含 2 个有错误的文件）"
planstats sample --region 511903 --first-year 2021 --last-year 2025

echo "== 2/4 初始化 Airflow 元数据库（SQLite）"
airflow db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1

echo "== 3/4 收集 DAG：planstats_collect"
airflow dags test planstats_collect > "$AIRFLOW_HOME/planstats_collect.log" 2>&1 \
  || { tail -40 "$AIRFLOW_HOME/planstats_collect.log"; exit 1; }
grep -q "state=success" "$AIRFLOW_HOME/planstats_collect.log"

echo "== 4/4 年度统计 DAG：planstats_yearly，统计年度 2021–2025"
for run_year in 2022 2023 2024 2025 2026; do
  airflow dags test planstats_yearly "${run_year}-01-01" > "$AIRFLOW_HOME/planstats_yearly_${run_year}.log" 2>&1 \
    || { tail -40 "$AIRFLOW_HOME/planstats_yearly_${run_year}.log"; exit 1; }
  grep -q "state=success" "$AIRFLOW_HOME/planstats_yearly_${run_year}.log"
done

planstats rollup --plan enyang-14th --year 2025
echo
echo "审核报告一览：   $PLANSTATS_DATA_DIR/reports/2025/index.html（各年度同目录）"
echo "单份审核报告：   $PLANSTATS_DATA_DIR/archive/ 和 $PLANSTATS_DATA_DIR/quarantine/ 中与文件同名的 .report.html"
echo "GX 数据文档：    $PLANSTATS_DATA_DIR/gx/gx/uncommitted/data_docs/local_site/index.html"
echo "年度统计一览：   $PLANSTATS_DATA_DIR/publish/2025/index.html"
echo "年度统计工作簿： $(ls "$PLANSTATS_DATA_DIR"/publish/2025/*.xlsx)"
echo "仓库（SQLite）： $PLANSTATS_DATA_DIR/warehouse.sqlite"
echo
echo "审核工作台（浏览器）：make workspace，然后打开 http://localhost:8080/planstats/"
echo "                    （Airflow standalone，登录用户及密码见 \$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated）"
