# Production image: Airflow 3.3 with the planstats package and its pinned dependencies.
FROM apache/airflow:3.3.2-python3.11
# The reviewer workspace serves Data Docs offline with Debian's bootstrap and jQuery.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjs-bootstrap4 libjs-jquery \
    && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:0 requirements.txt constraints.txt pyproject.toml README.md /opt/planstats/
COPY --chown=airflow:0 planstats /opt/planstats/planstats
RUN pip install --no-cache-dir -r /opt/planstats/requirements.txt -c /opt/planstats/constraints.txt \
    && pip install --no-cache-dir --no-deps /opt/planstats
