"""What the Airflow DAGs run, as plain Python with no Airflow import.

The files in ``dags/`` are wiring only (schedule, retries, pools, assets); the bodies of their
tasks live here so that a test, the CLI and a worker call the same code, and so that parsing a
DAG file imports nothing heavy: every stage is imported inside the function that runs it.
"""
