"""Model and code submissions end to end: upload, the worker, the real sandbox, scores; and hostile uploads."""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from litestar.testing import AsyncTestClient

from core.models import StaffRole
from core.settings import Settings
from runner.images import RUNTIME_IMAGE, build_runtime_image
from runner.sandbox import Limits, Mount, Outcome, Sandbox, run_folder
from tests.conftest import EXAMPLES
from tests.helpers import (
    announce_sandbox_worker,
    csv_bytes,
    drain_queue,
    load_challenge,
    login,
    make_staff,
    upload,
)

TUMOUR = EXAMPLES / "tumour-detection"
SLUG = "tumour-detection"
TRAIN_MODEL = """
import joblib, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
train = pd.read_csv('/data/train.csv', dtype={'id': str})
test = pd.read_csv('/data/test.csv', dtype={'id': str})
X, y = train.drop(columns=['id', 'diagnosis']), train['diagnosis']
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
joblib.dump(model, '/output/model.joblib')
proba = model.predict_proba(test.drop(columns=['id']))[:, 1]
pd.DataFrame({'id': test['id'], 'diagnosis': proba}).to_csv('/output/expected.csv', index=False)
"""
PREDICT_RULE = """
import numpy as np
def predict(features):
    return np.clip((features["worst_radius"].to_numpy() - 7.0) / 30.0, 0, 1)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A model fitted inside the runtime image (its scikit-learn), and its predictions as a CSV."""
    sandbox = Sandbox()
    build_runtime_image(sandbox.client, offline=True)
    output = run_folder(tmp_path_factory.mktemp("model"), writable=True)
    result = sandbox.run(
        RUNTIME_IMAGE,
        ["python3", "-c", TRAIN_MODEL],
        limits=Limits(time_s=120, memory_mb=1024),
        mounts=(Mount(TUMOUR / "data", "/data"), Mount(output, "/output", writable=True)),
    )
    assert result.outcome is Outcome.OK, result.logs
    return (output / "model.joblib").read_bytes(), (output / "expected.csv").read_bytes()


def bundle(tmp_path: Path, **limits: object) -> Path:
    folder = tmp_path / "bundle"
    shutil.copytree(TUMOUR, folder, dirs_exist_ok=True)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest["kinds"] = ["predictions", "model", "code"]
    manifest["limits"] |= {"time_s": 20, "memory_mb": 512, "per_day": 100, **limits}
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return folder


