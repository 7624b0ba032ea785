"""The Ladder against an adaptive attacker: how far its public score drifts from its private one.

The attacker starts from an honest submission (accuracy ~0.70 on both subsets of a binary test set),
then, many times, flips the predictions of a few random rows and keeps the change whenever the public
score it is shown goes up. On a plain board it sees the exact public accuracy, so it climbs on the
public rows' noise: its public score rises, its private score does not. With the Ladder it sees the
released score, which moves only for a gain of more than one standard error: the climb stalls.

    .venv/bin/python bench/ladder.py [--rows 4000] [--rounds 2000] [--flips 20] [--seeds 5]

Prints, for each board, the final public and private accuracy and their gap (public − private),
averaged over the seeds. What the Ladder promises: a smaller gap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scoring.ladder import beats


def attack(rows: int, rounds: int, flips: int, seed: int, *, ladder: bool) -> tuple[float, float]:
    """The attacker's final (public, private) accuracy."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 2 * rows)
    public = np.zeros(2 * rows, dtype=bool)
    public[rng.permutation(2 * rows)[:rows]] = True
    current = np.where(rng.random(2 * rows) < 0.70, truth, 1 - truth)  # honest: 70 % right everywhere

    def public_loss(predictions: np.ndarray) -> np.ndarray:
        return (predictions[public] != truth[public]).astype(float)

    released = public_loss(current)  # the first submission is released as it is
    seen = 1 - released.mean()
    for _ in range(rounds):
        candidate = current.copy()
        rows_to_flip = rng.choice(2 * rows, flips, replace=False)
        candidate[rows_to_flip] = 1 - candidate[rows_to_flip]
        loss = public_loss(candidate)
        if ladder:
            if not beats(loss, released):
                continue  # the released score did not move: the attacker learns nothing
            released = loss
            shown = 1 - loss.mean()
        else:
            shown = 1 - loss.mean()
        if shown > seen:
            current, seen = candidate, shown
    correct = current == truth
    return float(correct[public].mean()), float(correct[~public].mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=4000, help="public rows (as many private)")
    parser.add_argument("--rounds", type=int, default=2000, help="submissions of the attacker")
    parser.add_argument("--flips", type=int, default=20, help="rows changed per submission")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(
        f"adaptive attacker: {args.rounds} submissions, {args.flips} rows flipped each, "
        f"{args.rows} public and {args.rows} private rows, {args.seeds} seeds"
    )
    for name, ladder in (("plain board", False), ("Ladder", True)):
        runs = [attack(args.rows, args.rounds, args.flips, seed, ladder=ladder) for seed in range(args.seeds)]
        public, private = np.mean(runs, axis=0)
        print(f"  {name:12s} public {public:.4f}  private {private:.4f}  gap {public - private:+.4f}")


if __name__ == "__main__":
    main()
