"""riality's driver for an EvalAI evaluation script, run as a scoring program in the sandbox.

EvalAI imports the organiser's `evaluation_script` package and calls
`evaluate(test_annotation_file, user_submission_file, phase_codename)`, which returns
{"result": [{split_codename: {label: value}}, ...]}. This does the same with riality's paths, and
writes scores.json: the public board from the split EvalAI shows the public, the private board from
the split only the hosts see (the public one again if there is none).

Usage: python3 riality_evalai.py PROGRAM INPUT OUTPUT PHASE ANNOTATION PUBLIC_SPLIT PRIVATE_SPLIT
"""

import importlib
import json
import sys
import zipfile
from pathlib import Path


def submission_file(res: Path) -> Path:
    """The team's file as EvalAI passes it: the one file uploaded (a zip riality unpacked: zipped again)."""
    files = sorted(p for p in res.rglob("*") if p.is_file())
    if len(files) == 1:
        return files[0]
    packed = Path("/tmp/submission.zip")
    with zipfile.ZipFile(packed, "w") as archive:
        for path in files:
            archive.write(path, path.relative_to(res).as_posix())
    return packed


def main() -> None:
    program, inputs, output, phase, annotation, public, private = sys.argv[1:8]
    sys.path.insert(0, program)
    script = importlib.import_module("evaluation_script")
    found = script.evaluate(
        str(Path(inputs) / "ref" / annotation), str(submission_file(Path(inputs) / "res")), phase
    )
    splits = {}
    for item in found.get("result", []):
        splits.update(item)
    if public not in splits:
        raise SystemExit(f"the evaluation script returned no result for the public split {public!r}")
    scores = {"public": splits[public], "private": splits.get(private or public, splits[public])}
    (Path(output) / "scores.json").write_text(json.dumps(scores))


if __name__ == "__main__":
    main()
