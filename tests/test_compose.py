"""docker-compose.yml, checked without a Docker engine: parsed, and every service the hub needs
wired to what it needs; secrets only from the uncommitted .env, whose template lists them all."""
from __future__ import annotations

import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from hub.cli import app
from pipeline.config import REPO_ROOT

COMPOSE_TEXT = (REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)  # PyYAML resolves the << merge keys as Compose does
SERVICES = COMPOSE["services"]
AIRFLOW = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
           "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
           "airflow-worker": "celery worker"}
HUB_NEEDS = ("AIRFLOW_CONN_HUB_WAREHOUSE", "HUB_SOURCES", "HUB_PII_KEY", "HUB_PROVINCE",
             "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
             "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CORE__DAGS_FOLDER")


def host(url: str) -> str:
    return urlsplit(re.sub(r"\$\{[^}]*\}", "x", url)).hostname


def test_the_airflow_3_components_run_on_celery_with_redis_and_their_own_postgres():
    assert set(SERVICES) == {*AIRFLOW, "airflow-init", "postgres", "warehouse-db", "redis"}
    for name, command in AIRFLOW.items():
        env = SERVICES[name]["environment"]
        assert SERVICES[name]["command"] == command
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert host(env["AIRFLOW__CELERY__BROKER_URL"]) == "redis"
        assert host(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]) == "postgres"
        assert host(env["AIRFLOW_CONN_HUB_WAREHOUSE"]) == "warehouse-db"  # a separate database server
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
                    "AIRFLOW__CELERY__RESULT_BACKEND"):  # the driver the hub installs (psycopg 3), sync and async
            assert urlsplit(env[key]).scheme.removeprefix("db+") == "postgresql+psycopg", key
        assert set(HUB_NEEDS) <= set(env), name
        assert {"airflow-init": {"condition": "service_completed_successfully"}}.items() <= \
            SERVICES[name]["depends_on"].items()
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale airflow-worker=N
    assert SERVICES["airflow-worker"]["environment"]["HUB_PII_KEY"] == "${HUB_PII_KEY:?set in .env}"


def test_every_long_running_service_has_a_health_check_and_init_migrates_both_databases():
    for name, service in SERVICES.items():
        if name != "airflow-init":
            assert service["healthcheck"]["test"], name
    init = SERVICES["airflow-init"]
    script = init["command"][-1]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"  # the image's entrypoint: airflow db migrate
    assert "/entrypoint airflow version" in script and "hub warehouse upgrade" in script
    assert "hub airflow pools > /tmp/pools.json" in script and "airflow pools import /tmp/pools.json" in script
    assert host(init["environment"]["HUB_WAREHOUSE_URL"]) == "warehouse-db"
    for db in ("postgres", "warehouse-db"):
        assert init["depends_on"][db] == {"condition": "service_healthy"}
    # the hub commands the init service runs exist
    assert CliRunner().invoke(app, ["warehouse", "upgrade", "--help"]).exit_code == 0
    pools = CliRunner().invoke(app, ["airflow", "pools"])
    assert pools.exit_code == 0 and json.loads(pools.stdout)["bacgiang_one_stop"]["slots"] == 2


def test_the_image_carries_the_hub_and_mounts_the_registry_where_the_variables_point():
    assert SERVICES["airflow-worker"]["build"] == "."
    assert "pip install" in (REPO_ROOT / "Dockerfile").read_text() and "/opt/lienthong" in (REPO_ROOT / "Dockerfile").read_text()
    env, volumes = SERVICES["airflow-worker"]["environment"], SERVICES["airflow-worker"]["volumes"]
    assert f"./dags:{env['AIRFLOW__CORE__DAGS_FOLDER']}:ro" in volumes
    assert f"./sources.yaml:{env['HUB_SOURCES']}:ro" in volumes


def test_secrets_come_only_from_the_uncommitted_env_file_and_its_template_names_them_all():
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    declared = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_TEXT))  # $${X} is the container's
    assert used - {"LIENTHONG_IMAGE_NAME"} <= declared
    for name in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
                 "HUB_PII_KEY", "AIRFLOW_ADMIN_PASSWORD"):
        assert f"${{{name}:?" in COMPOSE_TEXT, name  # required: compose refuses to start without it
    for service in SERVICES.values():  # no literal password anywhere
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|KEY", key):
                assert str(value).startswith("${"), key
            if "://" in str(value) and "@" in str(value):
                assert re.search(r":\$\{[A-Z_]+:\?[^}]*\}@", str(value)) or ":@" in str(value), key
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT).returncode == 0
    assert {"path": ".env", "required": True} in SERVICES["airflow-worker"]["env_file"]


@pytest.mark.parametrize("name", ["airflow-init", *AIRFLOW])
def test_airflow_services_share_the_common_definition(name):
    assert SERVICES[name]["image"] == SERVICES["airflow-apiserver"]["image"]
    assert SERVICES[name]["user"] == "${AIRFLOW_UID:-50000}:0"
