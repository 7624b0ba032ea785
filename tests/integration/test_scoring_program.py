"""A challenge scored by the organiser's program: teams upload a zip of PNG masks, the program (in its
own sandboxed container, Codabench's paths) writes Dice and IoU, the boards rank them. A program that
crashes fails the submission at no cost to the team, its output for the staff only; a submission the
program refuses tells the team why."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from challenges.make_segmentation import load_codec
from core.db import create_engine, create_sessionmaker
from core.models import StaffRole, Submission
from core.settings import Settings
from tests.helpers import announce_sandbox_worker, drain_queue, load_challenge, login, make_staff, upload
from tests.integration.test_lifecycle import bundle_zip, create, organiser
from tests.integration.test_model_and_code import zip_bytes

EXAMPLE = Path(__file__).parents[2] / "challenges" / "examples" / "tumour-segmentation"
SLUG = "tumour-segmentation"


PNG = load_codec(EXAMPLE / "program")


def _truth() -> tuple[dict[str, np.ndarray], dict[str, str]]:
    masks = {
        p.stem: PNG.read_png(p.read_bytes()) > 0 for p in (EXAMPLE / "reference" / "masks").glob("*.png")
    }
    rows = (EXAMPLE / "reference" / "split.csv").read_text().splitlines()[1:]
    return masks, dict(line.split(",") for line in rows)


def _masks_zip(masks: dict[str, np.ndarray], folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for image_id, mask in masks.items():
            archive.writestr(f"{folder}{image_id}.png", PNG.write_png(mask.astype(np.uint8) * 255))
    return buffer.getvalue()


def _mean_dice(truth: dict[str, np.ndarray], predicted: dict[str, np.ndarray], ids: list[str]) -> float:
    """Dice per image computed here, independently of the program (two empty masks agree fully)."""
    values = []
    for i in ids:
        t, p = truth[i], predicted[i]
        both = int(t.sum() + p.sum())
        values.append(1.0 if both == 0 else 2 * int((t & p).sum()) / both)
    return float(np.mean(values))


def _bundle(tmp_path: Path, score_py: str | None = None) -> Path:
    folder = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, folder)
    if score_py is not None:
        (folder / "program" / "score.py").write_text(score_py)
    return folder


@pytest.mark.timeout(300)
async def test_a_zip_of_png_masks_is_scored_by_the_program_and_ranked(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _bundle(tmp_path))
    await announce_sandbox_worker(settings)
    truth, subsets = _truth()
    public = [i for i, s in subsets.items() if s == "public"]
    private = [i for i, s in subsets.items() if s == "private"]
    # ada: the right masks, with their corners cleared, in a folder of the zip; bob: a centred square
    ada_masks = {i: m.copy() for i, m in truth.items()}
    for mask in ada_masks.values():
        mask[:8, :8] = False
    square = np.zeros_like(next(iter(truth.values())))
    square[12:20, 12:20] = True
    bob_masks = {i: square for i in truth}
    ada, bob = await login(client, "ada"), await login(client, "bob")
    sent_ada = await upload(client, ada, SLUG, _masks_zip(ada_masks, "masks/"), filename="masks.zip")
    sent_bob = await upload(client, bob, SLUG, _masks_zip(bob_masks), filename="square.zip")
    assert sent_ada.status_code == 202 and sent_bob.status_code == 202, (sent_ada.text, sent_bob.text)
    assert sent_ada.json()["kind"] == "files"

    await drain_queue(settings)

    ada_result = (await client.get(f"/api/submissions/{sent_ada.json()['id']}", headers=ada)).json()
    bob_result = (await client.get(f"/api/submissions/{sent_bob.json()['id']}", headers=bob)).json()
    assert ada_result["status"] == "scored", ada_result
    assert ada_result["public_score"] == pytest.approx(_mean_dice(truth, ada_masks, public), abs=1e-12)
    assert bob_result["public_score"] == pytest.approx(_mean_dice(truth, bob_masks, public), abs=1e-12)
    assert set(ada_result["metrics"]["public"]) == {"dice", "iou"}
    assert ada_result["private_score"] is None  # the private board is not revealed yet

    redis = Redis.from_url(settings.redis_url)
    try:  # a program's scores have no bootstrap intervals: no pass was queued for them
        assert await redis.keys(f"arq:*uncertainty:{SLUG}*") == []
    finally:
        await redis.aclose()
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["metric"] == "dice"
    assert [e["team"] for e in board["entries"]] == ["ada", "bob"]
    assert [b["name"] for b in board["baselines"]] == ["threshold at 150"]  # run by the worker, unranked

    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    judy = await login(client, "judy", register=False)
    private_board = (
        await client.get(f"/api/challenges/{SLUG}/leaderboard?board=private", headers=judy)
    ).json()
    top = private_board["entries"][0]
    assert top["team"] == "ada" and top["score"] == pytest.approx(_mean_dice(truth, ada_masks, private))

    assert ada_result["details"] is True
    page = await client.get(f"/api/submissions/{ada_result['id']}/details", headers=ada)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("sandbox;")
    assert "Public images" in page.text and private[0] not in page.text
    assert (await client.get(f"/api/submissions/{ada_result['id']}/details", headers=bob)).status_code == 404


CRASHING = "import sys\nprint(open(sys.argv[1] + '/ref/split.csv').read())\nraise SystemExit(2)\n"


@pytest.mark.timeout(300)
async def test_a_crashing_program_fails_the_submission_at_no_cost_to_the_team(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _bundle(tmp_path, CRASHING))
    await announce_sandbox_worker(settings)
    truth, _ = _truth()
    ada = await login(client, "ada")
    sent = await upload(client, ada, SLUG, _masks_zip(truth), filename="masks.zip")
    await drain_queue(settings)
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "failed"
    assert result["error"].startswith("the challenge's scorer failed on this submission")
    assert result["scorer_logs"] is None and "subset" not in (
        result["logs"] or ""
    )  # the reference stays hidden
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(Submission, sent.json()["id"])
            assert row is not None and row.counts_toward_quota is False
    finally:
        await engine.dispose()
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    olga = await login(client, "olga", register=False)
    seen = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=olga)).json()
    assert "exit 2" in seen["scorer_logs"] and "scan-" in seen["scorer_logs"]  # the program's output


@pytest.mark.timeout(300)
async def test_a_submission_the_program_refuses_tells_the_team_why(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _bundle(tmp_path))
    await announce_sandbox_worker(settings)
    truth, _ = _truth()
    ada = await login(client, "ada")
    some = dict(list(truth.items())[:5])
    sent = await upload(client, ada, SLUG, _masks_zip(some), filename="masks.zip")
    await drain_queue(settings)
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "failed"
    assert result["error"].startswith(f"no mask for {len(truth) - 5} test image(s)"), result["error"]


async def test_the_pages_and_downloads_of_a_program_challenge(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _bundle(tmp_path))
    detail = (await client.get(f"/api/challenges/{SLUG}")).json()
    names = {f["name"] for f in detail["files"]}
    assert names == {"inputs.zip", "starter.zip"}  # the reference and the program are never served
    inputs = await client.get(f"/api/challenges/{SLUG}/files/inputs.zip")
    with zipfile.ZipFile(io.BytesIO(inputs.content)) as archive:
        listed = archive.namelist()
    assert "test/images/scan-040.png" in listed and not any(n.startswith("reference") for n in listed)
    assert (await client.get(f"/api/challenges/{SLUG}/files/reference.zip")).status_code == 404
    for page in ("", "/team", "/judge"):
        response = await client.get(f"/c/{SLUG}{page}")
        assert response.status_code == 200, (page, response.text[:500])
    challenge_page = (await client.get(f"/c/{SLUG}")).text
    assert "inputs.zip" in challenge_page and "writes the board&#39;s columns: Dice, IoU" in challenge_page


HALF = "import json, sys\nopen(sys.argv[2] + '/scores.json', 'w').write(json.dumps({'dice': 0.5, 'iou': 0.25}))\n"


@pytest.mark.timeout(300)
async def test_an_uploaded_program_bundle_round_trips_and_a_new_program_rescores(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle_zip(_bundle(tmp_path)))
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)).status_code == 200
    await announce_sandbox_worker(settings)
    truth, subsets = _truth()
    ada = await login(client, "ada")
    sent = (await upload(client, ada, SLUG, _masks_zip(truth), filename="masks.zip")).json()
    await drain_queue(settings)
    first = (await client.get(f"/api/submissions/{sent['id']}", headers=ada)).json()
    assert first["public_score"] == 1.0, first

    # The exported bundle holds the program and reference folders again, and loads as it was.
    exported = await client.get(f"/api/challenges/{SLUG}/bundle", headers=olga)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        archive.extractall(tmp_path / "exported")
    assert (tmp_path / "exported" / "program" / "score.py").read_bytes() == (
        EXAMPLE / "program" / "score.py"
    ).read_bytes()
    assert len(list((tmp_path / "exported" / "reference" / "masks").glob("*.png"))) == len(subsets)

    replaced = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={
            "bundle": ("b.zip", io.BytesIO(bundle_zip(_bundle(tmp_path / "new", HALF))), "application/zip")
        },
        headers=olga,
    )
    assert replaced.status_code == 200, replaced.text
    # The program changed: its submission is scored again.
    assert replaced.json()["changed"] == ["data.program"] and replaced.json()["rescore"]["total"] == 1
    await drain_queue(settings)
    again = (await client.get(f"/api/submissions/{sent['id']}", headers=ada)).json()
    assert again["public_score"] == 0.5 and again["metrics"]["public"] == {"dice": 0.5, "iou": 0.25}


INGEST = """
import importlib, sys
from pathlib import Path
from png import read_png, write_png