def zip_bytes(files: dict[str, str | bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def rule_predictions() -> bytes:
    test = pd.read_csv(TUMOUR / "data" / "test.csv", dtype={"id": str})
    proba = ((test["worst_radius"].to_numpy() - 7.0) / 30.0).clip(0, 1)
    return csv_bytes(pd.DataFrame({"id": test["id"], "diagnosis": proba}))


async def submit_all(
    client: AsyncTestClient, headers: dict[str, str], files: list[tuple[str, bytes]]
) -> list[int]:
    ids = []
    await announce_sandbox_worker(client.app.state.settings)
    for name, data in files:
        response = await upload(client, headers, SLUG, data, filename=name)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def results(client: AsyncTestClient, headers: dict[str, str], ids: list[int]) -> list[dict]:
    return [(await client.get(f"/api/submissions/{i}", headers=headers)).json() for i in ids]


async def test_model_and_code_score_exactly_like_their_predictions_as_files(
    settings: Settings, client: AsyncTestClient, tmp_path: Path, trained: tuple[bytes, bytes]
) -> None:
    model, expected_csv = trained
    await load_challenge(settings, bundle(tmp_path))
    headers = await login(client, "ada")
    ids = await submit_all(
        client,
        headers,
        [
            ("model.joblib", model),
            ("expected.csv", expected_csv),
            ("code.zip", zip_bytes({"predict.py": PREDICT_RULE})),
            ("rule.csv", rule_predictions()),
        ],
    )
    await drain_queue(settings)
    model_run, model_file, code_run, code_file = await results(client, headers, ids)
    for run in (model_run, code_run):
        assert run["status"] == "scored", run
        assert run["wall_s"] > 0 and run["peak_memory_mb"] > 0
    assert (model_run["kind"], code_run["kind"]) == ("model", "code")
    assert model_run["public_score"] == pytest.approx(model_file["public_score"], abs=1e-12)
    assert model_run["metrics"]["public"] == pytest.approx(model_file["metrics"]["public"])
    assert code_run["public_score"] == pytest.approx(code_file["public_score"], abs=1e-12)
    assert model_file["public_score"] > 0.95


class Evil:
    """Unpickling this runs a shell command: it may, but only inside the sandbox."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


async def test_hostile_submissions_fail_with_their_reason_and_reach_nothing(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path, time_s=6, memory_mb=256, upload_mb=1))
    headers = await login(client, "ada")
    marker = settings.data_dir.resolve() / "pwned"
    labels_guesses = [str(p) for p in settings.blobs_dir.resolve().rglob("*") if p.is_file()] + [
        "/data/labels.csv",
        "/data/hidden/labels.csv",
        "/hidden/labels.csv",
        str(TUMOUR / "hidden" / "labels.csv"),
    ]
    snoop = f"""
import numpy as np
def predict(features):
    for path in {labels_guesses!r}:
        try:
            print("FOUND", path, open(path).read()[:40])
        except OSError as exc:
            print("no", path, type(exc).__name__)
    return np.full(len(features), 0.5)
"""
    cases = {
        "pickle.pkl": pickle.dumps(Evil(f"id; touch {marker}; echo ran > /output/pwned")),
        "loop.zip": zip_bytes({"predict.py": "def predict(features):\n    while True:\n        pass\n"}),
        "memory.zip": zip_bytes({"predict.py": "def predict(features):\n    x = bytearray(2**30)\n"}),
        "fork.zip": zip_bytes(
            {"predict.py": "import os\ndef predict(features):\n    while True:\n        os.fork()\n"}
        ),
        "net.zip": zip_bytes(
            {
                "predict.py": "import socket\ndef predict(f):\n    socket.create_connection(('1.1.1.1', 80), 2)\n"
            }
        ),
        "write.zip": zip_bytes({"predict.py": f"def predict(f):\n    open({str(marker)!r}, 'w')\n"}),
        "stdout.zip": zip_bytes(
            {
                "predict.py": "import sys\ndef predict(f):\n    while True:\n        sys.stdout.write('y' * 65536)\n"
            }
        ),
        "bigout.zip": zip_bytes(
            {
                "predict.py": "def predict(f):\n    open('/output/predictions.csv', 'w').write('1' * 50_000_000)\n"
            }
        ),
        "slip.zip": zip_bytes({"predict.py": PREDICT_RULE, "../../escape.py": "x"}),
        "bomb.zip": zip_bytes({"predict.py": PREDICT_RULE, "bomb.bin": b"\0" * (64 * 2**20)}),
        "link.zip": zip_bytes(
            {"predict.py": PREDICT_RULE}, symlinks={"labels.csv": "/data/hidden/labels.csv"}
        ),
        "snoop.zip": zip_bytes({"predict.py": snoop}),
        "ordinary.zip": zip_bytes({"predict.py": PREDICT_RULE}),
    }
    ids = await submit_all(client, headers, list(cases.items()))
    await drain_queue(settings)
    got = dict(zip(cases, await results(client, headers, ids), strict=True))
    expected_errors = {
        "pickle.pkl": "crashed with exit code",
        "loop.zip": "timeout: stopped after the limit of 6 s",
        "memory.zip": "out of memory: went over the limit of 256 MB",
        "net.zip": "Network is unreachable",
        "write.zip": "crashed with exit code 1",
        "slip.zip": "rejected archive: archive entry '../../escape.py': '..' is not allowed",
        "bomb.zip": "rejected archive: archive entry 'bomb.bin' is compressed",
        "link.zip": "rejected archive: archive entry 'labels.csv' is a symbolic link",
    }
    for name, fragment in expected_errors.items():
        assert got[name]["status"] == "failed", (name, got[name])
        assert fragment in got[name]["error"], (name, got[name]["error"])
    assert "uid=65534" in got["pickle.pkl"]["logs"]  # the command ran, as nobody, in the container
    assert not marker.exists() and not (settings.data_dir / "escape.py").exists()
    assert got["fork.zip"]["status"] == "failed"
    assert got["stdout.zip"]["status"] == "failed" and len(got["stdout.zip"]["logs"]) <= 64 * 1024
    assert got["bigout.zip"]["status"] == "failed"
    assert "FOUND" not in got["snoop.zip"]["logs"] and got["snoop.zip"]["public_score"] == 0.5
    assert got["ordinary.zip"]["status"] == "scored"
    for result in got.values():
        assert str(settings.data_dir.resolve()) not in (result["error"] or "").replace(str(marker), "")


async def test_model_and_code_are_refused_at_upload_without_docker(
    settings: Settings, client: AsyncTestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_challenge(settings, bundle(tmp_path))
    headers = await login(client, "ada")
    # No worker runs in this test: no live worker can run containers.
    refused = await upload(
        client, headers, SLUG, zip_bytes({"predict.py": PREDICT_RULE}), filename="code.zip"
    )
    assert refused.status_code == 503
    assert (
        "code submissions run in a Docker sandbox, and no Docker daemon answers" in refused.json()["detail"]
    )
    assert (await upload(client, headers, SLUG, rule_predictions())).status_code == 202


CUSTOM_SCORER = """
from sklearn.metrics import roc_auc_score

def score(labels, predictions):
    merged = labels.merge(predictions, on="id", suffixes=("_true", ""))
    return {"auc_x100": 100 * roc_auc_score(merged["diagnosis_true"], merged["diagnosis"]), "rows": len(merged)}
"""


def scorer_bundle(tmp_path: Path, source: str) -> Path:
    folder = bundle(tmp_path)
    shutil.rmtree(folder / "baselines")  # baselines are for the built-in metrics
    (folder / "scorer.py").write_text(source)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest |= {
        "scorer": "scorer.py",
        "metric": "auc_x100",
        "extra_metrics": ["rows"],
        "higher_is_better": True,
        "prediction": "probability",
    }
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return folder


async def test_custom_scorer_runs_in_the_sandbox_and_ranks(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    from tests.integration.test_submissions import tumour_predictions

    await load_challenge(settings, scorer_bundle(tmp_path, CUSTOM_SCORER))
    headers = await login(client, "ada")
    predictions, expected_auc = tumour_predictions()
    (submission_id,) = await submit_all(client, headers, [("p.csv", csv_bytes(predictions))])
    await drain_queue(settings)
    (result,) = await results(client, headers, [submission_id])
    assert result["status"] == "scored", result
    assert result["public_score"] == pytest.approx(100 * expected_auc, abs=1e-9)
    assert result["metrics"]["public"]["rows"] == 68
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["metric"] == "auc_x100" and board["entries"][0]["score"] == result["public_score"]


async def test_a_failing_custom_scorer_is_not_blamed_on_the_team(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    leaky = "def score(labels, predictions):\n    raise ValueError(labels.to_csv())\n"
    await load_challenge(settings, scorer_bundle(tmp_path, leaky))
    headers = await login(client, "ada")
    (submission_id,) = await submit_all(client, headers, [("p.csv", rule_predictions())])
    await drain_queue(settings)
    (result,) = await results(client, headers, [submission_id])
    assert result["status"] == "failed"
    assert result["error"].startswith("the challenge's scorer failed on this submission")
    assert "diagnosis" not in result["error"] and not result["logs"]  # the labels never reach the team


SOFTMAX_PREDICT = """
import numpy as np, pandas as pd
def predict(features):
    x = features.iloc[:, 20:30].to_numpy(dtype=float) / 8
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    columns = [f"proba_{c}" for c in range(10)]
    return pd.DataFrame(p, columns=columns)ORDER
"""


def digits_bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "digits"
    shutil.copytree(EXAMPLES / "digits-vision-aid", folder)
    shutil.rmtree(folder / "baselines")  # labels, not the probabilities this variant asks for
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest |= {"metric": "log_loss", "extra_metrics": [], "kinds": ["predictions", "code"]}
    manifest["limits"] |= {"time_s": 60, "memory_mb": 512, "per_day": 100}
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return folder


async def test_probability_columns_are_matched_by_name_not_position(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """A code submission's DataFrame with its proba_<class> columns shuffled scores exactly as the
    same probabilities uploaded as a file; columns named otherwise fail and say what was expected."""
    await load_challenge(settings, digits_bundle(tmp_path))
    test = pd.read_csv(EXAMPLES / "digits-vision-aid" / "data" / "test.csv", dtype={"id": str})
    x = test.drop(columns=["id"]).iloc[:, 20:30].to_numpy(dtype=float) / 8
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    as_file = pd.DataFrame(p, columns=[f"proba_{c}" for c in range(10)]).assign(id=test["id"])
    headers = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sent = []
    for name, data in (
        ("ordered.zip", zip_bytes({"predict.py": SOFTMAX_PREDICT.replace("ORDER", "")})),
        ("shuffled.zip", zip_bytes({"predict.py": SOFTMAX_PREDICT.replace("ORDER", "[columns[::-1]]")})),
        (
            "renamed.zip",
            zip_bytes({"predict.py": SOFTMAX_PREDICT.replace("ORDER", ".rename(columns=lambda c: c[6:])")}),
        ),
        ("file.csv", csv_bytes(as_file)),
    ):
        response = await upload(client, headers, "digits-vision-aid", data, filename=name)
        assert response.status_code == 202, response.text
        sent.append(response.json()["id"])
    await drain_queue(settings)
    ordered, shuffled, renamed, from_file = await results(client, headers, sent)
    assert from_file["status"] == "scored", from_file
    for run in (ordered, shuffled):
        assert run["status"] == "scored", run
        assert run["public_score"] == pytest.approx(from_file["public_score"], abs=1e-9)
    assert renamed["status"] == "failed"
    assert renamed["error"].startswith("invalid output: predict returned a DataFrame with columns ['0', '1'")
    assert "expected a DataFrame with the columns proba_0, proba_1" in renamed["error"]
    assert "or an array with 10 columns in the order of the classes (0, 1, 2" in renamed["error"]


def fitted_model(saved_with: str | None = None) -> bytes:
    """A model of the tumour data pickled here; `saved_with` makes it record another scikit-learn
    version, as the estimators of that release would (`_sklearn_version`, read back on loading)."""
    import sklearn.base
    from sklearn.linear_model import LogisticRegression

    train = pd.read_csv(TUMOUR / "data" / "train.csv", dtype={"id": str})
    x, y = train.drop(columns=["id", "diagnosis"]), train["diagnosis"]
    model = LogisticRegression(max_iter=5000).fit(x, y)
    buffer = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        if saved_with is not None:
            patch.setattr(sklearn.base, "__version__", saved_with)
        joblib.dump(model, buffer)
    return buffer.getvalue()


async def test_a_model_saved_with_the_newest_scikit_learn_scores(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """The test machine installs the lock's scikit-learn and numpy (the newest when it was made): a model
    pickled here loads in the sandbox and scores."""
    import sklearn

    here = await asyncio.to_thread(runtime_versions)
    assert here == {"scikit-learn": sklearn.__version__, "numpy": np.__version__}
    await load_challenge(settings, bundle(tmp_path))
    headers = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sent = await upload(client, headers, SLUG, fitted_model(), filename="model.joblib")
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    (run,) = await results(client, headers, [sent.json()["id"]])
    assert run["status"] == "scored", run
    assert run["public_score"] > 0.9


async def test_a_model_saved_with_other_versions_is_named_and_free(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """A model saved with an older scikit-learn: the failure names both sets of versions and says how to
    get the challenge's, instead of crashing, and uses no quota."""
    await load_challenge(settings, bundle(tmp_path, per_day=1))
    headers = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sent = await upload(client, headers, SLUG, fitted_model(saved_with="1.5.2"), filename="model.joblib")
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    (run,) = await results(client, headers, [sent.json()["id"]])
    here = await asyncio.to_thread(runtime_versions)
    assert run["status"] == "failed", run
    assert run["error"] == (
        f"this model was saved with scikit-learn 1.5.2 / numpy 2; this challenge runs scikit-learn "
        f"{here['scikit-learn']} / numpy {here['numpy']}: pip install -r requirements.txt from the "
        f"challenge page and save it again (/api/challenges/{SLUG}/requirements.txt, also saved by "
        f"`riality download {SLUG}`)"
    )
    again = await upload(client, headers, SLUG, rule_predictions(), filename="rule.csv")
    assert again.status_code == 202, again.text  # the per-day quota of 1 was not used


def runtime_versions() -> dict[str, str]:
    output = Sandbox().client.containers.run(
        RUNTIME_IMAGE,
        ["python3", "-c", "import sklearn, numpy; print(sklearn.__version__, numpy.__version__)"],
        network_disabled=True,
        remove=True,
    )
    sklearn_version, numpy_version = output.decode().split()
    return {"scikit-learn": sklearn_version, "numpy": numpy_version}


async def test_the_board_shows_what_each_entrys_run_used(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """Wall time, CPU time and peak memory of the run behind each entry, on the API, the page (with
    sortable headers) and the export; a prediction file runs nothing and shows none."""
    await load_challenge(settings, bundle(tmp_path))
    await submit_all(
        client, await login(client, "ada"), [("code.zip", zip_bytes({"predict.py": PREDICT_RULE}))]
    )
    assert (await upload(client, await login(client, "bob"), SLUG, rule_predictions())).status_code == 202
    await drain_queue(settings)
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    by_team = {e["team"]: e for e in board["entries"]}
    assert (
        by_team["ada"]["wall_s"] > 0 and by_team["ada"]["cpu_s"] > 0 and by_team["ada"]["peak_memory_mb"] > 0
    )
    assert (by_team["bob"]["wall_s"], by_team["bob"]["cpu_s"], by_team["bob"]["peak_memory_mb"]) == (
        None,
        None,
        None,
    )
    # The code run's predictions were kept for the board's bootstrap: both entries have an interval.
    assert by_team["ada"]["ci_low"] is not None and by_team["bob"]["ci_low"] is not None
    page = (await client.get(f"/c/{SLUG}")).text
    assert "data-efficiency" in page and 'data-sort="cpu_s"' in page and "Peak memory" in page
    ada_row = next(line for line in page.splitlines() if 'data-team="ada"' in line)
    assert re.search(r"<td>\d+\.\d s</td><td>\d+\.\d s</td><td>\d+ MB</td></tr>", ada_row), ada_row


async def test_a_run_over_the_boards_rules_is_scored_but_not_ranked(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """`limits.max_mib`: a code run over it is scored and its team told why it is not ranked; a prediction
    file (no run) is ranked; lifting the rule puts the team on the board without a rescore."""
    await load_challenge(settings, bundle(tmp_path, max_mib=1, max_cpu_s=1000))
    ada = await login(client, "ada")
    [code] = await submit_all(client, ada, [("code.zip", zip_bytes({"predict.py": PREDICT_RULE}))])
    assert (await upload(client, await login(client, "bob"), SLUG, rule_predictions())).status_code == 202
    await drain_queue(settings)
    [run] = await results(client, ada, [code])
    assert run["status"] == "scored" and run["public_score"] is not None
    assert (
        len(run["not_ranked"]) == 1 and "MiB at peak, over the board's limit of 1 MiB" in run["not_ranked"][0]
    )
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert [e["team"] for e in board["entries"]] == ["bob"]
    assert "At most 1 MiB of memory at peak." in (await client.get(f"/c/{SLUG}")).text

    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    olga = await login(client, "olga", register=False)
    lifted = await client.patch(f"/api/challenges/{SLUG}", json={"limits": {"max_mib": None}}, headers=olga)
    assert lifted.status_code == 200, lifted.text
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert sorted(e["team"] for e in board["entries"]) == ["ada", "bob"]
    [run] = await results(client, ada, [code])
    assert run["not_ranked"] == []
