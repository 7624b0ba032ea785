"""What staff do to a running contest: list and filter submissions, cancel, disqualify, take notes,
export, download files; and that participants and other challenges' staff can do none of it."""

from __future__ import annotations

import asyncio
import csv
import io

import docker
import pandas as pd
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete
from sqlmodel import select

from core.db import create_engine, create_sessionmaker
from core.models import StaffRole, TeamBest
from core.settings import Settings
from runner.sandbox import LABEL
from tests.conftest import EXAMPLES, run_cli
from tests.helpers import (
    announce_sandbox_worker,
    csv_bytes,
    drain_queue,
    eventually,
    load_challenge,
    login,
    make_staff,
    upload,
    wait_for_status,
)
from tests.integration.test_lifecycle import bundle_zip
from tests.integration.test_model_and_code import bundle, zip_bytes
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
OTHER = "dyslexia-gaze"
TUMOUR = EXAMPLES / SLUG


def flipped() -> bytes:
    predictions = tumour_predictions()[0]
    return csv_bytes(predictions.assign(diagnosis=(1 - predictions["diagnosis"]).round(6)))


async def contest(settings: Settings, client: AsyncTestClient) -> dict[str, dict[str, str]]:
    """Tumour detection with an organiser, a judge, two teams and the judge of another challenge."""
    await load_challenge(settings, TUMOUR)
    await load_challenge(settings, EXAMPLES / OTHER)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    await make_staff(settings, "otto", OTHER, StaffRole.ORGANISER)
    people = {name: await login(client, name, register=False) for name in ("olga", "judy", "otto")}
    people |= {name: await login(client, name) for name in ("ada", "bob")}
    return people


async def board(
    client: AsyncTestClient, headers: dict[str, str], which: str = "public"
) -> list[tuple[str, float]]:
    body = (await client.get(f"/api/challenges/{SLUG}/leaderboard?board={which}", headers=headers)).json()
    return [(e["team"], e["score"]) for e in body["entries"]]


