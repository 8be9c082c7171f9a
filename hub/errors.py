"""The CLI's one error path: a library error becomes one line and an exit code, never a traceback."""
from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console

from common.errors import HubError

console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    """Stop the command with one line on stderr."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(code)


def one_line_errors(command):
    """Wrap a command so that any :class:`HubError` it raises is printed as one line."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except HubError as exc:
            fail(str(exc), getattr(exc, "exit_code", 1))
    return wrapper
