"""Where the command line finds its server and token: the flags, else RIALITY_SERVER and RIALITY_TOKEN,
else the config file `login` writes in the user's config dir (readable by its owner only)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

DEFAULT_SERVER = "http://127.0.0.1:8000"


def config_path() -> Path:
    return Path(click.get_app_dir("riality")) / "config.json"


@dataclass(frozen=True, slots=True)
class Target:
    server: str
    token: str | None


def saved() -> dict[str, str]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("server", "token")} if isinstance(data, dict) else {}


def resolve(server: str | None, token: str | None) -> Target:
    stored = saved()
    return Target(
        server=(server or os.environ.get("RIALITY_SERVER") or stored.get("server") or DEFAULT_SERVER).rstrip(
            "/"
        ),
        token=token or os.environ.get("RIALITY_TOKEN") or stored.get("token"),
    )


def save(server: str, token: str) -> Path:
    """Write the config file with mode 0600 from its creation (never briefly readable by others)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"server": server, "token": token}, handle)
    temporary.replace(path)
    return path
