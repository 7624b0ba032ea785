"""The seeded public/private split of a hidden test set.

Each id gets a rank from a hash of (seed, id); the lowest ranks form the public subset. The
split is therefore the same on every machine and for every row order, and has exactly
round(fraction * n) public ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def public_mask(ids: Sequence[str], fraction: float, seed: str) -> np.ndarray:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"public fraction must be between 0 and 1 (exclusive), got {fraction}")
    keys = [hashlib.blake2b(f"{seed}\x00{i}".encode(), digest_size=8).digest() for i in ids]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    count = round(fraction * len(keys))
    mask = np.zeros(len(keys), dtype=bool)
    mask[order[:count]] = True
    return mask
