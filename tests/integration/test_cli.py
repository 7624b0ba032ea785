"""The participants' command line against a running server and worker, as a team uses it."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.conftest import worker_process
from tests.helpers import PASSWORD, load_challenge, login
from tests.integration.test_model_and_code import SLUG, bundle, rule_predictions


async def riality(home: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`riality …` as a team's terminal runs it: its own home and config dir, the server by environment."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "RIALITY_SERVER": api}
    env.pop("RIALITY_TOKEN", None)
    command = [sys.executable, "-m", "server.cli", *args]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, cwd=home, capture_output=True, text=True, timeout=120
    )


@pytest.mark.timeout(300)
async def test_a_team_signs_in_downloads_submits_and_reads_the_board(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path, per_day=2))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        await login(http, "ada")
    home = tmp_path / "home"
    home.mkdir()
    signed = await riality(home, api, "login", "--username", "ada", "--password", PASSWORD)
    assert signed.returncode == 0, signed.stderr
    config = home / ".config" / "riality" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["server"] == api

    fetched = await riality(home, api, "download", SLUG, "--dir", "data")
    assert fetched.returncode == 0, fetched.stderr
    assert {p.name for p in (home / "data").iterdir()} >= {"train.csv", "test.csv", "requirements.txt"}
    assert "scikit-learn==" in (home / "data" / "requirements.txt").read_text()  # the sandbox's versions

    (home / "rule.csv").write_bytes(rule_predictions())
    with worker_process(settings, tmp_path / "worker.log"):
        sent = await riality(home, api, "submit", SLUG, "rule.csv", "--note", "first")
    assert sent.returncode == 0, sent.stderr
    assert "scored 0." in sent.stdout and "your team is #1 on the public board" in sent.stdout
    receipt_line = next(line for line in sent.stdout.splitlines() if line.startswith("receipt: "))
    receipt = home / receipt_line.removeprefix("receipt: ")
    assert json.loads(receipt.read_text())["seq"] == 1

    checked = await riality(home, api, "verify", "--receipt", str(receipt))
    assert checked.returncode == 0, checked.stderr
    assert "signed by the server" in checked.stdout and "is unchanged" in checked.stdout

    second = await riality(home, api, "submit", SLUG, "rule.csv", "--no-wait", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["status"] == "queued"
    over = await riality(home, api, "submit", SLUG, "rule.csv", "--no-wait")
    assert over.returncode == 1
    assert over.stderr.startswith("riality: 429: ") and "resets at" in over.stderr, over.stderr
    assert len(over.stderr.strip().splitlines()) == 1

    board = await riality(home, api, "leaderboard", SLUG, "--top", "5", "--json")
    assert board.returncode == 0, board.stderr
    assert json.loads(board.stdout)["entries"][0]["rank"] == 1
    mine = json.loads((await riality(home, api, "submissions", SLUG, "--json")).stdout)
    assert [s["note"] for s in mine] == [None, "first"]
    table = await riality(home, api, "leaderboard", SLUG)
    assert "public board" in table.stdout and "ada" in table.stdout


async def test_errors_are_one_line_and_a_read_token_cannot_submit(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        ada = await login(http, "ada")
        created = await http.post("/api/me/tokens", json={"name": "cli", "scope": "read"}, headers=ada)
    home = tmp_path / "home"
    home.mkdir()
    (home / "rule.csv").write_bytes(rule_predictions())
    signed = await riality(home, api, "login", "--api-token", created.json()["token"])
    assert signed.returncode == 0 and "as ada" in signed.stdout, signed.stderr
    refused = await riality(home, api, "submit", SLUG, "rule.csv")
    assert refused.returncode == 1
    assert refused.stderr.startswith("riality: 403: this API token's scope is 'read'"), refused.stderr
    wrong = await riality(home, api, "submit", SLUG, "rule.csv", "--token", "rly_nope")
    assert wrong.returncode == 1 and wrong.stderr.startswith("riality: 401: "), wrong.stderr
    unknown = await riality(home, api, "leaderboard", "no-such-challenge")
    assert (
        unknown.returncode == 1 and unknown.stderr.strip() == "riality: 404: no challenge 'no-such-challenge'"
    )
    away = await riality(home, api, "challenges", "--server", "http://127.0.0.1:9")
    assert away.returncode == 1 and away.stderr.startswith("riality: cannot reach http://127.0.0.1:9")
    for command in (
        "login",
        "challenges",
        "download",
        "submit",
        "leaderboard",
        "verify",
        "receipt",
        "select",
    ):
        shown = await riality(home, api, command, "--help")
        assert shown.returncode == 0 and "--json" in shown.stdout, command


async def test_teams_final_selections_and_receipts_from_the_terminal(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for name in ("ada", "bob"):
            await login(http, name)
    ada, bob = tmp_path / "ada", tmp_path / "bob"
    for home, name in ((ada, "ada"), (bob, "bob")):
        home.mkdir()
        assert (await riality(home, api, "login", "--username", name, "--password", PASSWORD)).returncode == 0
    made = await riality(ada, api, "team", "create", SLUG, "Gaze Lab", "--json")
    assert made.returncode == 0, made.stderr
    code = json.loads(made.stdout)["invite_code"]
    joined = await riality(bob, api, "team", "join", SLUG, code)
    assert joined.returncode == 0 and "Gaze Lab (ada, bob)" in joined.stdout, joined.stderr
    (bob / "rule.csv").write_bytes(rule_predictions())
    with worker_process(settings, tmp_path / "worker.log"):
        sent = json.loads((await riality(bob, api, "submit", SLUG, "rule.csv", "--json")).stdout)
    assert sent["status"] == "scored" and sent["rank"] == 1
    chosen = await riality(ada, api, "select", str(sent["id"]))
    assert chosen.returncode == 0 and f"submission {sent['id']} is a final selection" in chosen.stdout
    shown = await riality(ada, api, "receipt", str(sent["id"]), "--out", "r.json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads((ada / "r.json").read_text()) == json.loads((bob / sent["receipt_path"]).read_text())
    dropped = await riality(ada, api, "select", str(sent["id"]), "--unselect")
    assert "is no longer a final selection" in dropped.stdout
