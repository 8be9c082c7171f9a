# The image every Airflow component of docker-compose.yml runs: Airflow's official image with the hub
# installed (adapters, schemas, checks, pipeline) so that workers run the same code as `hub run`.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root . /opt/lienthong
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -e "/opt/lienthong[cluster]"
