"""The Ladder as a board mode (`public_board: ladder`), end to end on the digits example (accuracy): the
worker releases a team's submission only when it beats the released one by more than one standard
error; the public board and the team see released scores only; the private board and the staff see
everything; a replay (after a rescore) releases the same submissions; the mode cannot be switched once
submissions are scored."""

from __future__ import annotations

import pandas as pd
from litestar.testing import AsyncTestClient
from sqlmodel import col, select, update

from challenges.bundle import load_bundle
from core.db import create_engine, create_sessionmaker
from core.models import StaffRole, Submission
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, login, make_staff, upload
from tests.integration.test_lifecycle import bundle_zip, create, organiser

SLUG = "digits-vision-aid"
DIGITS = EXAMPLES / SLUG
LABELS = pd.read_csv(DIGITS / "hidden" / "labels.csv", dtype={"id": str})
TRUTH = load_bundle(DIGITS).truth
PUBLIC = LABELS["id"].isin(set(TRUTH.ids[TRUTH.public]))


def answers(public_wrong: int, private_wrong: int) -> pd.DataFrame:
    """The true digits with the first `public_wrong` public rows and `private_wrong` private rows wrong."""
    wrong = (PUBLIC & (PUBLIC.cumsum() <= public_wrong)) | (~PUBLIC & ((~PUBLIC).cumsum() <= private_wrong))
    return LABELS.assign(digit=LABELS["digit"].where(~wrong, (LABELS["digit"] + 1) % 10))


async def test_the_public_board_shows_released_scores_and_the_private_board_the_true_best(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle_zip(DIGITS, public_board="ladder"))
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)).status_code == 200
    detail = (await client.get(f"/api/challenges/{SLUG}")).json()
    assert detail["public_board"] == "ladder"
    assert "Ladder" in (await client.get(f"/c/{SLUG}")).text

    n_public = int(PUBLIC.sum())
    ada = await login(client, "ada")
    sent = []
    # First: released. Second: one public row better (exactly one standard error: not more), and
    # better on the private rows. Third: 40 public rows better: released.
    for public_wrong, private_wrong in ((40, 10), (39, 0), (0, 10)):
        response = await upload(client, ada, SLUG, csv_bytes(answers(public_wrong, private_wrong)))
        assert response.status_code == 202, response.text
        sent.append(response.json()["id"])
        await drain_queue(settings)
        if len(sent) == 2:
            board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
            assert [(e["team"], e["score"]) for e in board] == [("ada", (n_public - 40) / n_public)]
            await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
            judy = await login(client, "judy", register=False)
            private = await client.get(f"/api/challenges/{SLUG}/leaderboard?board=private", headers=judy)
            assert [e["score"] for e in private.json()["entries"]] == [1.0]  # the second's: the true best

    mine = {s["id"]: s for s in (await client.get(f"/api/challenges/{SLUG}/submissions", headers=ada)).json()}
    assert [mine[i]["released"] for i in sent] == [True, False, True]
    assert mine[sent[1]]["public_score"] is None and "public" not in mine[sent[1]]["metrics"]
    assert (
        mine[sent[0]]["public_score"] == (n_public - 40) / n_public and mine[sent[2]]["public_score"] == 1.0
    )
    staff_view = (await client.get(f"/api/submissions/{sent[1]}", headers=olga)).json()
    assert staff_view["public_score"] == (n_public - 39) / n_public  # the staff see every score
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
    assert [(e["team"], e["score"]) for e in board] == [("ada", 1.0)]

    # A rescore ends with a replay: releases forgotten here are decided again, in the order sent.
    engine = create_engine(settings.database)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            await session.exec(update(Submission).values(released=False))
            await session.commit()
        assert (await client.post(f"/api/challenges/{SLUG}/rescore", headers=olga)).status_code == 202
        await drain_queue(settings)
        async with sessions() as session:
            released = await session.exec(select(Submission.id).where(col(Submission.released)))
            assert sorted(released) == [sent[0], sent[2]]
    finally:
        await engine.dispose()

    switched = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(DIGITS, public_board="plain"), "application/zip")},
        headers=olga,
    )
    assert switched.status_code == 409 and "public_board cannot change" in switched.text


async def test_a_metric_without_per_row_losses_cannot_have_a_ladder(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    refused = await create(client, olga, bundle_zip(EXAMPLES / "tumour-detection", public_board="ladder"))
    assert refused.status_code == 422, refused.text
    assert "public_board: ladder" in refused.text and "roc_auc" in refused.text
