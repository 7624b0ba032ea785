"""Environments: the lock file's form, what teams install from it, and the test machine agreeing with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from core.environments import (
    DEFAULT_LOCK,
    DEFAULT_PACKAGES,
    LockError,
    Pin,
    default_pins,
    lock_digest,
    parse_lock,
    render_lock,
    requirements_txt,
)

ROOT = Path(__file__).parents[2]


def test_the_default_lock_pins_every_package_it_was_made_from_with_a_hash() -> None:
    pins = {pin.name: pin for pin in default_pins()}
    for name in DEFAULT_PACKAGES:
        assert name in pins, f"{name} is not in {DEFAULT_LOCK}"
    for pin in pins.values():
        assert pin.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes), pin


def test_the_test_machine_installs_the_locks_versions_of_what_it_saves_models_with() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pinned = dict(line.split("==") for line in dev if "==" in line)
    locked = {pin.name: pin.version for pin in default_pins()}
    assert {"scikit-learn", "numpy", "skops", "onnxruntime"} <= pinned.keys()
    for name, version in pinned.items():
        assert locked[name] == version, f"pyproject.toml pins {name}=={version}, the lock has {locked[name]}"


def test_a_lock_round_trips_and_its_digest_ignores_order() -> None:
    pins = [Pin("numpy", "2.4.6", ("a" * 64,)), Pin("scikit-learn", "1.9.1", ("b" * 64, "c" * 64))]
    text = render_lock(pins, "made by a test")
    assert text.startswith("# made by a test\n")
    assert parse_lock(text) == pins
    assert lock_digest(pins) == lock_digest(pins[::-1])
    assert lock_digest(pins) != lock_digest([*pins, Pin("tabulate", "0.9.0")])


def test_names_are_normalised_and_a_bad_line_is_named() -> None:
    assert parse_lock("Scikit_Learn==1.9.1\n") == [Pin("scikit-learn", "1.9.1")]
    with pytest.raises(LockError, match=r"line 2: 'numpy>=2' is not name==version"):
        parse_lock("pandas==3.1.1\nnumpy>=2\n")


def test_teams_get_every_pin_under_the_names_they_install() -> None:
    text = requirements_txt([Pin("numpy", "2.4.6", ("a" * 64,)), Pin("xgboost-cpu", "3.2.0")], "Digits")
    assert text.splitlines() == [
        "# The environment of Digits: Python 3.11",
        "# pip install -r requirements.txt",
        "numpy==2.4.6",
        "xgboost==3.2.0",
    ]


@pytest.mark.parametrize("recipe", ["Dockerfile", "Dockerfile.offline"])
def test_both_runtime_recipes_install_the_lock_with_its_hashes(recipe: str) -> None:
    """The online image (from the index) and the offline one (from the wheelhouse) install one lock."""
    text = (ROOT / "runner" / "image" / recipe).read_text().replace("\\\n", " ")
    install = re.search(r"pip install ([^\n]*)", text)
    assert install is not None, recipe
    assert "--require-hashes" in install.group(1) and "requirements.lock" in install.group(1)
    assert ("--no-index" in install.group(1)) is (recipe == "Dockerfile.offline")
