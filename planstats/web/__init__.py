"""The reviewer workspace: pages and JSON served inside Airflow by the plugin in plugins/.

``views`` assembles what each page shows from the warehouse (no web framework), ``files``
resolves downloads by id, ``app`` holds the thin FastAPI routes and Airflow authentication.
"""
