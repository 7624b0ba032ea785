"""The harness reads the library versions a model was saved with, without unpickling it."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from runner.image import harness


@pytest.fixture(scope="module")
def model() -> object:
    x = np.random.default_rng(0).normal(size=(40, 3))
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, (x[:, 0] > 0).astype(int))


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3)], ids=str)
def test_joblib_files_plain_or_compressed(model: object, tmp_path: Path, compress: object) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(model, path, compress=compress)
    versions, _ = harness.saved_versions(harness._pickle_bytes(str(path)))
    assert versions == {sklearn.__version__}


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_pickles_name_numpy_2(model: object, tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model, protocol=protocol))
    versions, numpy2 = harness.saved_versions(harness._pickle_bytes(str(path)))
    assert versions == {sklearn.__version__}
    assert numpy2 is (int(np.__version__.split(".")[0]) >= 2)


def test_a_pickle_of_no_estimator_has_no_version() -> None:
    assert harness.saved_versions(pickle.dumps({"weights": [1, 2, 3]})) == (set(), False)
