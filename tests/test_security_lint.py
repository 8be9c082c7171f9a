"""The security lint: ruff's S rules (bandit's checks) over the whole repository, clean, each
exception justified where it is made (a ``# noqa: S...`` with its reason, or pyproject.toml)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.config import REPO_ROOT


def test_the_security_lint_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "--select", "S", "--output-format", "concise", "."],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_exception_says_why():
    bare = []
    for path in REPO_ROOT.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "noqa: S" in line and not line.split("noqa: S", 1)[1].split(None, 1)[1:]:
                previous = path.read_text(encoding="utf-8").splitlines()[n - 2]
                if "S" not in previous.split("#")[-1]:
                    bare.append(f"{path.relative_to(REPO_ROOT)}:{n}")
    assert not bare, f"a security exception without its reason: {bare}"
