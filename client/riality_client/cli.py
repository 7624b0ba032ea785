"""`riality` for teams: sign in, download a challenge's data, submit and follow the score, read the
boards, choose final submissions, keep and check receipts. Every command has --help and --json; every
error is one line and a non-zero exit code."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from riality_client import config
from riality_client.api import Api, ApiError
from riality_client.record import verify_receipt, walk

FINISHED = ("scored", "failed", "cancelled")
# soft_wrap: a message is one line whatever the terminal's width, for people and for grep alike.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def command(group: click.Group, *names: str, **options: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand with the shared options (--server, --token, --json) and errors as one line."""

    def wrap(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def run(server: str | None, token: str | None, as_json: bool, **kwargs: Any) -> None:
            try:
                with Api(config.resolve(server, token)) as api:
                    function(api, as_json, **kwargs)
            except ApiError as exc:
                errors.print(f"riality: {exc}", highlight=False, markup=False)
                sys.exit(1)

        run = click.option("--json", "as_json", is_flag=True, help="print JSON, for scripts")(run)
        run = click.option("--token", help="an API token (default: $RIALITY_TOKEN, else `riality login`'s)")(
            run
        )
        run = click.option("--server", help="the server's URL (default: $RIALITY_SERVER, else `login`'s)")(
            run
        )
        return group.command(*names, **options)(run)

    return wrap


@click.group(help=__doc__)
def cli() -> None:
    pass


@command(cli, "login")
@click.option("--username", help="sign in with a password (asked for if not given)")
@click.option("--password", help="the password (better typed at the prompt)")
@click.option("--api-token", help="use this API token (from the My account page) instead of a password")
def login(api: Api, as_json: bool, username: str | None, password: str | None, api_token: str | None) -> None:
    """Sign in and remember the server and token (a file in your config dir, readable by you only)."""
    if api_token is None:
        username = username or click.prompt("username")
        password = password or click.prompt("password", hide_input=True)
        api_token = api.send("POST", "/api/auth/token", {"username": username, "password": password})[
            "access_token"
        ]
    api.http.headers["Authorization"] = f"Bearer {api_token}"
    me = api.get("/api/me")
    path = config.save(api.server, str(api_token))
    if as_json:
        _print_json({"username": me["username"], "server": api.server, "config": str(path)})
    else:
        console.print(f"signed in to {api.server} as {me['username']} (saved in {path})", highlight=False)


@command(cli, "challenges")
def challenges(api: Api, as_json: bool) -> None:
    """The challenges you can see."""
    rows = api.get("/api/challenges/")
    if as_json:
        return _print_json(rows)
    _table(
        "challenges",
        ["slug", "title", "status", "metric", "closes", "accepts"],
        [[c["slug"], c["title"], c["status"], c["metric"], c["closes"], ", ".join(c["kinds"])] for c in rows],
    )


@command(cli, "download")
@click.argument("slug")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None)
def download(api: Api, as_json: bool, slug: str, folder: Path | None) -> None:
    """Download a challenge's public files (into ./SLUG unless --dir)."""
    folder = folder or Path(slug)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with Progress(
        *Progress.get_default_columns(),
        DownloadColumn(),
        disable=as_json or not errors.is_terminal,
        console=errors,
    ) as bar:
        files = [
            (Path(f["name"]).name, f["url"], f["size"]) for f in api.get(f"/api/challenges/{slug}")["files"]
        ]
        # The sandbox's package versions, to train with: a model saved with others is refused.
        files.append(("requirements.txt", f"/api/challenges/{slug}/requirements.txt", None))
        for name, url, size in files:  # the server's names, never a path of its choosing
            task = bar.add_task(name, total=size)
            try:
                with (folder / name).open("wb") as out:
                    for total, chunk in api.download(url):
                        bar.update(task, total=total)
                        out.write(chunk)
                        bar.advance(task, len(chunk))
            except ApiError as exc:
                if name != "requirements.txt":
                    raise
                (folder / name).unlink(missing_ok=True)  # not resolved yet (409): say so, keep the rest
                errors.print(f"requirements.txt not saved: {exc}", highlight=False)
                continue
            saved.append(str(folder / name))
    if as_json:
        return _print_json(saved)
    console.print(f"{len(saved)} files in {folder}/", highlight=False)


@cli.group()
def team() -> None:
    """Your team in a challenge: create one, join one with its invite code, or show it."""


