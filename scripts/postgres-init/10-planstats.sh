#!/usr/bin/env bash
# Runs once when the PostgreSQL volume is created: the warehouse database and its owner.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role planstats login password '${PLANSTATS_DB_PASSWORD}';
create database planstats owner planstats;
SQL
