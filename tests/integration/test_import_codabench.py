"""Codabench (version 2) and CodaLab (version 1.5) bundles brought over, each written here from that
platform's documentation and parser (codabench `unpackers/v2.py`, `v1.py`): they import with a report
of what riality does not honour, take a submission and score it as the source platform would: their
scoring program, run with /app/input/ref, /app/input/res and /app/output, its scores.json or scores.txt
keyed by the leaderboard's columns."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from litestar.testing import AsyncTestClient

from core.settings import Settings
from tests.helpers import announce_sandbox_worker, drain_queue, login, upload
from tests.integration.test_lifecycle import create, create_reported, organiser
from tests.integration.test_model_and_code import zip_bytes

ROWS = 90
RNG = np.random.default_rng(12)
TRUTH = RNG.integers(0, 3, ROWS)

# Codabench's style: an absolute command in metadata.yaml, scores.json keyed by column keys.
CODABENCH_SCORE = """
import json, time
started = time.time()
truth = open('/app/input/ref/answers.txt').read().split()
found = open('/app/input/res/answers.txt').read().split()
if len(found) != len(truth):
    open('/app/output/invalid.txt', 'w').write(f'expected {len(truth)} answers, got {len(found)}')
    raise SystemExit(0)
accuracy = sum(a == b for a, b in zip(truth, found)) / len(truth)
json.dump({'accuracy': accuracy, 'duration': time.time() - started}, open('/app/output/scores.json', 'w'))
"""

# Codabench's ingestion layout: the team's code at /app/ingested_program, the inputs at /app/input_data.
CODABENCH_INGEST = """
import sys
sys.path.insert(0, '/app/ingested_program')
from model import predict
rows = open('/app/input_data/flowers.csv').read().split()[1:]
open('/app/output/answers.txt', 'w').write('\\n'.join(str(predict(int(x))) for x in rows) + '\\n')
"""
FEATURE = (TRUTH + (RNG.random(ROWS) < 0.25)) % 3  # a feature that gives the class three times in four

COMPETITION_V2 = {
    "version": 2,
    "title": "Iris, three ways",
    "description": "Classify each flower.",
    "image": "logo.png",
    "docker_image": "codalab/codalab-legacy:py37",
    "registration_auto_approve": True,
    "terms": "pages/terms.md",
    "pages": [{"title": "Overview", "file": "pages/overview.md"}],
    "tasks": [
        {
            "index": 0,
            "name": "Iris task",
            "scoring_program": "scoring_program.zip",
            "reference_data": "reference_data",
            "ingestion_program": "ingestion_program",
            "input_data": "input_data",
        }
    ],
    "solutions": [{"index": 0, "tasks": [0], "path": "solution", "name": "all zeros"}],
    "phases": [
        {
            "index": 0,
            "name": "Development",
            "start": "2026-01-01",
            "end": "2030-01-01",
            "tasks": [0],
            "max_submissions_per_day": 7,
            "max_submissions": 70,
            "execution_time_limit_ms": 90000,
            "public_data": "public_data",
        },
        {
            "index": 1,
            "name": "Final",
            "start": "2030-01-01",
            "tasks": [0],
            "auto_migrate_to_this_phase": True,
        },
    ],
    # Its documentation writes `leaderboard:`, its parser `leaderboards:`: this one uses the docs' spelling.
    "leaderboard": [
        {
            "title": "Results",
            "key": "main",
            "submission_rule": "Force_Last",
            "columns": [
                {"title": "Accuracy", "key": "accuracy", "index": 0, "sorting": "desc", "precision": 4},
                {"title": "Duration", "key": "duration", "index": 1, "sorting": "asc", "hidden": True},
            ],
        }
    ],
}


def _answers(values: np.ndarray) -> str:
    return "\n".join(str(v) for v in values) + "\n"


def codabench_bundle() -> bytes:
    program = zip_bytes(
        {"metadata.yaml": "command: python3 /app/program/score.py\n", "score.py": CODABENCH_SCORE}
    )
    files: dict[str, str | bytes] = {
        "competition.yaml": yaml.safe_dump(COMPETITION_V2),
        "logo.png": b"\x89PNG",
        "pages/terms.md": "Be kind.",
        "pages/overview.md": "Three species, four measurements.",
        "scoring_program.zip": program,
        "reference_data/answers.txt": _answers(TRUTH),
        "ingestion_program/metadata.yaml": "command: python3 /app/program/ingest.py\n",
        "ingestion_program/ingest.py": CODABENCH_INGEST,
        "input_data/flowers.csv": "x\n" + _answers(FEATURE),
        "public_data/flowers.csv": "x\n1\n",
        "solution/answers.txt": _answers(np.zeros(ROWS, dtype=int)),
    }
    return zip_bytes({f"iris/{name}": data for name, data in files.items()})  # zipped with its folder


@pytest.mark.timeout(300)
async def test_a_codabench_bundle_imports_reports_and_scores_as_codabench_would(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    expected = (
        "imported from Codabench (competition.yaml, version 2)",
        "phase 'Development': ranked by 'accuracy' (higher is better)",
        "image: the competition's logo not imported",
        "registration_auto_approve",
        "submission_rule Force_Last",
        "hidden columns duration are shown",
        "docker_image codalab/codalab-legacy:py37",
    )
    slug = await create_reported(client, olga, codabench_bundle(), expected)
    detail = (await client.get(f"/api/challenges/{slug}", headers=olga)).json()
    assert detail["metric"] == "accuracy" and detail["kinds"] == ["files", "code"]  # code: the ingestion's
    assert (detail["limits"]["per_day"], detail["limits"]["total"], detail["limits"]["time_s"]) == (7, 70, 90)
    assert detail["closes"] is None  # its final phase has no end
    assert [(p["key"], p["status"], p["migrate"]) for p in detail["phases"]] == [
        ("development", "open", False),
        ("final", "upcoming", True),
    ]
    assert detail["phases"][0]["closes"].startswith("2030-01-01")
    assert "Be kind." in detail["description"] and "Three species" in detail["description"]
    assert {f["name"] for f in detail["files"]} == {
        "inputs.zip"
    }  # public_data, not the ingestion's input_data
    assert (await client.post(f"/api/challenges/{slug}/publish", headers=olga)).status_code == 200

    await announce_sandbox_worker(settings)
    ada = await login(client, "ada")
    guess = TRUTH.copy()
    guess[:20] = (guess[:20] + 1) % 3
    sent = await upload(
        client, ada, slug, zip_bytes({"answers.txt": _answers(guess)}), filename="results.zip"
    )
    short = await upload(client, ada, slug, zip_bytes({"answers.txt": "1\n"}), filename="short.zip")
    bob = await login(client, "bob")
    model = zip_bytes({"model.py": "def predict(x):\n    return x\n"})
    code = await upload(client, bob, slug, model, filename="model.zip", kind="code")
    assert code.status_code == 202, code.text
    await drain_queue(settings)
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "scored", result
    assert result["public_score"] == pytest.approx((ROWS - 20) / ROWS)  # what the program computes
    assert set(result["metrics"]["public"]) == {"accuracy", "duration"}
    refused = (await client.get(f"/api/submissions/{short.json()['id']}", headers=ada)).json()
    assert refused["status"] == "failed" and refused["error"] == f"expected {ROWS} answers, got 1"
    ran = (await client.get(f"/api/submissions/{code.json()['id']}", headers=bob)).json()
    assert ran["status"] == "scored", ran  # the ingestion program ran bob's code on the input data
    assert ran["public_score"] == pytest.approx(float(np.mean(FEATURE == TRUTH)))
    board = (await client.get(f"/api/challenges/{slug}/leaderboard")).json()
    assert sorted(e["team"] for e in board["entries"]) == ["ada", "bob"]
    zeros = float(np.mean(TRUTH == 0))
    assert [(b["name"], b["score"]) for b in board["baselines"]] == [("all zeros", pytest.approx(zeros))]


# CodaLab 1.5: phases keyed by number, html pages, leaderboard columns keyed by name, a `metadata` file
# with `$program $input $output`, and scores.txt.
CODALAB_EVALUATE = """
import os, sys
inputs, output = sys.argv[1], sys.argv[2]
truth = [float(v) for v in open(os.path.join(inputs, 'ref', 'truth.txt')).read().split()]
found = [float(v) for v in open(os.path.join(inputs, 'res', 'predictions.txt')).read().split()]
rmse = (sum((a - b) ** 2 for a, b in zip(truth, found)) / len(truth)) ** 0.5
open(os.path.join(output, 'scores.txt'), 'w').write('rmse: %f\\nbias: %f\\n' % (rmse, sum(found) / len(found) - sum(truth) / len(truth)))
"""

COMPETITION_V15 = {
    "title": "Berth delay (CodaLab)",
    "description": "Predict each vessel's berthing delay.",
    "html": {"overview": "overview.html", "terms": "terms.html"},
    "phases": {
        1: {
            "phasenumber": 1,
            "label": "Only phase",
            "start_date": "2026-01-01",
            "max_submissions": 50,
            "max_submissions_per_day": 5,
            "execution_time_limit": 120,
            "scoring_program": "program.zip",
            "reference_data": "reference.zip",
            "color": "green",
        }
    },
    "leaderboard": {
        "leaderboards": {"RESULTS": {"label": "Results", "rank": 1}},
        "columns": {
            "rmse": {
                "leaderboard": {"label": "Results", "rank": 1},
                "label": "RMSE",
                "rank": 1,
                "sort": "asc",
                "numeric_format": 3,
            },
            "bias": {
                "leaderboard": {"label": "Results", "rank": 1},
                "label": "Bias",
                "rank": 2,
                "sort": "asc",
            },
        },
    },
}


@pytest.mark.timeout(300)
async def test_a_codalab_bundle_imports_and_scores_with_its_scores_txt(
    settings: Settings, client: AsyncTestClient
) -> None:
    truth = RNG.normal(30, 10, 40).round(2)
    bundle = zip_bytes(
        {
            "competition.yaml": yaml.safe_dump(COMPETITION_V15),
            "overview.html": "<p>Vessels wait.</p>",
            "terms.html": "<p>Share your code.</p>",
            "program.zip": zip_bytes(
                {
                    "metadata": "command: python $program/evaluate.py $input $output\n",
                    "evaluate.py": CODALAB_EVALUATE,
                }
            ),
            "reference.zip": zip_bytes({"truth.txt": "\n".join(map(str, truth))}),
        }
    )
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle)
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    assert "imported from CodaLab Competitions (version 1.5)" in created.json()["import_report"]
    detail = (await client.get(f"/api/challenges/{slug}", headers=olga)).json()
    assert detail["metric"] == "rmse" and detail["higher_is_better"] is False
    assert (await client.post(f"/api/challenges/{slug}/publish", headers=olga)).status_code == 200
    await announce_sandbox_worker(settings)
    ada = await login(client, "ada")
    predictions = truth + 2.0
    sent = await upload(
        client, ada, slug, "\n".join(map(str, predictions)).encode(), filename="predictions.txt"
    )
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    result = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert result["status"] == "scored", result
    assert result["public_score"] == pytest.approx(2.0, abs=1e-5)
    assert result["metrics"]["public"]["bias"] == pytest.approx(2.0, abs=1e-5)
    board = (await client.get(f"/api/challenges/{slug}/leaderboard")).json()
    assert board["precision"] == 3  # numeric_format: 3
    page = (await client.get(f"/c/{slug}")).text
    assert f"<td>{result['public_score']:.3f}</td>" in page
