"""Challenge bundles: every example loads; every invalid field is reported with its path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from challenges.bundle import FOLDER_ROLES, BundleError, FileRole, load_bundle
from challenges.make_examples import all_examples, write_example
from challenges.make_segmentation import write_segmentation
from challenges.spec import Kind

EXAMPLES = Path(__file__).resolve().parents[2] / "challenges" / "examples"
SLUGS = ["tumour-detection", "digits-vision-aid", "smartport-vessel-delay", "dyslexia-gaze"]


@pytest.mark.parametrize("slug", SLUGS)
def test_example_bundle_loads(slug: str) -> None:
    bundle = load_bundle(EXAMPLES / slug)
    assert bundle.spec.slug == slug
    assert {f.role for f in bundle.files} == set(FileRole) - {FileRole.SCORER} - FOLDER_ROLES
    assert not bundle.file(FileRole.TEST_LABELS).public  # type: ignore[union-attr]


def test_the_segmentation_example_loads_as_a_scoring_program_challenge() -> None:
    bundle = load_bundle(EXAMPLES / "tumour-segmentation")
    assert bundle.truth is None and bundle.spec.program is not None
    assert {f.role: f.public for f in bundle.files} == {
        FileRole.INPUTS: True,
        FileRole.STARTER_KIT: True,
        FileRole.REFERENCE: False,
        FileRole.PROGRAM: False,
    }
    (baseline,) = bundle.baselines
    assert baseline.kind is Kind.FILES and baseline.scores is None  # a worker runs the program on it


def test_examples_are_reproducible(tmp_path: Path) -> None:
    for example in all_examples():
        folder = write_example(example, tmp_path)
        for name in ("challenge.yaml", "data/train.csv", "data/test.csv", "hidden/labels.csv"):
            assert (folder / name).read_bytes() == (EXAMPLES / example.slug / name).read_bytes(), name
    shutil.copytree(
        EXAMPLES / "tumour-segmentation" / "program", tmp_path / "tumour-segmentation" / "program"
    )
    folder = write_segmentation(tmp_path)
    made = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert made == sorted(
        p.relative_to(EXAMPLES / "tumour-segmentation")
        for p in (EXAMPLES / "tumour-segmentation").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for name in made:
        assert (folder / name).read_bytes() == (EXAMPLES / "tumour-segmentation" / name).read_bytes(), name


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    target = tmp_path / "tumour"
    shutil.copytree(EXAMPLES / "tumour-detection", target)
    return target


def edit(folder: Path, **changes: object) -> None:
    path = folder / "challenge.yaml"
    manifest = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = manifest
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(manifest))


INVALID = [
    ({"metric": "auc"}, r"metric: unknown metric 'auc'; expected one of: accuracy"),
    (
        {"limits__per_day": 0},
        r"limits.per_day: Input should be greater than or equal to 1 \(got 0\)",
    ),
    ({"limits__per_day": "five"}, r"limits.per_day: Input should be a valid integer"),
    ({"public_fraction": 1.5}, r"public_fraction: Input should be less than 1 \(got 1.5\)"),
    ({"slug": "Bad Slug!"}, r"slug: String should match pattern"),
    ({"title": None}, r"title: Field required"),
    ({"metrc": "roc_auc"}, r"metrc: unknown field \(check its spelling\)"),
    (
        {"kinds": ["predictions", "video"]},
        r"kinds.1: Input should be 'predictions', 'model', 'code' or 'files'",
    ),
    (
        {"schedule__opens": "2026-12-03T00:00:00Z", "schedule__closes": "2026-12-01T00:00:00Z"},
        r"schedule: .*closes .* must be after opens",
    ),
    ({"schedule__opens": "2026-12-01T08:00:00"}, r"schedule.opens: .*needs a time zone"),
    (
        {"extra_metrics": ["rmse"]},
        r"extra metric 'rmse' is for regression, but 'roc_auc' is for classification",
    ),
    ({"metric": "accuracy", "extra_metrics": ["roc_auc"]}, r"extra metric 'roc_auc' needs probabilities"),
    (
        {"data__test_labels": "../../etc/passwd"},
        r"data.test_labels: '../../etc/passwd' must be a path inside the bundle",
    ),
    (
        {"data__test_labels": "/etc/passwd"},
        r"data.test_labels: '/etc/passwd' must be a path inside the bundle",
    ),
    ({"data__train": "data/nope.csv"}, r"data.train: file 'data/nope.csv' not found in the bundle"),
    ({"target_column": "label"}, r"data.test_labels: labels file has no column 'label'"),
    (
        {"runtime__packages": ["tabulate @ https://example.org/tabulate.whl"]},
        r"runtime.packages: .*expected a requirement such as 'tabulate==0.9.0' \(no URLs, paths or pip options\)",
    ),
    ({"runtime__packages": ["--index-url=https://evil.example"]}, r"runtime.packages: '--index-url"),
    ({"runtime__python": "3.13"}, r"runtime.python: unknown field"),
]


@pytest.mark.parametrize(("changes", "message"), INVALID, ids=[next(iter(c)) for c, _ in INVALID])
def test_invalid_manifest_is_reported_with_its_path(
    bundle_dir: Path, changes: dict[str, object], message: str
) -> None:
    edit(bundle_dir, **changes)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir)


def test_every_problem_is_listed_at_once(bundle_dir: Path) -> None:
    edit(bundle_dir, metric="auc", limits__total=0, public_fraction=0)
    with pytest.raises(BundleError) as info:
        load_bundle(bundle_dir)
    assert len(info.value.problems) == 3


def test_an_invalid_manifest_still_reports_the_files_it_names(bundle_dir: Path) -> None:
    edit(bundle_dir, metric="auc", data__train="data/nope.csv", data__test_labels="../secret.csv")
    with pytest.raises(BundleError) as info:
        load_bundle(bundle_dir)
    assert {p.path for p in info.value.problems} == {"metric", "data.train", "data.test_labels"}
    assert any("not found in the bundle" in p.message for p in info.value.problems)


def test_an_invalid_program_manifest_still_reports_its_missing_folders(tmp_path: Path) -> None:
    folder = tmp_path / "segmentation"
    shutil.copytree(EXAMPLES / "tumour-segmentation", folder)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    manifest["metric"] = "hausdorff"  # not one of the program's columns
    manifest["program"]["ingestion"] = {"folder": "no-ingestion"}
    manifest["data"]["reference"] = "no-reference"
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    with pytest.raises(BundleError) as info:
        load_bundle(folder)
    assert {p.path for p in info.value.problems} == {
        "(top level)",
        "program.ingestion.folder",
        "data.reference",
    }


def test_features_that_leak_the_labels_are_refused(bundle_dir: Path) -> None:
    labels = (bundle_dir / "hidden" / "labels.csv").read_text().splitlines()
    features = (bundle_dir / "data" / "test.csv").read_text().splitlines()
    leaked = [f"{features[0]},diagnosis"] + [
        f"{f},{lab.split(',')[1]}" for f, lab in zip(features[1:], labels[1:], strict=True)
    ]
    (bundle_dir / "data" / "test.csv").write_text("\n".join(leaked) + "\n")
    with pytest.raises(BundleError, match="holds the target column 'diagnosis'; it would leak the labels"):
        load_bundle(bundle_dir)


def test_features_and_labels_must_share_ids(bundle_dir: Path) -> None:
    lines = (bundle_dir / "data" / "test.csv").read_text().splitlines()
    (bundle_dir / "data" / "test.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(BundleError, match=r"its ids must be exactly the ids of data.test_labels"):
        load_bundle(bundle_dir)


def test_missing_manifest_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"challenge.yaml: not found"):
        load_bundle(tmp_path)
    (tmp_path / "challenge.yaml").write_text("slug: [unclosed")
    with pytest.raises(BundleError, match="not valid YAML"):
        load_bundle(tmp_path)
    (tmp_path / "challenge.yaml").write_text("- a list\n")
    with pytest.raises(BundleError, match="expected a mapping of fields"):
        load_bundle(tmp_path)


def test_bad_sample_submission_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "data" / "sample.csv").write_text("id,diagnosis\nnope,0.5\n")
    edit(bundle_dir, data__sample_submission="data/sample.csv")
    with pytest.raises(
        BundleError, match=r"data.sample_submission: would be refused as a submission: line 2: unknown 'id'"
    ):
        load_bundle(bundle_dir)


@pytest.mark.parametrize(
    ("source", "extra", "message"),
    [
        (
            "def score(labels, predictions):\n    return {}\n",
            {},
            r"a challenge with a scorer must also set higher_is_better and prediction",
        ),
        (
            "def score(labels predictions):\n",
            {"higher_is_better": True, "prediction": "value"},
            r"scorer: not valid Python",
        ),
        (
            "def evaluate(a, b):\n    return {}\n",
            {"higher_is_better": True, "prediction": "value"},
            r"scorer: expected a top-level function score\(labels, predictions\)",
        ),
    ],
    ids=["missing fields", "syntax error", "no score()"],
)
def test_custom_scorer_is_checked_without_running_it(
    bundle_dir: Path, source: str, extra: dict, message: str
) -> None:
    (bundle_dir / "scorer.py").write_text(source)
    edit(bundle_dir, scorer="scorer.py", metric="my_metric", extra_metrics=[], **extra)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir)


def test_builtin_metrics_refuse_custom_only_fields(bundle_dir: Path) -> None:
    edit(bundle_dir, higher_is_better=False)
    with pytest.raises(BundleError, match="higher_is_better and prediction are only for custom scorers"):
        load_bundle(bundle_dir)


def test_a_nul_in_a_title_is_refused_with_its_field(bundle_dir: Path) -> None:
    edit(bundle_dir, title="Tumours\x00", description="fine")
    with pytest.raises(BundleError, match=r"title: a NUL character is not allowed"):
        load_bundle(bundle_dir)


def test_a_requirements_file_declares_the_environment(bundle_dir: Path) -> None:
    (bundle_dir / "requirements.txt").write_text(
        "# what the scorer needs\ntabulate==0.10.0\n\nrich>=13  # colours\n"
    )
    assert load_bundle(bundle_dir).spec.runtime.packages == ["tabulate==0.10.0", "rich>=13"]


def test_a_requirements_file_line_is_refused_where_it_stands(bundle_dir: Path) -> None:
    (bundle_dir / "requirements.txt").write_text("tabulate\n-e git+https://example.org/x.git\n./local.whl\n")
    with pytest.raises(BundleError) as raised:
        load_bundle(bundle_dir)
    problems = [str(p) for p in raised.value.problems]
    assert problems[0].startswith("requirements.txt: line 2: '-e git+https://example.org/x.git': expected")
    assert problems[1].startswith("requirements.txt: line 3: './local.whl': expected")


def test_the_environment_is_declared_once(bundle_dir: Path) -> None:
    edit(bundle_dir, runtime__packages=["rich"])
    (bundle_dir / "requirements.txt").write_text("tabulate\n")
    with pytest.raises(BundleError, match=r"requirements.txt: declare the environment once"):
        load_bundle(bundle_dir)
