"""The Codabench / CodaLab translation on its own: its phases, the board's columns, and the
refusals that say where and what was expected."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from challenges.importers.codabench import translate
from challenges.importers.report import Refused

BASE: dict[str, Any] = {
    "version": 2,
    "title": "Masks",
    "tasks": [{"index": 0, "scoring_program": "program", "reference_data": "ref"}],
    "phases": [
        {
            "index": 0,
            "name": "Warm-up",
            "start": "2027-01-01T00:00:00Z",
            "end": "2027-02-01T00:00:00Z",
            "tasks": [0],
        },
        {
            "index": 1,
            "name": "Final",
            "start": "2027-02-01T00:00:00Z",
            "end": "2027-03-01T00:00:00Z",
            "tasks": [0],
        },
    ],
    "leaderboards": [
        {
            "primary_index": 1,
            "columns": [
                {"key": "iou", "index": 0},
                {"key": "dice", "index": 1, "sorting": "desc"},
                {"key": "mean", "index": 2, "computation": "avg", "computation_indexes": [0, 1]},
            ],
        }
    ],
}


def folder(tmp_path: Path, manifest: dict[str, Any]) -> Path:
    root = tmp_path / "source"
    shutil.rmtree(root, ignore_errors=True)
    (root / "program").mkdir(parents=True)
    (root / "program" / "score.py").write_text("print(1)\n")
    (root / "ref").mkdir()
    (root / "ref" / "answers.txt").write_text("1\n")
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest))
    return root


def no_unpack(archive: Path, target: Path) -> None:
    raise AssertionError("no zip in these bundles")


def run(tmp_path: Path, manifest: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    imported = translate(folder(tmp_path, manifest), out, no_unpack)
    return yaml.safe_load((out / "challenge.yaml").read_text()), imported.notes


def test_every_phase_comes_over_with_its_dates_data_and_migration(tmp_path: Path) -> None:
    source = copy.deepcopy(BASE)
    source["tasks"].append({"index": 1, "scoring_program": "program", "reference_data": "final_ref"})
    source["phases"][1].update(tasks=[1], auto_migrate_to_this_phase=True, max_submissions_per_day=1)
    root = folder(tmp_path, source)
    (root / "final_ref").mkdir()
    (root / "final_ref" / "answers.txt").write_text("2\n")
    out = tmp_path / "out"
    translate(root, out, no_unpack)
    manifest = yaml.safe_load((out / "challenge.yaml").read_text())
    phases = manifest["phases"]
    assert [(p["key"], p["title"], p["migrate"]) for p in phases] == [
        ("warm-up", "Warm-up", False),
        ("final", "Final", True),
    ]
    assert phases[0]["schedule"] == {
        "opens": "2027-01-01T00:00:00+00:00",
        "closes": "2027-02-01T00:00:00+00:00",
    }
    # One scoring program, copied once; each phase its own reference data and limits.
    assert phases[0]["program"]["folder"] == phases[1]["program"]["folder"] == "program"
    assert (phases[0]["data"]["reference"], phases[1]["data"]["reference"]) == ("reference", "reference-2")
    assert (out / "reference-2" / "answers.txt").read_text() == "2\n"
    assert phases[1]["limits"] == {"per_day": 1} and phases[0]["limits"] == {}
    assert "schedule" not in manifest


def test_phases_follow_one_another(tmp_path: Path) -> None:
    source = copy.deepcopy(BASE)
    source["phases"][0]["end"] = "2027-02-15T00:00:00Z"  # overlaps the final phase
    source["phases"][1].pop("end")
    manifest, notes = run(tmp_path, source)
    assert manifest["phases"][0]["schedule"]["closes"] == "2027-02-01T00:00:00+00:00"
    assert "closes" not in manifest["phases"][1]["schedule"]  # the last phase may run on
    assert any("ends after 'Final' starts; here it ends when that one starts" in n for n in notes)
    source["phases"][1].pop("start")
    with pytest.raises(Refused) as caught:
        run(tmp_path, source)
    assert caught.value.path == "phase 'Final'" and "no start date" in caught.value.message


def test_the_primary_column_ranks_and_computed_columns_are_reported(tmp_path: Path) -> None:
    manifest, notes = run(tmp_path, BASE)
    assert manifest["metric"] == "dice"
    assert [c["key"] for c in manifest["program"]["columns"]] == ["dice", "iou"]
    assert any("computed column 'mean' (avg) not imported" in n for n in notes)
    assert manifest["program"]["command"] == "python3 $program/score.py $input $output"
    assert any("no metadata.yaml command" in n for n in notes)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (lambda m: m["tasks"][0].pop("reference_data"), "phase 'Warm-up'", "no reference_data"),
        (lambda m: m["tasks"][0].pop("scoring_program"), "phase 'Warm-up'", "no scoring program"),
        (lambda m: m["phases"][0].update(tasks=[7]), "phases[0]", "expected the index of a task"),
        (lambda m: m["phases"][0].update(start="soon"), "phases[0].start", "'soon' is not a date"),
        (
            lambda m: m["leaderboards"][0]["columns"][0].update(key="mean IoU"),
            "leaderboards[0].columns[0].key",
            "'mean IoU'",
        ),
        (lambda m: m.pop("leaderboards"), "competition.yaml leaderboards", "expected a list of leaderboards"),
        # Shapes that once ended in a server error (a third hostile probe):
        (lambda m: m.update(phases=["a", "b"]), "competition.yaml phases", "each a mapping of fields"),
        (lambda m: m["phases"][0].update(index="x"), "phases[0].index", "expected a whole number (got 'x')"),
        (lambda m: m["tasks"][0].update(index=[1]), "tasks[0].index", "expected a whole number (got [1])"),
        (
            lambda m: m["leaderboards"][0].update(columns="score"),
            "leaderboards[0].columns",
            "expected a list of columns, each a mapping of fields (got 'score')",
        ),
        (lambda m: m["phases"][0].update(tasks=0), "phases[0]", "(got 0)"),
    ],
)
def test_an_unusable_bundle_is_refused_with_where_and_why(
    tmp_path: Path, change: Any, where: str, message: str
) -> None:
    manifest = copy.deepcopy(BASE)
    change(manifest)
    with pytest.raises(Refused) as caught:
        run(tmp_path, manifest)
    assert caught.value.path == where and message in caught.value.message


V15: dict[str, Any] = {
    "title": "Old",
    "phases": {1: {"phasenumber": 1, "label": "One", "start_date": "2027-01-01", "scoring_program": "program", "reference_data": "ref"}},
    "leaderboard": {
        "leaderboards": {"RESULTS": {"label": "Results", "rank": 1}},
        "columns": {"score": {"leaderboard": {"label": "Results", "rank": 1}, "label": "Score", "rank": 1}},
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (lambda m: m["phases"][1].update(phasenumber="one"), "phases.1.phasenumber", "(got 'one')"),
        (lambda m: m.update(phases={1: "a phase"}), "competition.yaml phases", "each a mapping of fields"),
        (lambda m: m["leaderboard"]["columns"].update(score="x"), "leaderboard.columns.score", "(got 'x')"),
    ],
    ids=["phasenumber", "phase as a string", "column as a string"],
)
def test_a_codalab_bundle_of_the_wrong_shape_is_refused_with_where(
    tmp_path: Path, change: Any, where: str, message: str
) -> None:
    manifest = copy.deepcopy(V15)
    run(tmp_path, manifest)  # as it is, it translates
    change(manifest)
    with pytest.raises(Refused) as caught:
        run(tmp_path, manifest)
    assert caught.value.path == where and message in caught.value.message


def test_a_manifest_nested_thousands_deep_is_refused_not_crashed(tmp_path: Path) -> None:
    from challenges.bundle import BundleError, load_bundle

    deep = "a: " + "[" * 50_000 + "]" * 50_000 + "\n"
    root = folder(tmp_path, BASE)
    (root / "competition.yaml").write_text(deep)
    with pytest.raises(Refused) as caught:
        translate(root, tmp_path / "out", no_unpack)
    assert (caught.value.path, caught.value.message) == (
        "competition.yaml",
        "nested too deeply to be a manifest",
    )
    own = tmp_path / "own"
    own.mkdir()
    (own / "challenge.yaml").write_text(deep)
    with pytest.raises(BundleError) as refused:
        load_bundle(own)
    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("challenge.yaml", "nested too deeply to be a manifest")
    ]


def test_an_evalai_phase_without_a_public_split_is_refused(tmp_path: Path) -> None:
    from challenges.importers import evalai

    root = tmp_path / "evalai"
    root.mkdir()
    config = {
        "title": "T",
        "evaluation_script": "script",
        "leaderboard": [{"id": 1, "schema": {"labels": ["Accuracy"]}}],
        "challenge_phases": [{"id": 1, "name": "Dev", "codename": "dev", "test_annotation_file": "a.json"}],
        "dataset_splits": [{"id": 1, "codename": "hidden"}],
        "challenge_phase_splits": [
            {"challenge_phase_id": 1, "leaderboard_id": 1, "dataset_split_id": 1, "visibility": 1}
        ],
    }
    (root / "challenge_config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(Refused) as caught:
        evalai.translate(root, tmp_path / "out", no_unpack)
    assert caught.value.path == "challenge_phase_splits"
    assert "phase 'Dev' has no public split (visibility 3)" in caught.value.message
