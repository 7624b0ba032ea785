"""The kernel's errors: domain words, no HTTP. The API maps them (server/api/errors.py).

KernelError
 └── Missing (also a LookupError)   a record the caller named does not exist
"""

from __future__ import annotations


class KernelError(Exception):
    """Base class of every error raised by `core`."""


class Missing(KernelError, LookupError):
    """A record the caller named does not exist."""
