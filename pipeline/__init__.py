"""The run of a source: the registry it reads (``config``), the chain of stages (``run``).

Kept import-light: DAG files import ``pipeline.config`` while Airflow parses them.
"""
