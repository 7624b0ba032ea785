"""A Hugging Face competition brought over: its private repository (conf.json, solution.csv with a split
column, COMPETITION_DESC.md) zipped with its public files, written here from huggingface/competitions'
documentation, imports with a report, takes a submission and scores it as that platform would
(`getattr(sklearn.metrics, EVAL_METRIC)` on each split's rows, sorted by id)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from litestar.testing import AsyncTestClient
from sklearn import metrics

from core.settings import Settings
from tests.helpers import csv_bytes, drain_queue, login, upload
from tests.integration.test_lifecycle import create, organiser

ROWS = 400


def competition(conf: dict[str, object]) -> tuple[bytes, pd.DataFrame]:
    """The zip an organiser would make of their competition, and its solution."""
    rng = np.random.default_rng(4)
    ids = [f"c{i:04d}" for i in range(ROWS)]
    x = rng.normal(size=(ROWS, 3))
    target = (x[:, 0] + rng.normal(0, 0.8, ROWS) > 0).astype(int)
    split = np.where(rng.random(ROWS) < 0.4, "public", "private")
    solution = pd.DataFrame({"id": ids, "pred": target, "split": split})
    test = pd.DataFrame({"id": ids, **{f"f{j}": x[:, j].round(5) for j in range(3)}})
    files = {
        "conf.json": json.dumps(conf, indent=2),
        "solution.csv": solution.to_csv(index=False),
        "test.csv": test.to_csv(index=False),
        "sample_submission.csv": pd.DataFrame({"id": ids, "pred": 0.5}).to_csv(index=False),
        "COMPETITION_DESC.md": "# Harbour crane faults\n\nPredict whether a crane reports a fault.\n",
        "DATASET_DESC.md": "Three sensor readings per crane.\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"crane-faults/{name}", text)
    return buffer.getvalue(), solution


CONF = {
    "SUBMISSION_LIMIT": 5,
    "SELECTION_LIMIT": 2,
    "END_DATE": "2030-06-30",
    "EVAL_HIGHER_IS_BETTER": 1,
    "SUBMISSION_ID_COLUMN": "id",
    "SUBMISSION_COLUMNS": "id,pred",
    "SUBMISSION_ROWS": ROWS,
    "EVAL_METRIC": "roc_auc_score",
    "LOGO": "https://example.org/logo.png",
    "DATASET": "harbour-ai/crane-faults-public",
    "SUBMISSION_FILENAMES": "submission.csv",
    "SCORING_METRIC": "",
    "COMPETITION_TYPE": "generic",
    "TIME_LIMIT": 10,
}


def as_huggingface_scores(solution: pd.DataFrame, submission: pd.DataFrame) -> tuple[float, float]:
    """What huggingface/competitions' compute_metrics does for a scikit-learn metric."""
    scores = []
    for split in ("public", "private"):
        ids = solution[solution.split == split]["id"].values
        truth = solution[solution["id"].isin(ids)].sort_values("id").reset_index(drop=True)
        sent = submission[submission["id"].isin(ids)].sort_values("id").reset_index(drop=True)
        scores.append(metrics.roc_auc_score(truth[["pred"]], sent[["pred"]]))
    return scores[0], scores[1]


async def test_a_hugging_face_competition_imports_and_scores_as_there(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    data, solution = competition(CONF)
    created = await create(client, olga, data)
    assert created.status_code == 201, created.text
    body = created.json()
    slug = body["slug"]
    assert slug == "harbour-crane-faults" and body["title"] == "Harbour crane faults"
    report = "\n".join(body["import_report"])
    assert "imported from Hugging Face competitions" in report
    for unused in ("LOGO", "DATASET", "SUBMISSION_FILENAMES"):
        assert unused in report  # never dropped silently
    assert "END_DATE 2030-06-30" in report
    detail = (await client.get(f"/api/challenges/{slug}", headers=olga)).json()
    assert detail["import_report"] == body["import_report"] and detail["metric"] == "roc_auc"
    assert detail["limits"]["per_day"] == 5 and detail["limits"]["final_selections"] == 2
    assert detail["closes"].startswith("2030-06-30T00:00:00")
    assert "Three sensor readings" in detail["description"]
    assert (await client.post(f"/api/challenges/{slug}/publish", headers=olga)).status_code == 200
    public = (await client.get(f"/api/challenges/{slug}")).json()
    assert public["import_report"] is None  # the organisers' to read, not the teams'

    rng = np.random.default_rng(9)
    guess = solution[["id"]].assign(pred=(solution["pred"] * 0.5 + rng.random(ROWS) * 0.5).round(6))
    ada = await login(client, "ada")
    sent = await upload(client, ada, slug, csv_bytes(guess))
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    scored = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    expected_public, _ = as_huggingface_scores(solution, guess)
    assert scored["status"] == "scored", scored["error"]
    assert scored["public_score"] == pytest.approx(expected_public, abs=1e-12)
    olga_view = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=olga)).json()
    assert olga_view["private_score"] == pytest.approx(as_huggingface_scores(solution, guess)[1], abs=1e-12)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"EVAL_METRIC": "custom"}, "EVAL_METRIC", "needs a scoring program"),
        ({"EVAL_METRIC": "hamming_loss"}, "EVAL_METRIC", "'hamming_loss' is not one riality scores"),
        ({"SUBMISSION_COLUMNS": "id,pred,extra"}, "SUBMISSION_COLUMNS", "2 target columns"),
        ({"END_DATE": "30/06/2030"}, "END_DATE", "expected a date as YYYY-MM-DD"),
    ],
)
async def test_what_cannot_be_imported_is_refused_with_where_and_why(
    settings: Settings, client: AsyncTestClient, change: dict[str, object], where: str, message: str
) -> None:
    olga = await organiser(settings, client)
    refused = await create(client, olga, competition({**CONF, **change})[0])
    assert refused.status_code == 422, refused.text
    problems = (
        refused.json()["extra"]["problems"] if "extra" in refused.json() else refused.json()["problems"]
    )
    assert any(where in p["path"] and message in p["message"] for p in problems), problems
