"""The local Airflow's JWT signing secret, made once per installation (``[api_auth] jwt_secret_cmd``).

Airflow 3's api-server, scheduler and workers must sign and check task tokens with one secret;
left empty, each component of ``airflow standalone`` invents its own and no task can start. The
secret is kept in ``$AIRFLOW_HOME/.hub/airflow`` (never committed), created atomically so that
components starting together agree on it. A deployment passes its own (docker-compose: .env).
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def local_secret(home: Path) -> str:
    path = home / ".hub" / "airflow" / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"jwt_secret.{os.getpid()}")
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(64))
        try:
            os.link(draft, path)  # atomic, and refused if another component got there first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


if __name__ == "__main__":
    sys.stdout.write(local_secret(Path(os.environ.get("AIRFLOW_HOME", "."))))
