"""``hub cluster``: Airflow's distributed engine (CeleryExecutor) on this machine, up, status, down."""
from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hub.errors import console, fail, one_line_errors

cluster_app = typer.Typer(help="Airflow on CeleryExecutor with N workers on this machine (127.0.0.1 only).",
                          no_args_is_help=True)


@cluster_app.command("up")
@one_line_errors
def up(
    workers: Annotated[int, typer.Option(help="How many Celery workers to start.")] = 2,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the simulated province (hub demo --serve) and run "
                                                      "its sources as the DAGs.")] = False,
) -> None:
    """Start Redis, Airflow's metadata PostgreSQL, the warehouse, the api-server, scheduler,
    dag-processor, triggerer and N Celery workers; logs and pids in $HUB_HOME/cluster.

    Example: hub cluster up --workers 2 --demo
    """
    from orchestration import cluster

    state = cluster.up(workers, demo=demo)
    _show(cluster.status())
    console.print(f"Airflow UI and API: {state['api_url']} (user admin, password in "
                  f"{state['airflow_home']}/passwords.json.generated)", highlight=False)
    console.print(f"Airflow CLI: export AIRFLOW_HOME={state['airflow_home']}; sources: {state['sources']}",
                  highlight=False)


@cluster_app.command("status")
def status() -> None:
    """Show each process of the cluster, its pid, whether it runs, and its log.

    Example: hub cluster status
    """
    from orchestration import cluster

    processes = cluster.status()
    if not processes:
        fail(f"no cluster in {cluster.cluster_home()} (hub cluster up)")
    _show(processes)
    if not all(p.alive for p in processes):
        raise typer.Exit(1)


@cluster_app.command("down")
def down() -> None:
    """Stop exactly the processes `hub cluster up` started (workers first, servers last).

    Example: hub cluster down
    """
    from orchestration import cluster

    stopped = cluster.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}", highlight=False)


def _show(processes) -> None:
    table = Table(title="lienthong cluster")
    for col in ("process", "pid", "state", "log"):
        table.add_column(col)
    for p in processes:
        table.add_row(p.name, str(p.pid), "running" if p.alive else "[red]stopped[/red]", str(p.log))
    console.print(table)
