"""The `riality` command: the all-in-one launcher, the separate services, and operator tasks."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from core.logs import configure as configure_logging
from core.settings import Settings
from server.processes import free_port, start_redis, stop_processes, wait_for_port
from server.supervisor import Child, processes, supervise

log = logging.getLogger("riality")
EXAMPLES = Path(__file__).resolve().parent.parent / "challenges" / "examples"


REDIS_URL_FILE = "redis.url"  # where `riality up` says which Redis it started, for the other commands


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("data_dir", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = Path(value) if name == "data_dir" else value
    settings = Settings.from_env(**overrides)
    started = settings.data_dir / REDIS_URL_FILE
    if "REDIS_URL" not in os.environ and args.command != "up" and started.is_file():
        # The Redis a running `riality up` started on a port of its own (status, challenge load …).
        settings = settings.with_(redis_url=started.read_text().strip())
    return settings


def cmd_migrate(settings: Settings) -> None:
    from core.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database)


async def _load_challenges(settings: Settings, paths: Sequence[Path]) -> int:
    from challenges.bundle import BundleError
    from challenges.importers import load_any
    from core.db import create_engine, create_sessionmaker
    from core.storage import BlobStore
    from server.services.bundles import unpack_nested
    from server.services.challenges import import_bundle
    from server.services.stored_bundles import store_bundle

    bundles = []
    failed = 0
    store = BlobStore(settings.blobs_dir)
    for path in paths:
        try:
            with tempfile.TemporaryDirectory(prefix="riality-import-") as scratch:
                bundle = store_bundle(load_any(path, Path(scratch) / "translated", unpack_nested), store)
            bundles.append(bundle)
            for line in bundle.report:
                print(f"{path}: {line}")
        except BundleError as exc:
            print(exc, file=sys.stderr)
            failed += 1
    engine = create_engine(settings.database)
    try:
        sessions = create_sessionmaker(engine)
        for bundle in bundles:
            async with sessions() as session:
                result = await import_bundle(session, bundle)
            print(f"{'created' if result.created else 'updated'} challenge {result.slug}")
    finally:
        await engine.dispose()
    return failed


async def _rebuild_bests(settings: Settings, slugs: Sequence[str]) -> int:
    """Every team's best rebuilt from its submissions, in the named challenges (all when none), and the
    API processes told to reload those boards."""
    from redis.exceptions import RedisError
    from sqlmodel import col, select

    from core.best import rebuild_all
    from core.challenges import spec_of
    from core.db import create_engine, create_sessionmaker
    from core.models import Challenge
    from core.queue import ArqQueue

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            query = select(Challenge).order_by(col(Challenge.id))
            if slugs:
                query = query.where(col(Challenge.slug).in_(slugs))
            challenges = list(await session.exec(query))
            if missing := sorted(set(slugs) - {c.slug for c in challenges}):
                print(f"riality: no challenge {', '.join(missing)}", file=sys.stderr)
                return 1
            for challenge in challenges:
                assert challenge.id is not None
                await rebuild_all(session, challenge.id, spec_of(challenge))
            await session.commit()
    finally:
        await engine.dispose()
    try:
        queue = await ArqQueue.connect(settings.redis_url)
    except (OSError, RedisError) as exc:  # the database is right; an API reloads a board at its next change
        print(f"riality: rebuilt, but could not tell the API processes ({exc})", file=sys.stderr)
    else:
        try:
            for challenge in challenges:
                await queue.publish_board_changed(challenge.slug)
        finally:
            await queue.close()
    for challenge in challenges:
        print(f"rebuilt the teams' bests of {challenge.slug}")
    return 0


async def _create_user(settings: Settings, name: str, role: str, password: str, email: str | None) -> None:
    from core.db import create_engine, create_sessionmaker
    from core.models import Role
    from server.services.accounts import set_password_and_role
    from server.services.passwords import Passwords

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            passwords = Passwords.of(settings)
            try:
                viewer = await set_password_and_role(
                    session, username=name, password=password, role=Role(role), passwords=passwords
                )
            finally:
                passwords.close()
            if email:
                from core.models import User

                user = await session.get(User, viewer.id)
                assert user is not None
                user.email = email
                await session.commit()
        print(f"user {viewer.username} ({viewer.role.value}) is ready")
    finally:
        await engine.dispose()


async def _staff(settings: Settings, action: str, slug: str, name: str, role: str | None) -> int:
    from core.db import create_engine, create_sessionmaker
    from core.models import StaffRole
    from server.errors import AppError
    from server.services import staff
    from server.services.challenges import get_challenge

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                challenge = await get_challenge(session, slug, staff.OPERATOR)
                if action == "add":
                    assert role is not None
                    member = await staff.set_staff(session, staff.OPERATOR, challenge, name, StaffRole(role))
                    print(f"{member.username} is {member.role.value} of {slug}")
                else:
                    await staff.remove_staff(session, staff.OPERATOR, challenge, name)
                    print(f"{name} is no longer on the staff of {slug}")
            except AppError as exc:
                print(f"riality: {exc.detail}", file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    return 0


def cmd_image_build(*, offline: bool, tag: str | None, mirror: str | None) -> int:
    from runner.images import DEFAULT_MIRROR, RUNTIME_IMAGE, build_runtime_image
    from runner.sandbox import Sandbox

    client = Sandbox().client
    result = build_runtime_image(
        client, offline=offline, tag=tag or RUNTIME_IMAGE, mirror=mirror or DEFAULT_MIRROR
    )
    print(f"{result.tag}: {'built' if result.built else 'already current'} (recipe {result.recipe})")
    return 0


def cmd_image_lock(output: Path) -> int:
    from core.environments import DEFAULT_PACKAGES, parse_lock
    from runner.wheels import resolve

    header = (
        "The default runtime's packages, pinned with their wheels' hashes (CPython 3.11, glibc x86_64).\n"
        f"Made by `riality image lock` from: {' '.join(DEFAULT_PACKAGES)}"
    )
    text = resolve(DEFAULT_PACKAGES, header)
    output.write_text(text)
    print(f"{output}: {', '.join(pin.line() for pin in parse_lock(text))}")
    return 0


def cmd_api(settings: Settings) -> None:
    import uvicorn

    from server.app import create_app

    app = create_app(settings)
    # Everything imported so far lives as long as the process: keep it out of every collection, and
    # collect the young generation less often. Measured on a 10k-team board: a rebuild took ~40% longer
    # with the default thresholds, most of it full collections walking the long-lived objects.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


# An idle connection stays open longer than client pools keep theirs (httpx: 5 s), so the client
# side closes first: with uvicorn's 5 s, a client reusing a connection just as the server closed it
# lost its upload (3 ReadErrors in 1,000 in the rush benchmark). Not much longer: with 150 s the
# rush's upload latency rose from p50 0.3 s to 2.2 s (more connections stay busy in one event loop).
KEEP_ALIVE_S = 10


def cmd_worker(settings: Settings) -> None:
    from runner.worker import run_worker

    run_worker(settings)


def cmd_up(settings: Settings, *, examples: bool, workers: int = 1) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    if "REDIS_URL" not in os.environ:
        redis_port = free_port()

        def redis() -> subprocess.Popen[bytes]:
            # The same port on every restart: the API and the worker keep their URL.
            return start_redis(settings.data_dir, port=redis_port)[0]

        children.append(Child("redis", redis))
        children[0].launch(time.monotonic())
        settings = settings.with_(redis_url=f"redis://127.0.0.1:{redis_port}/0")
        (settings.data_dir / REDIS_URL_FILE).write_text(settings.redis_url + "\n")
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cmd_migrate(settings)
        if examples:
            asyncio.run(_load_challenges(settings, sorted(p for p in EXAMPLES.iterdir() if p.is_dir())))
        env = {**os.environ, **settings.to_env()}
        roles = [("api", "api")] + [
            ("worker", "worker" if workers == 1 else f"worker {n + 1}") for n in range(workers)
        ]
        for role, name in roles:

            def start(role: str = role) -> subprocess.Popen[bytes]:
                # New process group: Ctrl-C reaches us only, and we stop the children in order.
                return subprocess.Popen(
                    [sys.executable, "-m", "server.cli", role], env=env, start_new_session=True
                )

            child = Child(name, start)
            child.launch(time.monotonic())
            children.append(child)
        api = next(c for c in children if c.name == "api")
        assert api.process is not None
        wait_for_port(settings.port, timeout=60, process=api.process)
        print(
            f"riality is up at http://{settings.host}:{settings.port}/  (API docs: /schema; Ctrl-C stops)",
            flush=True,
        )
        supervise(children, lambda: stopping)
    finally:
        # The API and the worker first, Redis last: they may still be talking to it.
        stop_processes(processes([c for c in children if c.name != "redis"]))
        stop_processes(processes([c for c in children if c.name == "redis"]))
        if children and children[0].name == "redis":
            (settings.data_dir / REDIS_URL_FILE).unlink(missing_ok=True)
        print("riality stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riality",
        description="Contest and hackathon evaluation platform: the operator's commands.",
        epilog="Teams' commands (riality_client; `riality COMMAND --help`): login, challenges, download, team, "
        "submit, submissions, leaderboard, select, receipt, verify.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", help="where the SQLite database and the files live (default ./.riality)")
        return p

    up = with_common(sub.add_parser("up", help="API + worker + Redis + SQLite, with the example challenges"))
    up.add_argument("--host")
    up.add_argument("--port", type=int)
    up.add_argument("--no-examples", action="store_true", help="do not load the example challenges")
    up.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    api = with_common(sub.add_parser("api", help="run the API server only"))
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    with_common(sub.add_parser("worker", help="run one arq worker"))
    with_common(sub.add_parser("migrate", help="bring the database schema up to date"))
    status = with_common(
        sub.add_parser("status", help="queues per lane, live workers, the oldest waiting submission")
    )
    status.add_argument("--json", action="store_true", help="as JSON, for scripts")
    check = sub.add_parser("check", help="a container health check: exit 0 when healthy")
    check.add_argument("what", choices=["api", "worker"])

    user = sub.add_parser("user", help="manage accounts").add_subparsers(dest="action", required=True)
    create = with_common(user.add_parser("create", help="create a user, or reset its password and role"))
    create.add_argument("name")
    create.add_argument(
        "--role",
        choices=["admin", "organiser", "participant"],
        default="participant",
        help="platform role: admins are staff of every challenge, organisers may create challenges",
    )
    create.add_argument("--password", required=True)
    create.add_argument("--email")

    image = sub.add_parser("image", help="the runtime image for model and code submissions")
    image_actions = image.add_subparsers(dest="action", required=True)
    build = image_actions.add_parser("build", help="build it (no-op if current)")
    build.add_argument("--offline", action="store_true", help="no registry: Debian rootfs via debootstrap")
    build.add_argument("--tag", default=None, help="image name (default riality/runtime-python:latest)")
    build.add_argument("--mirror", default=None, help="Debian mirror for --offline")
    lock = image_actions.add_parser("lock", help="pin the newest releases of the default runtime's packages")
    lock.add_argument("--output", type=Path, default=None, help="default: core/runtime.lock")

    challenge = sub.add_parser("challenge", help="manage challenges").add_subparsers(
        dest="action", required=True
    )
    load = with_common(challenge.add_parser("load", help="validate and import challenge bundle folders"))
    load.add_argument("paths", nargs="+", type=Path)
    rebuild = with_common(
        challenge.add_parser(
            "rebuild-bests",
            help="rebuild each team's best submission from its scored ones (repairs boards an older "
            "release left short: see the README's upgrade notes)",
        )
    )
    rebuild.add_argument("slugs", nargs="*", help="challenges to rebuild (default: every one)")

    staff = sub.add_parser("staff", help="a challenge's organisers and judges").add_subparsers(
        dest="action", required=True
    )
    add = with_common(staff.add_parser("add", help="make a user organiser or judge of one challenge"))
    add.add_argument("slug")
    add.add_argument("name")
    add.add_argument("--role", choices=["organiser", "judge"], required=True)
    remove = with_common(staff.add_parser("remove", help="take a user off a challenge's staff"))
    remove.add_argument("slug")
    remove.add_argument("name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from riality_client import cli as participants

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in participants.COMMANDS:  # the teams' commands (riality_client)
        return participants.main(arguments)
    args = build_parser().parse_args(arguments)
    settings = _settings(args)
    try:
        configure_logging(settings.log_format)
    except ValueError as exc:
        raise SystemExit(f"riality: {exc}") from None
    if args.command == "up":
        if args.workers < 1:
            raise SystemExit("riality up: --workers: expected 1 or more")
        return cmd_up(settings, examples=not args.no_examples, workers=args.workers)
    if args.command == "api":
        cmd_api(settings)
    elif args.command == "worker":
        cmd_worker(settings)
    elif args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "status":
        from server.status_report import show_status

        return asyncio.run(show_status(settings, as_json=args.json))
    elif args.command == "check":
        from server.status_report import check

        return asyncio.run(check(settings, args.what))
    elif args.command == "user":
        cmd_migrate(settings)
        asyncio.run(_create_user(settings, args.name, args.role, args.password, args.email))
    elif args.command == "image":
        if args.action == "lock":
            from core.environments import DEFAULT_LOCK

            return cmd_image_lock(args.output or DEFAULT_LOCK)
        return cmd_image_build(offline=args.offline, tag=args.tag, mirror=args.mirror)
    elif args.command == "staff":
        cmd_migrate(settings)
        return asyncio.run(_staff(settings, args.action, args.slug, args.name, getattr(args, "role", None)))
    elif args.command == "challenge":
        cmd_migrate(settings)
        if args.action == "rebuild-bests":
            return asyncio.run(_rebuild_bests(settings, args.slugs))
        return 1 if asyncio.run(_load_challenges(settings, args.paths)) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