input_data, output, program, code = map(Path, sys.argv[1:5])
sys.path.insert(0, str(code))
team = importlib.import_module("segment")
for scan in sorted(input_data.glob("*.png")):
    mask = team.segment(read_png(scan.read_bytes()))
    (output / scan.name).write_bytes(write_png((mask > 0).astype("uint8") * 255))
"""
THRESHOLD = "def segment(pixels):\n    return pixels > 150\n"
CRASH = "def segment(pixels):\n    raise RuntimeError('my model broke')\n"
# A link in the output would point the scoring program, which sees the reference, at the answer.
LINK = (
    "import os\n"
    "def segment(pixels):\n"
    "    if not os.path.lexists('/app/output/linked.png'):\n"
    "        os.symlink('/app/input/ref/masks/scan-040.png', '/app/output/linked.png')\n"
    "    return pixels > 150\n"
)


def ingestion_bundle(tmp_path: Path) -> Path:
    folder = _bundle(tmp_path)
    (folder / "ingestion").mkdir()
    (folder / "ingestion" / "ingest.py").write_text(INGEST)
    shutil.copyfile(folder / "program" / "png.py", folder / "ingestion" / "png.py")
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest["kinds"] = ["files", "code"]
    manifest["program"]["ingestion"] = {
        "folder": "ingestion",
        "command": "python3 $program/ingest.py $input_data $output $program $ingested_program",
    }
    manifest["data"]["input_data"] = "inputs/test/images"
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return folder


@pytest.mark.timeout(300)
async def test_an_ingestion_program_runs_the_teams_code_and_the_program_scores_what_it_wrote(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, ingestion_bundle(tmp_path))
    await announce_sandbox_worker(settings)
    ada, bob = await login(client, "ada"), await login(client, "bob")
    code = zip_bytes({"segment.py": THRESHOLD})
    sent = await upload(client, ada, SLUG, code, filename="code.zip", kind="code")
    broken = await upload(
        client, bob, SLUG, zip_bytes({"segment.py": CRASH}), filename="code.zip", kind="code"
    )
    eve = await login(client, "eve")
    linked = await upload(
        client, eve, SLUG, zip_bytes({"segment.py": LINK}), filename="code.zip", kind="code"
    )
    assert sent.status_code == 202 and broken.status_code == 202, (sent.text, broken.text)
    await drain_queue(settings)
    refused = (await client.get(f"/api/submissions/{linked.json()['id']}", headers=eve)).json()
    assert refused["status"] == "failed"
    assert refused["error"] == "invalid output: linked.png is not a regular file or folder"
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "scored", result
    assert result["kind"] == "code" and result["wall_s"] is not None  # the team's run, measured
    # The same rule as the bundle's "threshold at 150" baseline, which is a zip of masks: the same score.
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    (baseline,) = board["baselines"]
    assert result["public_score"] == pytest.approx(baseline["score"], abs=1e-12)
    failed = (await client.get(f"/api/submissions/{broken.json()['id']}", headers=bob)).json()
    assert failed["status"] == "failed" and failed["error"].startswith("crashed with exit code")
    assert "my model broke" in failed["logs"]  # its own code's output: the team's to see


async def test_without_a_sandbox_worker_the_upload_is_refused_without_suggesting_prediction_files(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _bundle(tmp_path))
    ada = await login(client, "ada")
    refused = await upload(client, ada, SLUG, _masks_zip(_truth()[0]), filename="masks.zip")
    assert refused.status_code == 503
    assert "no Docker daemon answers on a live worker" in refused.json()["detail"]
    assert "prediction files" not in refused.json()["detail"]  # this challenge takes none


async def test_a_new_ingestion_program_or_input_data_is_a_change_the_scores_depend_on(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle_zip(ingestion_bundle(tmp_path / "first")))
    assert created.status_code == 201, created.text
    changed = ingestion_bundle(tmp_path / "second")
    (changed / "ingestion" / "ingest.py").write_text(INGEST + "# the driver, revised\n")
    (changed / "inputs" / "test" / "images" / "scan-040.png").unlink()
    replaced = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", io.BytesIO(bundle_zip(changed)), "application/zip")},
        headers=olga,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["changed"] == ["data.ingestion", "data.input_data"]
