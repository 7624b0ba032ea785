"""Benchmark: what hostile prediction files cost the worker that validates them.

Each file is validated against the tumour-detection test set in a fresh child process (as the
worker would), and the child's peak resident memory, its time and the message it produced are
printed. The Parquet bomb is one dictionary-encoded value repeated 20 M times, zstd-compressed.

    .venv/bin/python bench/hostile_files.py [--rows 20000000] [--root DIR]

--root imports `scoring` from another checkout (e.g. a `git worktree` of an older commit), to
compare before and after a change.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "challenges" / "examples" / "tumour-detection"

CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from scoring.errors import PredictionFileError
from scoring.metrics import Output
from scoring.validate import Expectation, FileFormat, read_predictions
import pandas as pd
ids = pd.read_csv(sys.argv[2], dtype=str)["id"]
expected = Expectation(id_column="id", ids=pd.Index(ids.to_numpy(dtype=object), dtype=object),
                       target_column="diagnosis", output=Output.PROBABILITY, classes=("0", "1"))
data = Path(sys.argv[3]).read_bytes()
start = time.perf_counter()
try:
    read_predictions(data, expected, FileFormat(sys.argv[4]))
    message = "accepted"
except PredictionFileError as exc:
    message = str(exc)
except Exception as exc:  # what the worker would retry as its own failure
    message = f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "message": message[:200]}))
"""


def parquet_bomb(rows: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["842302"])),
            "diagnosis": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([0.5])),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def csv_flood(size: int) -> bytes:
    """An upload-limit's worth of one-character rows: millions of rows in a file under the limit."""
    return b"id,diagnosis\n" + b"1,0\n" * (size // 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose scoring/ is measured")
    args = parser.parse_args()
    labels = EXAMPLE / "hidden" / "labels.csv"
    ids = [line.split(",")[0] for line in labels.read_text().splitlines()[1:]]
    cases = {
        "a valid file (the reference)": (
            ("id,diagnosis\n" + "".join(f"{i},0.5\n" for i in ids)).encode(),
            "csv",
        ),
        f"parquet bomb ({args.rows:,} rows of one value)": (parquet_bomb(args.rows), "parquet"),
        "CSV of 50 MB of one-character rows": (csv_flood(50 * 2**20 - 64), "csv"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (data, file_format) in cases.items():
            path = Path(tmp) / "file"
            path.write_bytes(data)
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(args.root), str(labels), str(path), file_format],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:
                print(
                    f"{name}: {len(data):,} bytes; the child failed ({result.returncode}): {result.stderr[-300:]}"
                )
                continue
            figures = json.loads(result.stdout)
            print(
                f"{name}: {len(data):,} bytes -> peak {figures['peak_mb']:,.0f} MB, "
                f"{figures['seconds']:.2f} s; {figures['message']}"
            )


if __name__ == "__main__":
    main()
