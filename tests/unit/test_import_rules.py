"""The import rules of pyproject.toml's [tool.importlinter] hold: the API and the worker meet only
through the kernel (`core`), only the launcher (`server.cli`) imports both, and the participants'
client (`riality_client`) imports none of the server's packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_forbidden_import_between_the_api_the_worker_and_the_kernel() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "5 kept, 0 broken" in result.stdout
