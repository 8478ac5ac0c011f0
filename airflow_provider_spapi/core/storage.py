"""Where results land: local paths or object storage, written atomically so a file that exists is complete.

``destination`` is anything path-like with ``open``, ``rename`` and ``unlink``: a ``pathlib.Path`` or an
Airflow ``ObjectStoragePath`` (s3://, gs://, file://), so this module needs no Airflow.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

#: A ``pathlib.Path`` or anything shaped like one (Airflow's ``ObjectStoragePath``): ``name``, ``open``,
#: ``rename``, ``unlink`` and ``with_name`` are all this module uses.
WritablePath = Any


def as_path(destination: str | os.PathLike[str] | WritablePath) -> WritablePath:
    """A local path for plain strings and ``os.PathLike``; anything with ``open``/``rename`` is used as is."""
    if isinstance(destination, (str, os.PathLike)) and not hasattr(destination, "fs"):
        return Path(destination)
    return destination


@contextmanager
def atomic_write(destination: WritablePath) -> Iterator[IO[bytes]]:
    """Write to a hidden sibling, then rename it over ``destination``; on any error remove the sibling."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except (OSError, NotImplementedError):
        if isinstance(destination, Path):
            raise
        # Object stores have no folders to make; the write below creates the key or says why it cannot.
    partial = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("wb") as handle:
            yield handle
        partial.rename(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