@command(team, "create")
@click.argument("slug")
@click.argument("name")
def team_create(api: Api, as_json: bool, slug: str, name: str) -> None:
    """Create a team (you join it; others join with its invite code)."""
    _show_team(api.send("POST", f"/api/challenges/{slug}/teams", {"name": name}), as_json)


@command(team, "join")
@click.argument("slug")
@click.argument("invite_code")
def team_join(api: Api, as_json: bool, slug: str, invite_code: str) -> None:
    """Join a team with the invite code a member gave you."""
    _show_team(api.send("POST", f"/api/challenges/{slug}/teams/join", {"invite_code": invite_code}), as_json)


@command(team, "show")
@click.argument("slug")
def team_show(api: Api, as_json: bool, slug: str) -> None:
    """Your team, its members and its invite code."""
    _show_team(api.get(f"/api/challenges/{slug}/team"), as_json)


def _show_team(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return _print_json(data)
    members = ", ".join(str(m) for m in data.get("members", []))
    console.print(f"{data['name']} ({members}); invite code {data.get('invite_code')}", highlight=False)


@command(cli, "submit")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", help="a note for your team (at most 500 characters)")
@click.option(
    "--kind", type=click.Choice(["predictions", "model", "code"]), help="default: from the file name"
)
@click.option("--no-wait", is_flag=True, help="do not follow it until it is scored")
@click.option(
    "--receipts",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("riality-receipts"),
    show_default=True,
    help="where the signed receipt is kept",
)
def submit(
    api: Api,
    as_json: bool,
    slug: str,
    file: Path,
    note: str | None,
    kind: str | None,
    no_wait: bool,
    receipts: Path,
) -> None:
    """Upload a file, keep its signed receipt, then follow it until it is scored or fails."""
    form = {k: v for k, v in (("note", note), ("kind", kind)) if v is not None}
    with Progress(
        *Progress.get_default_columns(),
        DownloadColumn(),
        TransferSpeedColumn(),
        disable=as_json or not errors.is_terminal,
        console=errors,
    ) as bar:
        task = bar.add_task(f"uploading {file.name}", total=file.stat().st_size)
        accepted = api.upload(
            slug, file, form, lambda sent, total: bar.update(task, completed=sent, total=total)
        )
    receipts.mkdir(parents=True, exist_ok=True)
    receipt_path = receipts / f"{slug}-{accepted['id']}.json"
    receipt_path.write_text(json.dumps(accepted["receipt"], indent=2))
    result = accepted
    if not no_wait:
        with errors.status(f"submission {accepted['id']} is {accepted['status']}…") as status:
            while result["status"] not in FINISHED:
                time.sleep(1)
                result = api.get(f"/api/submissions/{accepted['id']}")
                status.update(f"submission {accepted['id']} is {result['status']}…")
    rank = _rank(api, slug, result["team"]) if result["status"] == "scored" else None
    if as_json:
        return _print_json({**result, "rank": rank, "receipt_path": str(receipt_path)})
    if result["status"] == "scored":
        console.print(
            f"submission {result['id']} scored {result['public_score']} (public); your team is "
            f"{'#' + str(rank) if rank else 'not ranked'} on the public board",
            highlight=False,
        )
    elif result["status"] in FINISHED:
        errors.print(
            f"riality: submission {result['id']} {result['status']}: {result['error']}", highlight=False
        )
    else:
        console.print(f"submission {result['id']} is {result['status']}", highlight=False)
    console.print(f"receipt: {receipt_path}", highlight=False)
    if result["status"] in ("failed", "cancelled"):
        sys.exit(1)


def _rank(api: Api, slug: str, team_name: str) -> int | None:
    board = api.get(f"/api/challenges/{slug}/leaderboard", board="public")
    return next((e["rank"] for e in board["entries"] if e["team"] == team_name), None)


@command(cli, "submissions")
@click.argument("slug")
def submissions(api: Api, as_json: bool, slug: str) -> None:
    """Your team's submissions to a challenge, newest first."""
    rows = api.get(f"/api/challenges/{slug}/submissions")
    if as_json:
        return _print_json(rows)
    _table(
        f"{slug}: your submissions",
        ["id", "when", "kind", "status", "public", "final", "note / error"],
        [[s["id"], s["created_at"], s["kind"], s["status"], s["public_score"], "yes" if s["final"] else "",
          s["error"] or s["note"]] for s in rows],
    )  # fmt: skip


@command(cli, "leaderboard")
@click.argument("slug")
@click.option("--board", type=click.Choice(["public", "private"]), default="public")
@click.option("--top", type=click.IntRange(min=1), default=None, help="only the first N teams")
def leaderboard(api: Api, as_json: bool, slug: str, board: str, top: int | None) -> None:
    """A challenge's board, as a table."""
    data = api.get(f"/api/challenges/{slug}/leaderboard", board=board, limit=top)
    if as_json:
        return _print_json(data)
    _table(
        f"{slug}: {board} board ({data['metric']}, {'higher' if data['higher_is_better'] else 'lower'} is better)",
        ["rank", "team", "score", "submissions", "last"],
        [
            [e["rank"], e["team"], e["score"], e["submissions"], e["last_submission_at"]]
            for e in data["entries"]
        ],
    )


@command(cli, "select")
@click.argument("submission_id", type=int)
@click.option("--unselect", is_flag=True, help="take it off your final selections")
def select(api: Api, as_json: bool, submission_id: int, unselect: bool) -> None:
    """Choose a submission for the private board (your final selections)."""
    data = api.send("PUT", f"/api/submissions/{submission_id}/final", {"final": not unselect})
    if as_json:
        return _print_json(data)
    console.print(f"submission {submission_id} {'is' if data['final'] else 'is no longer'} a final selection")


@command(cli, "receipt")
@click.argument("submission_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write it to this file")
def receipt(api: Api, as_json: bool, submission_id: int, out: Path | None) -> None:
    """A submission's signed receipt, as JSON."""
    data = api.get(f"/api/submissions/{submission_id}/receipt")
    if out is None:
        return _print_json(data)
    out.write_text(json.dumps(data, indent=2))
    if as_json:
        return _print_json({"receipt_path": str(out)})
    console.print(f"receipt: {out}", highlight=False)


@command(cli, "verify")
@click.argument("slug", required=False)
@click.option("--receipt", "receipt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(api: Api, as_json: bool, slug: str | None, receipt_file: Path | None) -> None:
    """Re-walk a challenge's whole submission record (staff; everyone after the reveal), or check a
    receipt's signature and that the server's record still holds it; exit 1 at the first break."""
    if (slug is None) == (receipt_file is None):
        raise ApiError("verify takes a challenge SLUG or --receipt FILE")
    whole, said = _check_receipt(api, receipt_file) if receipt_file else _check_chain(api, str(slug))
    if as_json:
        _print_json({"ok": whole, "message": said})
    elif whole:
        console.print(said, highlight=False)
    if not whole:
        raise ApiError(said)


def _check_chain(api: Api, slug: str) -> tuple[bool, str]:
    chain = api.get(f"/api/challenges/{slug}/chain")
    broken = walk(chain["records"])
    if broken is not None:
        return False, f"{slug}: the record is broken at {broken}"
    if chain["records"] and chain["records"][-1]["hash"] != chain["head"]:
        return False, f"{slug}: the record's last hash is not the head the server states ({chain['head']})"
    return True, f"{slug}: {chain['length']} records, every link holds; head {chain['head']}"


def _check_receipt(api: Api, path: Path) -> tuple[bool, str]:
    try:
        held = json.loads(path.read_text())
    except ValueError as exc:
        return False, f"{path}: not JSON ({exc})"
    key = api.get("/api/keys/receipts")
    problem = verify_receipt(held, key["public_key"])
    if problem is not None:
        return False, f"{path}: {problem}"
    try:
        chain = api.get(f"/api/challenges/{held['challenge']}/chain")
    except ApiError as exc:  # the whole record is the staff's until the reveal: check this one link
        if not str(exc).startswith("404"):
            raise
        now = api.get(f"/api/submissions/{held['submission_id']}/receipt")
        if now.get("hash") != held["hash"] or now.get("seq") != held["seq"]:
            return (
                False,
                f"{path}: signed, but the server's record of submission {held['submission_id']} changed",
            )
        return True, (
            f"{path}: signed by the server (key {key['key_id']}), and its record {held['seq']} is unchanged "
            "(the whole record can be walked after the reveal)"
        )
    seq = int(held["seq"])
    there = chain["records"][seq - 1] if 0 < seq <= len(chain["records"]) else {}
    if there.get("seq") != seq or there.get("hash") != held["hash"]:
        return (
            False,
            f"{path}: signed, but record {seq} of {held['challenge']!r} on the server is not this one",
        )
    broken = walk(chain["records"][:seq])
    if broken is not None:
        return False, f"{path}: signed, but the record up to it is broken at {broken}"
    return (
        True,
        f"{path}: signed by the server (key {key['key_id']}) and record {seq} of {held['challenge']!r}",
    )


COMMANDS = frozenset(cli.commands)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="riality", standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("riality: aborted")
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
