"""The CLI's one error path: a library error becomes one line and an exit code, never a traceback."""
from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console
from rich.markup import escape

from common.errors import HubError

console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


def error_line(message: object, label: str = "error", colour: str = "red") -> None:
    """One line on stderr; the message is text, never markup (a regex in it stays whole)."""
    err.print(f"[{colour}]{label}:[/{colour}] {escape(str(message))}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    """Stop the command with one line on stderr."""
    error_line(message)
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
