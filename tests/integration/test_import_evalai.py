"""An EvalAI challenge brought over: a `challenge_config.yaml` zipped with its templates, annotations and
`evaluation_script` package, written here from EvalAI's documentation (its challenge template). It imports
with a report, takes a submission and scores it as EvalAI would: `evaluate(test_annotation_file,
user_submission_file, phase_codename)` returns a result per split, the public split on the public board
and the host-only split on the private one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from litestar.testing import AsyncTestClient

from core.models import StaffRole
from core.settings import Settings
from tests.helpers import announce_sandbox_worker, drain_queue, login, make_staff, upload
from tests.integration.test_lifecycle import create_reported, organiser
from tests.integration.test_model_and_code import zip_bytes

ITEMS = 60
RNG = np.random.default_rng(21)
ANSWERS = {f"q{i}": str(RNG.integers(0, 4)) for i in range(ITEMS)}
SPLIT = {key: ("dev" if i % 2 == 0 else "test") for i, key in enumerate(ANSWERS)}

# EvalAI's template: evaluation_script/__init__.py imports evaluate from main.py.
MAIN = """
import json

def evaluate(test_annotation_file, user_submission_file, phase_codename, **kwargs):
    truth = json.load(open(test_annotation_file))
    found = json.load(open(user_submission_file))
    result = []
    for split in ("dev", "test"):
        keys = [k for k, v in truth["split"].items() if v == split]
        right = sum(found.get(k) == truth["answers"][k] for k in keys)
        result.append({split: {"Accuracy": right / len(keys), "Total": len(keys)}})
    return {"result": result, "submission_result": result[0]}
"""

CONFIG = {
    "title": "Reading questions",
    "short_description": "Answer each question with its option number.",
    "description": "templates/description.html",
    "evaluation_details": "templates/evaluation_details.html",
    "terms_and_conditions": "templates/terms_and_conditions.html",
    "image": "logo.jpg",
    "submission_guidelines": "templates/submission_guidelines.html",
    "leaderboard_description": "Accuracy on the questions.",
    "evaluation_script": "evaluation_script.zip",
    "remote_evaluation": False,
    "is_docker_based": False,
    "start_date": "2026-01-01 00:00:00",
    "end_date": "2030-12-31 23:59:59",
    "published": True,
    "leaderboard": [
        {
            "id": 1,
            "schema": {
                "labels": ["Total", "Accuracy"],
                "default_order_by": "Accuracy",
                "metadata": {"Accuracy": {"sort_ascending": False, "description": "share right"}},
            },
        }
    ],
    "challenge_phases": [
        {
            "id": 1,
            "name": "Dev Phase",
            "description": "templates/challenge_phase_1_description.html",
            "leaderboard_public": True,
            "is_public": True,
            "is_submission_public": True,
            "start_date": "2026-01-01 00:00:00",
            "end_date": "2030-12-31 23:59:59",
            "test_annotation_file": "annotations/test_annotations.json",
            "codename": "dev",
            "max_submissions_per_day": 9,
            "max_submissions_per_month": 100,
            "max_submissions": 90,
            "allowed_submission_file_types": ".json",
        },
        {  # the final phase, on annotations of its own, from the end of the first
            "id": 2,
            "name": "Test Phase",
            "start_date": "2030-12-31 23:59:59",
            "end_date": "2031-06-30 00:00:00",
            "test_annotation_file": "annotations/final_annotations.json",
            "codename": "final",
            "max_submissions_per_day": 2,
        },
    ],
    "dataset_splits": [
        {"id": 1, "name": "Dev Split", "codename": "dev"},
        {"id": 2, "name": "Test Split", "codename": "test"},
    ],
    "challenge_phase_splits": [
        {
            "challenge_phase_id": 1,
            "leaderboard_id": 1,
            "dataset_split_id": 1,
            "visibility": 3,
            "leaderboard_decimal_precision": 3,
            "is_leaderboard_order_descending": True,
        },
        {
            "challenge_phase_id": 1,
            "leaderboard_id": 1,
            "dataset_split_id": 2,
            "visibility": 1,
            "leaderboard_decimal_precision": 3,
            "is_leaderboard_order_descending": True,
        },
        {"challenge_phase_id": 2, "leaderboard_id": 1, "dataset_split_id": 2, "visibility": 3},
    ],
}


def challengezip_bytes() -> bytes:
    script = zip_bytes({"__init__.py": "from .main import evaluate\n", "main.py": MAIN})
    return zip_bytes(
        {
            "challenge_config.yaml": yaml.safe_dump(CONFIG),
            "logo.jpg": b"\xff\xd8",
            "templates/description.html": "<p>Questions about short texts.</p>",
            "templates/evaluation_details.html": "<p>Accuracy per split.</p>",
            "templates/terms_and_conditions.html": "<p>No hand labelling.</p>",
            "templates/submission_guidelines.html": "<p>A JSON object of answers.</p>",
            "templates/challenge_phase_1_description.html": "<p>Dev.</p>",
            "annotations/test_annotations.json": json.dumps({"answers": ANSWERS, "split": SPLIT}),
            "annotations/final_annotations.json": json.dumps({"answers": ANSWERS, "split": SPLIT}),
            "evaluation_script.zip": script,
        }
    )


@pytest.mark.timeout(300)
async def test_an_evalai_challenge_imports_and_scores_each_split_on_its_board(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    expected = (
        "imported from EvalAI (challenge_config.yaml)",
        "image: the challenge's logo not imported",
        "a monthly limit not honoured",
        "the allowed file types",
        "phase 'Dev Phase': ranked by 'Accuracy' (higher is better)",
        "phase 'Test Phase' has no host-only split: the private board repeats the public one",
    )
    slug = await create_reported(client, olga, challengezip_bytes(), expected)
    detail = (await client.get(f"/api/challenges/{slug}", headers=olga)).json()
    assert detail["metric"] == "Accuracy" and detail["extra_metrics"] == ["Total"]
    assert (detail["limits"]["per_day"], detail["limits"]["total"]) == (9, 90)
    assert [(p["key"], p["status"], p["opens"]) for p in detail["phases"]] == [
        ("dev-phase", "open", "2026-01-01T00:00:00Z"),
        ("test-phase", "upcoming", "2030-12-31T23:59:59Z"),
    ]
    final = (await client.get(f"/api/challenges/{slug}?phase=test-phase", headers=olga)).json()
    assert final["limits"]["per_day"] == 2 and final["metric"] == "Accuracy"
    assert "A JSON object of answers." in detail["description"]
    assert (await client.post(f"/api/challenges/{slug}/publish", headers=olga)).status_code == 200

    await announce_sandbox_worker(settings)
    ada = await login(client, "ada")
    guess = dict(ANSWERS)
    wrong = [k for k in guess if SPLIT[k] == "dev"][:6] + [k for k in guess if SPLIT[k] == "test"][:3]
    for key in wrong:
        guess[key] = "9"
    sent = await upload(client, ada, slug, json.dumps(guess).encode(), filename="answers.json")
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "scored", result
    assert result["public_score"] == pytest.approx((30 - 6) / 30)  # the dev split, shown to everyone
    await make_staff(settings, "judy", slug, StaffRole.JUDGE)
    judy = await login(client, "judy", register=False)
    seen = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=judy)).json()
    assert seen["private_score"] == pytest.approx((30 - 3) / 30)  # the test split, for the hosts
    assert seen["metrics"]["private"]["Total"] == 30
