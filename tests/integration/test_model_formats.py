"""Portable model formats beside pickle: .skops (no arbitrary code) and .onnx (onnxruntime), each run in
the sandbox and scored exactly like the same model's predictions uploaded as a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import skops.io
import yaml
from litestar.testing import AsyncTestClient
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import announce_sandbox_worker, csv_bytes, drain_queue, load_challenge, login, upload
from tests.integration.test_model_and_code import SLUG, TUMOUR, bundle, digits_bundle, results

DIGITS = EXAMPLES / "digits-vision-aid"


def tumour() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    train = pd.read_csv(TUMOUR / "data" / "train.csv", dtype={"id": str})
    test = pd.read_csv(TUMOUR / "data" / "test.csv", dtype={"id": str})
    return train.drop(columns=["id", "diagnosis"]), train["diagnosis"], test


def onnx_session(onnx: bytes) -> onnxruntime.InferenceSession:
    """As the harness runs it: one thread (float32 sums then add up in the same order)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])


def as_file(test: pd.DataFrame, columns: dict[str, np.ndarray]) -> bytes:
    return csv_bytes(pd.DataFrame({"id": test["id"], **columns}))


async def score_both(
    settings: Settings, client: AsyncTestClient, slug: str, files: list[tuple[str, bytes]]
) -> list[dict]:
    headers = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sent = []
    for name, data in files:
        response = await upload(client, headers, slug, data, filename=name)
        assert response.status_code == 202, response.text
        sent.append(response.json()["id"])
    await drain_queue(settings)
    return await results(client, headers, sent)


def assert_same_scores(model_run: dict, file_run: dict) -> None:
    assert file_run["status"] == "scored", file_run
    assert model_run["status"] == "scored", model_run
    assert model_run["public_score"] == pytest.approx(file_run["public_score"], abs=1e-12)
    assert model_run["metrics"]["public"] == pytest.approx(file_run["metrics"]["public"], abs=1e-12)


async def test_a_skops_model_scores_as_its_predictions(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    x, y, test = tumour()
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y)  # holds sklearn's Tree type
    proba = model.predict_proba(test.drop(columns=["id"]))[:, 1]
    await load_challenge(settings, bundle(tmp_path))
    model_run, file_run = await score_both(
        settings,
        client,
        SLUG,
        [("forest.skops", skops.io.dumps(model)), ("forest.csv", as_file(test, {"diagnosis": proba}))],
    )
    assert_same_scores(model_run, file_run)


async def test_a_skops_file_with_an_untrusted_type_is_refused_by_name(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """skops would call `eval` when this pipeline predicts; the harness never loads it."""
    x, y, _ = tumour()
    model = make_pipeline(FunctionTransformer(func=eval), LogisticRegression())
    model.steps[1] = ("logisticregression", LogisticRegression(max_iter=5000).fit(x, y))
    await load_challenge(settings, bundle(tmp_path))
    (run,) = await score_both(settings, client, SLUG, [("eval.skops", skops.io.dumps(model))])
    assert run["status"] == "failed", run
    assert "this .skops file holds types riality does not load: builtins.eval" in run["error"]


async def test_an_onnx_model_scores_as_its_predictions(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """Two classes through skl2onnx's ZipMap (a {class: probability} per row), run by onnxruntime."""
    x, y, test = tumour()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x, y)
    onnx = to_onnx(model, x.to_numpy(dtype=np.float32)[:1]).SerializeToString()
    session = onnx_session(onnx)
    features = test.drop(columns=["id"]).to_numpy(dtype=np.float32)
    rows = session.run(None, {session.get_inputs()[0].name: features})[1]
    proba = np.array([row[1] for row in rows])
    await load_challenge(settings, bundle(tmp_path))
    model_run, file_run = await score_both(
        settings,
        client,
        SLUG,
        [("logistic.onnx", onnx), ("logistic.csv", as_file(test, {"diagnosis": proba}))],
    )
    assert_same_scores(model_run, file_run)


async def test_an_onnx_probability_matrix_is_read_in_the_sorted_order_of_the_classes(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """Ten classes, exported without ZipMap: a plain (rows × classes) matrix."""
    folder = digits_bundle(tmp_path)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest["kinds"] = ["predictions", "model"]
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    train = pd.read_csv(DIGITS / "data" / "train.csv", dtype={"id": str})
    test = pd.read_csv(DIGITS / "data" / "test.csv", dtype={"id": str})
    target = manifest["target_column"]
    x, y = train.drop(columns=["id", target]).to_numpy(dtype=np.float32), train[target]
    model = LogisticRegression(max_iter=2000).fit(x, y)
    onnx = to_onnx(model, x[:1], options={"zipmap": False}).SerializeToString()
    session = onnx_session(onnx)
    features = test.drop(columns=["id"]).to_numpy(dtype=np.float32)
    matrix = session.run(None, {session.get_inputs()[0].name: features})[1].astype(float)  # as the harness
    columns = {f"proba_{c}": matrix[:, i] for i, c in enumerate(model.classes_)}
    await load_challenge(settings, folder)
    model_run, file_run = await score_both(
        settings, client, "digits-vision-aid", [("digits.onnx", onnx), ("digits.csv", as_file(test, columns))]
    )
    assert_same_scores(model_run, file_run)


def test_readme_shows_how_to_export_each_format() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "skops.io.dump(" in readme and "to_onnx(" in readme
