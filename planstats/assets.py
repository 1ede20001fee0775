"""Airflow assets the DAGs share. Light: DAG files import this at top level."""

from __future__ import annotations

from airflow.sdk import Asset

FACTS = Asset(name="planstats_facts", uri="file:///planstats/warehouse/fact_value")