async def test_staff_list_every_submission_participants_their_own(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    ada_ids = [
        (await upload(client, p["ada"], SLUG, data)).json()["id"]
        for data in (csv_bytes(tumour_predictions()[0]), flipped())
    ]
    bob_id = (await upload(client, p["bob"], SLUG, b"id,diagnosis\n1,2\n")).json()["id"]
    await drain_queue(settings)
    url = f"/api/challenges/{SLUG}/submissions"
    for staff in ("olga", "judy"):
        assert [s["id"] for s in (await client.get(url, headers=p[staff])).json()] == [
            bob_id,
            *reversed(ada_ids),
        ]
    assert [s["id"] for s in (await client.get(f"{url}?team=ada", headers=p["judy"])).json()] == ada_ids[::-1]
    assert [s["id"] for s in (await client.get(f"{url}?status=failed", headers=p["judy"])).json()] == [bob_id]
    assert [
        s["id"]
        for s in (await client.get(f"{url}?kind=predictions&limit=1&offset=1", headers=p["judy"])).json()
    ] == [ada_ids[1]]
    assert (await client.get(f"{url}?status=lost", headers=p["judy"])).status_code == 400
    assert [s["id"] for s in (await client.get(url, headers=p["ada"])).json()] == ada_ids[::-1]
    assert [s["id"] for s in (await client.get(url, headers=p["otto"])).json()] == []  # not their challenge
    # A judge opens any submission, with its private score; another challenge's staff cannot.
    opened = (await client.get(f"/api/submissions/{ada_ids[0]}", headers=p["judy"])).json()
    assert opened["private_score"] is not None and opened["team"] == "ada"
    assert (await client.get(f"/api/submissions/{ada_ids[0]}", headers=p["otto"])).status_code == 404


async def test_the_uploaded_file_downloads_as_sent(settings: Settings, client: AsyncTestClient) -> None:
    p = await contest(settings, client)
    data = csv_bytes(tumour_predictions()[0])
    sent = (await upload(client, p["ada"], SLUG, data, filename="my preds.csv")).json()["id"]
    for who in ("ada", "judy", "olga"):
        response = await client.get(f"/api/submissions/{sent}/file", headers=p[who])
        assert response.status_code == 200 and response.content == data
        assert "attachment" in response.headers["content-disposition"]
    for who in ("bob", "otto"):
        assert (await client.get(f"/api/submissions/{sent}/file", headers=p[who])).status_code == 404
    assert (await client.get(f"/api/submissions/{sent}/file")).status_code == 401


async def test_a_queued_submission_is_cancelled_and_refunded(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    await client.patch(f"/api/challenges/{SLUG}", json={"limits": {"per_day": 1}}, headers=p["olga"])
    first = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    assert (await upload(client, p["ada"], SLUG, flipped())).status_code == 429
    assert (await client.post(f"/api/submissions/{first}/cancel", headers=p["bob"])).status_code == 404
    assert (await client.post(f"/api/submissions/{first}/cancel", headers=p["otto"])).status_code == 404
    cancelled = await client.post(f"/api/submissions/{first}/cancel", headers=p["ada"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await upload(client, p["ada"], SLUG, flipped())  # the cancelled one used no quota
    assert again.status_code == 202
    await drain_queue(settings)
    assert (await client.get(f"/api/submissions/{first}", headers=p["ada"])).json()["status"] == "cancelled"
    done = await client.post(f"/api/submissions/{again.json()['id']}/cancel", headers=p["olga"])
    assert done.status_code == 409 and "is scored" in done.json()["detail"]


async def test_cancelling_a_running_code_submission_kills_its_container(
    settings: Settings, client: AsyncTestClient, tmp_path
) -> None:
    await load_challenge(settings, bundle(tmp_path, time_s=300, per_day=1))
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    olga, ada = await login(client, "olga", register=False), await login(client, "ada")
    await announce_sandbox_worker(settings)
    sleeper = zip_bytes({"predict.py": "import time\ndef predict(features):\n    time.sleep(600)\n"})
    sent = await upload(client, ada, SLUG, sleeper, filename="code.zip")
    assert sent.status_code == 202, sent.text
    worker = asyncio.create_task(drain_queue(settings))
    docker_client = docker.from_env()
    try:
        await wait_for_status(client, ada, sent.json()["id"], {"running"}, wait_s=60)
        for _ in range(200):  # the container starts a moment after the claim
            if docker_client.containers.list(filters={"label": LABEL}):
                break
            await asyncio.sleep(0.1)
        assert docker_client.containers.list(filters={"label": LABEL})
        started = asyncio.get_running_loop().time()
        cancelled = await client.post(f"/api/submissions/{sent.json()['id']}/cancel", headers=olga)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        await asyncio.wait_for(worker, timeout=60)  # the worker returns once its container is gone
        assert asyncio.get_running_loop().time() - started < 30
        assert docker_client.containers.list(all=True, filters={"label": LABEL}) == []
    finally:
        if not worker.done():
            worker.cancel()
        docker_client.close()
    after = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert after["status"] == "cancelled" and after["error"] == "cancelled by olga"
    assert (
        await upload(client, ada, SLUG, csv_bytes(tumour_predictions()[0]))
    ).status_code == 202  # refunded
    actions = [e["action"] for e in (await client.get(f"/api/challenges/{SLUG}/audit", headers=olga)).json()]
    assert "submission.cancel" in actions


async def test_a_disqualified_team_leaves_both_boards_and_sees_why(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))
    await upload(client, p["bob"], SLUG, flipped())
    await drain_queue(settings)
    ada_team = (await client.get(f"/api/challenges/{SLUG}/team", headers=p["ada"])).json()["id"]
    assert [t for t, _ in await board(client, p["judy"])] == ["ada", "bob"]
    url = f"/api/challenges/{SLUG}/disqualifications"
    assert (
        await client.post(url, json={"team_id": ada_team, "reason": "x"}, headers=p["judy"])
    ).status_code == 403
    assert (
        await client.post(url, json={"team_id": ada_team, "reason": "x"}, headers=p["otto"])
    ).status_code == 404
    both = await client.post(
        url, json={"team_id": ada_team, "submission_id": 1, "reason": "x"}, headers=p["olga"]
    )
    assert both.status_code == 400 and "exactly one of team_id and submission_id" in both.json()["detail"]
    made = await client.post(url, json={"team_id": ada_team, "reason": "shared labels"}, headers=p["olga"])
    assert made.status_code == 201 and made.json()["reason"] == "shared labels"
    for which in ("public", "private"):
        assert [t for t, _ in await board(client, p["judy"], which)] == ["bob"]
    assert [t for t, _ in await board(client, p["ada"])] == ["bob"]
    assert (await client.get(f"/api/challenges/{SLUG}/team", headers=p["ada"])).json()[
        "disqualified"
    ] == "shared labels"
    listed = (await client.get(f"/api/challenges/{SLUG}/teams", headers=p["judy"])).json()
    assert {t["name"]: t["disqualified"] for t in listed} == {"ada": "shared labels", "bob": None}
    assert (await client.get(f"/api/challenges/{SLUG}/teams", headers=p["ada"])).status_code == 404
    assert (await client.delete(f"{url}/{made.json()['id']}", headers=p["olga"])).status_code == 204
    assert [t for t, _ in await board(client, p["judy"])] == ["ada", "bob"]


async def test_a_disqualified_submission_is_no_longer_the_teams_best(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    best = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    worse = (await upload(client, p["ada"], SLUG, flipped())).json()["id"]
    await drain_queue(settings)
    scores = {i: (await client.get(f"/api/submissions/{i}", headers=p["judy"])).json() for i in (best, worse)}
    assert await board(client, p["judy"]) == [("ada", scores[best]["public_score"])]
    made = await client.post(
        f"/api/challenges/{SLUG}/disqualifications",
        json={"submission_id": best, "reason": "late fix"},
        headers=p["olga"],
    )
    assert made.status_code == 201
    assert await board(client, p["judy"]) == [("ada", scores[worse]["public_score"])]
    assert await board(client, p["judy"], "private") == [("ada", scores[worse]["private_score"])]
    assert (await client.get(f"/api/submissions/{best}", headers=p["ada"])).json()[
        "disqualified"
    ] == "late fix"
    assert (await client.get(f"/api/submissions/{worse}", headers=p["ada"])).json()["disqualified"] is None
    await client.delete(f"/api/challenges/{SLUG}/disqualifications/{made.json()['id']}", headers=p["olga"])
    assert await board(client, p["judy"]) == [("ada", scores[best]["public_score"])]


async def test_a_submission_disqualified_while_it_waits_is_scored_but_never_the_teams_best(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    waiting = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    made = await client.post(
        f"/api/challenges/{SLUG}/disqualifications",
        json={"submission_id": waiting, "reason": "shared labels"},
        headers=p["olga"],
    )
    assert made.status_code == 201
    await drain_queue(settings)
    seen = (await client.get(f"/api/submissions/{waiting}", headers=p["judy"])).json()
    assert seen["status"] == "scored" and seen["disqualified"] == "shared labels"
    assert await board(client, p["judy"]) == []
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            assert list(await session.exec(select(TeamBest))) == []  # the board's source of each team's best
    finally:
        await engine.dispose()
    await client.delete(f"/api/challenges/{SLUG}/disqualifications/{made.json()['id']}", headers=p["olga"])
    assert await board(client, p["judy"]) == [("ada", seen["public_score"])]


def dyslexia_predictions() -> bytes:
    """The dyslexia example's hidden labels sent back as predictions (F1 = 1)."""
    labels = pd.read_csv(EXAMPLES / OTHER / "hidden" / "labels.csv")
    return csv_bytes(labels[["id", "referral"]])


async def test_a_disqualification_whose_id_is_its_submissions_leaves_every_other_result_ranked(
    settings: Settings, client: AsyncTestClient
) -> None:
    """Disqualification 1 of submission 1: the result's write once matched any submission against it
    on SQLite (bare names in RETURNING bound inside the disqualification table), so every later
    result of every challenge was taken for disqualified and kept off the boards."""
    p = await contest(settings, client)
    first = (await upload(client, p["ada"], SLUG, flipped())).json()["id"]
    await drain_queue(settings)
    made = await client.post(
        f"/api/challenges/{SLUG}/disqualifications",
        json={"submission_id": first, "reason": "shared labels"},
        headers=p["olga"],
    )
    assert (first, made.json()["id"]) == (1, 1)
    tumour = (await upload(client, p["bob"], SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    gaze = (await upload(client, p["bob"], OTHER, dyslexia_predictions())).json()["id"]
    await drain_queue(settings)
    seen = (await client.get(f"/api/submissions/{tumour}", headers=p["bob"])).json()
    assert seen["status"] == "scored" and seen["disqualified"] is None
    assert await board(client, p["judy"]) == [("bob", seen["public_score"])]
    other = (await client.get(f"/api/challenges/{OTHER}/leaderboard", headers=p["bob"])).json()["entries"]
    assert [(e["team"], e["score"]) for e in other] == [("bob", 1.0)]
    assert (await client.get(f"/api/submissions/{gaze}", headers=p["bob"])).json()["disqualified"] is None


async def test_rebuilding_the_teams_bests_restores_entries_a_faulty_write_left_out(
    settings: Settings, client: AsyncTestClient
) -> None:
    """What the faulty write left (scored submissions without their team's best) is repaired by
    `riality challenge rebuild-bests`, and by a rescore."""
    p = await contest(settings, client)
    sent = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    await upload(client, p["bob"], OTHER, dyslexia_predictions())
    await drain_queue(settings)
    score = (await client.get(f"/api/submissions/{sent}", headers=p["ada"])).json()["public_score"]
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.exec(delete(TeamBest))  # as the faulty write left them
            await session.commit()
    finally:
        await engine.dispose()
    olga = p["olga"]
    url = f"/api/challenges/{SLUG}/leaderboard"
    assert (await client.get(url, headers=olga)).json()["entries"] == []
    rebuilt = await asyncio.to_thread(run_cli, settings, "challenge", "rebuild-bests", SLUG)
    assert rebuilt.stdout.strip() == f"rebuilt the teams' bests of {SLUG}"
    await eventually(lambda: board(client, olga), [("ada", score)])
    other = f"/api/challenges/{OTHER}/leaderboard"
    assert (await client.get(other, headers=p["bob"])).json()["entries"] == []  # not named: left alone
    missing = await asyncio.to_thread(run_cli, settings, "challenge", "rebuild-bests", "nope", check=False)
    assert (missing.returncode, missing.stderr.splitlines()[-1]) == (1, "riality: no challenge nope")

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.exec(delete(TeamBest))
            await session.commit()
    finally:
        await engine.dispose()
    assert (await client.post(f"/api/challenges/{SLUG}/rescore", headers=olga)).status_code == 202
    await drain_queue(settings)
    await eventually(lambda: board(client, olga), [("ada", score)])


@pytest.mark.parametrize(
    "query",
    [
        "audit?before=2147483648",
        "audit?before=9223372036854775808",
        "submissions?offset=9223372036854775808",
        "submissions?offset=2147483648",
        "leaderboard?offset=9223372036854775808",
    ],
)
async def test_an_out_of_range_query_value_is_a_400_that_says_so(
    settings: Settings, client: AsyncTestClient, query: str
) -> None:
    p = await contest(settings, client)
    answer = await client.get(f"/api/challenges/{SLUG}/{query}", headers=p["olga"])
    assert answer.status_code == 400, answer.text
    name = query.split("?")[1].split("=")[0]
    assert name in answer.text


async def test_every_integer_query_parameter_is_bounded_in_the_schema(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    integers = [
        (f"{method.upper()} {path} {parameter['name']}", parameter["schema"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
        and any(v.get("type") == "integer" for v in parameter["schema"].get("oneOf", [parameter["schema"]]))
    ]
    assert len(integers) >= 6  # limits and offsets of boards and submissions, the audit log's `before`
    assert [name for name, bounds in integers if "minimum" not in bounds or "maximum" not in bounds] == []


async def test_notes_are_for_the_challenges_staff_only(settings: Settings, client: AsyncTestClient) -> None:
    p = await contest(settings, client)
    sent = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()
    url = f"/api/submissions/{sent['id']}/notes"
    team_url = f"/api/challenges/{SLUG}/teams/{sent['team_id']}/notes"
    made = await client.post(url, json={"text": "looks like a rule, not a model"}, headers=p["judy"])
    assert made.status_code == 201 and made.json()["author"] == "judy"
    assert (
        await client.post(team_url, json={"text": "ask about the features"}, headers=p["olga"])
    ).status_code == 201
    for staff in ("judy", "olga"):
        assert [n["text"] for n in (await client.get(url, headers=p[staff])).json()] == [
            "looks like a rule, not a model"
        ]
        assert [n["author"] for n in (await client.get(team_url, headers=p[staff])).json()] == ["olga"]
    for outsider in ("ada", "bob", "otto"):
        assert (await client.get(url, headers=p[outsider])).status_code == 404
        assert (await client.get(team_url, headers=p[outsider])).status_code == 404
        assert (await client.post(url, json={"text": "hi"}, headers=p[outsider])).status_code == 404
    assert (await client.post(url, json={"text": ""}, headers=p["judy"])).status_code == 400
    other_team = f"/api/challenges/{OTHER}/teams/{sent['team_id']}/notes"
    assert (
        await client.get(other_team, headers=p["otto"])
    ).status_code == 404  # not a team of that challenge
    assert (
        "looks like a rule" not in (await client.get(f"/api/submissions/{sent['id']}", headers=p["ada"])).text
    )


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_exports_equal_the_boards_and_neutralise_formulas(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    evil = await login(client, "eve")
    made = await client.post(f"/api/challenges/{SLUG}/teams", json={"name": '=HYPERLINK("x")'}, headers=evil)
    assert made.status_code == 201
    for who, data in (("ada", csv_bytes(tumour_predictions()[0])), ("bob", flipped()), ("eve", flipped())):
        await upload(client, p[who], SLUG, data) if who != "eve" else await upload(client, evil, SLUG, data)
    await drain_queue(settings)
    for which in ("public", "private"):
        response = await client.get(
            f"/api/challenges/{SLUG}/export/leaderboard.csv?board={which}", headers=p["judy"]
        )
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = read_csv(response.content)
        shown = (
            await client.get(f"/api/challenges/{SLUG}/leaderboard?board={which}", headers=p["judy"])
        ).json()
        assert [(r["rank"], r["team"].removeprefix("'"), float(r["roc_auc"])) for r in rows] == [
            (str(e["rank"]), e["team"], e["score"]) for e in shown["entries"]
        ]
        assert [
            (r["ci_low"], r["ci_high"], r["tied_with_leader"], r["rank_low"], r["rank_high"]) for r in rows
        ] == [
            (
                repr(e["ci_low"]),
                repr(e["ci_high"]),
                "yes" if e["tied_with_leader"] else "no",
                str(e["rank_low"]),
                str(e["rank_high"]),
            )
            for e in shown["entries"]
        ]  # the export carries the board's intervals and ties
        assert '\'=HYPERLINK("x")' in [r["team"] for r in rows]
        header = response.content.decode().splitlines()[0].split(",")
        assert len(header) == len(set(header)), header  # the metric's column once (it was repeated)
        assert {r["members"] for r in rows} >= {"ada", "bob", "eve"}
    submissions = read_csv(
        (await client.get(f"/api/challenges/{SLUG}/export/submissions.csv", headers=p["olga"])).content
    )
    assert len(submissions) == 3 and {r["status"] for r in submissions} == {"scored"}
    assert set(submissions[0]) >= {
        "id",
        "team",
        "members",
        "kind",
        "status",
        "public_score",
        "private_score",
        "sha256",
        "cpu_s",
        "peak_memory_mb",
        "disqualified",
    }
    frame = pd.read_csv(
        io.BytesIO(
            (await client.get(f"/api/challenges/{SLUG}/export/submissions.csv", headers=p["olga"])).content
        ),
        encoding="utf-8-sig",
    )
    assert frame["public_score"].dtype.kind == "f"  # numbers stay numbers
    for outsider in ("ada", "otto"):
        assert (
            await client.get(f"/api/challenges/{SLUG}/export/submissions.csv", headers=p[outsider])
        ).status_code == 404
    exported = [
        e
        for e in (await client.get(f"/api/challenges/{SLUG}/audit", headers=p["olga"])).json()
        if e["action"] == "export"
    ]
    assert [e["target"] for e in exported] == [
        "submissions.csv",
        "submissions.csv",
        "leaderboard.csv (private)",
        "leaderboard.csv (public)",
    ]


@pytest.mark.parametrize("staff", ["olga", "judy"])
async def test_every_staff_action_is_in_the_audit_log(
    settings: Settings, client: AsyncTestClient, staff: str
) -> None:
    p = await contest(settings, client)
    sent = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()
    await client.post(f"/api/submissions/{sent['id']}/notes", json={"text": "checked"}, headers=p[staff])
    await client.post(f"/api/submissions/{sent['id']}/cancel", headers=p[staff])
    await client.get(f"/api/challenges/{SLUG}/bundle", headers=p[staff])
    log = (await client.get(f"/api/challenges/{SLUG}/audit", headers=p[staff])).json()
    assert [(e["actor"], e["action"]) for e in log[:3]] == [
        (staff, "bundle.download"),
        (staff, "submission.cancel"),
        (staff, "note"),
    ]
    assert (await client.get(f"/api/challenges/{SLUG}/audit", headers=p["otto"])).status_code == 404


async def test_the_audit_log_holds_every_kind_of_staff_action(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    olga = p["olga"]
    data = csv_bytes(tumour_predictions()[0])
    scored = (await upload(client, p["ada"], SLUG, data)).json()
    await drain_queue(settings)
    queued = (await upload(client, p["bob"], SLUG, flipped())).json()
    steps = [
        ("PATCH", f"/api/challenges/{SLUG}", {"limits": {"per_day": 9}}),
        ("POST", f"/api/challenges/{SLUG}/staff", {"username": "ada", "role": "judge"}),
        ("DELETE", f"/api/challenges/{SLUG}/staff/ada", None),
        ("POST", f"/api/submissions/{queued['id']}/cancel", None),
        ("POST", f"/api/challenges/{SLUG}/disqualifications", {"submission_id": scored["id"], "reason": "r"}),
        ("POST", f"/api/submissions/{scored['id']}/notes", {"text": "n"}),
        ("POST", f"/api/challenges/{SLUG}/rescore", None),
        ("GET", f"/api/challenges/{SLUG}/export/submissions.csv", None),
        ("GET", f"/api/challenges/{SLUG}/bundle", None),
        ("POST", f"/api/challenges/{SLUG}/close", None),
        ("POST", f"/api/challenges/{SLUG}/reveal", None),
    ]
    for method, path, body in steps:
        response = await client.request(method, path, json=body, headers=olga)
        assert response.status_code < 300, (method, path, response.text)
    lifted = (await client.get(f"/api/challenges/{SLUG}/disqualifications", headers=olga)).json()[0]["id"]
    assert (
        await client.delete(f"/api/challenges/{SLUG}/disqualifications/{lifted}", headers=olga)
    ).status_code == 204
    replaced = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", io.BytesIO(bundle_zip(TUMOUR)), "application/zip")},
        headers=olga,
    )
    assert replaced.status_code == 200
    everything = (await client.get(f"/api/challenges/{SLUG}/audit", headers=olga)).json()
    assert [(e["actor"], e["target"]) for e in everything[-2:]] == [
        ("operator", "judy"),
        ("operator", "olga"),
    ]
    log = everything[:-2]  # the operator made the staff first (`riality staff add`)
    assert [e["action"] for e in reversed(log)] == [
        "challenge.edit",
        "staff.set",
        "staff.remove",
        "submission.cancel",
        "disqualify",
        "note",
        "rescore",
        "export",
        "bundle.download",
        "challenge.closed",
        "challenge.revealed",
        "disqualify.lift",
        "bundle.replace",
    ]
    assert all(e["actor"] == "olga" and e["at"] for e in log)
    edit = log[-1]
    assert edit["before"] == {"limits": {**edit["before"]["limits"], "per_day": 20}}
    assert edit["after"]["limits"]["per_day"] == 9


async def test_the_submissions_export_says_which_are_disqualified_and_why(
    settings: Settings, client: AsyncTestClient
) -> None:
    p = await contest(settings, client)
    ada = (await upload(client, p["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()
    bob = (await upload(client, p["bob"], SLUG, flipped())).json()
    kept = (await upload(client, p["ada"], SLUG, flipped())).json()
    url = f"/api/challenges/{SLUG}/disqualifications"
    made = [
        await client.post(url, json={"submission_id": ada["id"], "reason": "late"}, headers=p["olga"]),
        await client.post(url, json={"team_id": bob["team_id"], "reason": "two accounts"}, headers=p["olga"]),
    ]
    assert [m.status_code for m in made] == [201, 201]
    rows = read_csv(
        (await client.get(f"/api/challenges/{SLUG}/export/submissions.csv", headers=p["olga"])).content
    )
    assert {int(r["id"]): r["disqualified"] for r in rows} == {
        ada["id"]: "late",
        bob["id"]: "two accounts",
        kept["id"]: "",
    }
