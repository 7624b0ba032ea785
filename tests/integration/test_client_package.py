"""The participants' client installs alone (pip install ./client) on a laptop without the server's
dependencies, and gives the `riality` command."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"litestar", "sqlmodel", "docker", "arq", "sqlalchemy", "uvicorn", "scikit-learn", "pandas"}


@pytest.mark.timeout(600)
def test_the_client_installs_alone_and_runs(tmp_path: Path) -> None:
    laptop = tmp_path / "laptop"
    venv.create(laptop, with_pip=True)
    python = laptop / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT / "client")],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    )
    installed = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert installed & SERVER_ONLY == set()
    assert {"riality-client", "httpx", "click", "rich", "cryptography"} <= installed
    shown = subprocess.run(
        [str(laptop / "bin" / "riality"), "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    for command in ("login", "challenges", "download", "team", "submit", "leaderboard", "verify"):
        assert command in shown.stdout
