"""What every lienthong DAG shares: owner, retry policy, the warehouse connection, the Assets.

Not a DAG file (listed in ``.airflowignore``); the DAG files import it. Nothing here opens a
connection or reads a file: the warehouse connection is looked up when a task runs.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset

from orchestration.assets import core_table_name, core_table_uri

OWNER = "data-engineering"
START = pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh")
WAREHOUSE_CONN_ID = "hub_warehouse"
"""An Airflow connection (``AIRFLOW_CONN_HUB_WAREHOUSE`` or a secrets backend) naming the warehouse;
without it a task uses ``HUB_WAREHOUSE_URL``, else the embedded server."""

RETRY_POLICY = {
    "retries": 3,
    # 2, 4, 8 minutes: a department's server gets time to recover. A deployment may shorten the
    # first delay (HUB_RETRY_DELAY_SECONDS; `hub cluster up` sets 10 s, so that a load whose worker
    # died resumes on another within two minutes).
    "retry_delay": timedelta(seconds=int(os.environ.get("HUB_RETRY_DELAY_SECONDS") or 120)),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(hours=1),
}


def default_args(owner: str = OWNER) -> dict:
    return {"owner": owner, **RETRY_POLICY}


def core_asset(schema_name: str) -> Asset:
    return Asset(name=core_table_name(schema_name), uri=core_table_uri(schema_name), group="warehouse")


def warehouse_url() -> str | None:
    """The warehouse connection's URL, if the deployment defines one; call it only inside a task."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(WAREHOUSE_CONN_ID).get_uri()
    except AirflowNotFoundException:
        return None
