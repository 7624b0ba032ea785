"""Per-group scores end to end, on the dyslexia example (groups: the hidden `home_language` column):
the worker scores each group, the board shows the worst group and the disparity, the team and staff
see the scores per group (the private ones only when they may), sizes are public, and a challenge
may rank by its worst group."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from litestar.testing import AsyncTestClient
from sklearn.metrics import f1_score

from core.models import StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, upload

SLUG = "dyslexia-gaze"
LABELS = pd.read_csv(EXAMPLES / SLUG / "hidden" / "labels.csv", dtype={"id": str})


def answers(wrong_on: str, share: float, seed: int = 3) -> pd.DataFrame:
    """The true referrals, with `share` of the rows of one group flipped (seeded)."""
    flip = (LABELS["home_language"] == wrong_on) & (np.random.default_rng(seed).random(len(LABELS)) < share)
    return pd.DataFrame(
        {"id": LABELS["id"], "referral": np.where(flip, 1 - LABELS["referral"], LABELS["referral"])}
    )


def bundle_ranked_by_worst_group(tmp_path: Path) -> Path:
    folder = tmp_path / SLUG
    shutil.copytree(EXAMPLES / SLUG, folder)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    (folder / "challenge.yaml").write_text(yaml.safe_dump({**manifest, "rank_by": "worst_group"}))
    return folder


async def two_teams(settings: Settings, client: AsyncTestClient, folder: Path) -> tuple[dict, dict]:
    """ada: right everywhere but the 'other' group (30 % of it wrong); bob: mistakes in each group.
    Overall (F1 on the public rows) ada leads, 0.85 to 0.77; on the worst group bob does, 0.70 to 0.58."""
    await load_challenge(settings, folder)
    ada, bob = await login(client, "ada"), await login(client, "bob")
    mixed = answers("french", 0.25, seed=4)
    mixed.loc[LABELS["home_language"] == "other", "referral"] = answers("other", 0.08, seed=5)["referral"]
    assert (await upload(client, ada, SLUG, csv_bytes(answers("other", 0.3)))).status_code == 202
    assert (await upload(client, bob, SLUG, csv_bytes(mixed))).status_code == 202
    await drain_queue(settings)
    return ada, bob


async def test_groups_are_scored_shown_on_the_board_and_to_the_team_only(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada, _ = await two_teams(settings, client, EXAMPLES / SLUG)
    [mine] = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=ada)).json()
    by_group = mine["metrics"]["groups"]["public"]
    assert set(by_group) == {"french", "other"}  # 'not recorded' has 4 public rows: not reported alone
    assert "private" not in mine["metrics"]["groups"] and "private" not in mine["metrics"]  # not revealed
    detail = (await client.get(f"/api/challenges/{SLUG}")).json()
    sizes = {g["name"]: (g["public_rows"], g["private_rows"]) for g in detail["groups"]["groups"]}
    assert sizes["not recorded"][0] < 30 <= sizes["other"][0] and detail["groups"]["rank_by"] == "overall"

    # The worker's figure for each group equals scikit-learn's on that group's public rows.
    predicted = answers("other", 0.3).set_index("id")["referral"]
    public = LABELS[LABELS["id"].isin(_public_ids(settings))]
    for group, value in by_group.items():
        rows = public[public["home_language"] == group]
        assert value == f1_score(rows["referral"], predicted.loc[rows["id"]])

    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    entry = {e["team"]: e for e in board["entries"]}
    assert entry["ada"]["worst_group"] == by_group["other"] == min(by_group.values())
    assert entry["ada"]["disparity"] == by_group["french"] - by_group["other"] > 0.3
    assert [e["team"] for e in board["entries"]] == ["ada", "bob"]  # ranked overall: ada's F1 is higher

    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    judy = await login(client, "judy", register=False)
    staff_view = (await client.get(f"/api/submissions/{mine['id']}", headers=judy)).json()
    assert set(staff_view["metrics"]["groups"]["private"]) == {"french", "other"}

    page = (await client.get(f"/c/{SLUG}")).text
    assert "Worst group" in page and "Disparity" in page and "data-groups" in page
    assert "home_language" in page and "too small to report alone" in page


def _public_ids(settings: Settings) -> set[str]:
    from challenges.bundle import load_bundle

    truth = load_bundle(EXAMPLES / SLUG).truth
    return set(truth.ids[truth.public])


async def test_a_challenge_ranked_by_its_worst_group_puts_the_even_team_first(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await two_teams(settings, client, bundle_ranked_by_worst_group(tmp_path))
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert [e["team"] for e in board["entries"]] == ["bob", "ada"]
    for entry in board["entries"]:
        assert entry["score"] == entry["worst_group"] < entry["metrics"]["f1"]
    assert "Score (worst group)" in (await client.get(f"/c/{SLUG}")).text
