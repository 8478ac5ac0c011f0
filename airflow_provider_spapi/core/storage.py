"""Where results land: local paths or object storage, written so that a file that exists is complete.

One conversion, :func:`as_path`, turns what a user passed into a path object for the core and the
operators alike: a ``scheme://`` string is a URL (never a local path: ``Path("s3://b/k")`` would be
``s3:/b/k`` on the local disk), anything else a local ``pathlib.Path``. The core needs no Airflow, so
how a URL becomes a path object (Airflow's ``ObjectStoragePath``) is handed in by the caller as
``url_path``; without one, a URL is refused with a clear error instead of being misread.

:func:`atomic_write` writes each target once, in the way its store makes atomic:

* a local path (or ``file://``): to a hidden sibling in the same folder, then ``os.replace`` over the
  target (the parent folder is created if missing, as ``mkdir -p`` would);
* an object store (s3://, gs://, …): through the filesystem's own transaction, so the object appears
  only when the upload completes (S3's multipart upload is completed on commit and aborted on
  failure). No folder or bucket is created (on S3 that would create a bucket from a typo) and there
  is no copy-and-delete rename, so the report is not written twice and a failure leaves no key.
  fsspec transactions belong to the (cached, shared) filesystem instance: other writes to the same
  filesystem from other threads while one is open join it, which is why a task writes its one
  result at a time.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from airflow_provider_spapi.core.errors import ConfigError

#: A ``pathlib.Path`` or anything shaped like one with an fsspec filesystem (Airflow's ``ObjectStoragePath``):
#: ``name``, ``parent``, ``open``, ``exists``, ``fs`` and ``path`` are all this module uses.
WritablePath = Any
#: Builds the path object for a ``scheme://`` URL (the operators pass Airflow's ``ObjectStoragePath``).
UrlPath = Callable[[str], WritablePath]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_LOCAL_PROTOCOLS = frozenset({"file", "local"})


def is_url(text: str) -> bool:
    """Whether ``text`` starts with a URL scheme such as ``s3://`` or ``file://``."""
    return bool(_URL.match(text))


def _has_fs(destination: WritablePath) -> bool:
    """Whether ``destination`` is a path object on an fsspec filesystem (an ObjectStoragePath).

    Asked before ``isinstance(..., Path)``: with universal-pathlib 0.2 (Airflow 2.11 to 3.1) ObjectStoragePath
    subclasses ``pathlib.Path``, yet its ``os.fspath`` is the URL, not a local path. Checked on the type:
    ``ObjectStoragePath.fs`` is a property that attaches the filesystem (and may raise).
    """
    return hasattr(type(destination), "fs")


def as_path(
    destination: str | os.PathLike[str] | WritablePath,
    argument: str = "output_path",
    *,
    url_path: UrlPath | None = None,
    errors: type[ConfigError] = ConfigError,
) -> WritablePath:
    """The path object for ``destination``: path objects as they are, URLs through ``url_path``, other strings local Paths.

    ``argument`` names the argument in the error a blank value or an unusable URL raises (``errors`` is the
    platform's ``ConfigError`` class).
    """
    if _has_fs(destination) or isinstance(destination, Path):
        return destination
    if isinstance(destination, (str, os.PathLike)) and str(destination).strip():
        text = str(destination).strip()
        if not is_url(text):
            return Path(text)
        if url_path is None:
            raise errors(
                f"Argument '{argument}' is a URL ({text.split('://', 1)[0]}://…), which needs Airflow's ObjectStoragePath: pass an "
                "ObjectStoragePath, or use the operators, which convert URLs themselves."
            )
        try:
            return url_path(text)
        except ValueError as error:
            scheme = text.split("://", 1)[0]
            raise errors(
                f"Argument '{argument}' is a {scheme}:// URL that cannot be opened ({error}). Install the Airflow provider for "
                f"{scheme}:// (s3: apache-airflow-providers-amazon, gs: apache-airflow-providers-google) or fix the scheme."
            ) from None
    raise errors(f"Argument '{argument}' must be a local path or a URL such as s3://bucket/key, not {destination!r}.")


def _local(destination: WritablePath) -> Path | None:
    """The local path behind ``destination`` (a Path, or a ``file://`` ObjectStoragePath), else None.

    Read from the path's own ``protocol`` where it has one (ObjectStoragePath does), which does not
    connect its filesystem; other fsspec-backed paths are asked through their filesystem.
    """
    if not _has_fs(destination):
        return Path(destination)
    protocol: Any = getattr(destination, "protocol", None) or getattr(destination.fs, "protocol", ())
    protocols = {protocol} if isinstance(protocol, str) else set(protocol)
    return Path(destination.path) if protocols & _LOCAL_PROTOCOLS else None


@contextmanager
def _write_local(target: Path) -> Iterator[IO[bytes]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("wb") as handle:
            yield handle
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def _write_object(destination: WritablePath) -> Iterator[IO[bytes]]:
    fs = destination.fs
    # Files opened inside a transaction are committed on a clean exit and discarded on an exception.
    with fs.transaction, fs.open(destination.path, "wb") as handle:
        yield handle


@contextmanager
def atomic_write(destination: WritablePath) -> Iterator[IO[bytes]]:
    """Write ``destination`` in one go that becomes visible only when complete; on any error nothing is left behind."""
    local = _local(destination)
    with _write_local(local) if local is not None else _write_object(destination) as handle:
        yield handle


def lineage_name(destination: WritablePath) -> tuple[str, str]:
    """OpenLineage's ``(namespace, name)`` for a stored file, by its naming spec.

    A local file is ``("file", "/absolute/path")``; an object is ``("<scheme>://<bucket>", "<key>")``,
    e.g. ``("s3://bucket", "reports/day.tsv")``, the names the Amazon, Google and common-io operators
    give the same objects, so lineage graphs join on them. Read from the path alone: its filesystem is
    never connected for this (a resumed task may not have connected it).
    """
    local = _local(destination)
    if local is not None:
        return "file", str(local.resolve())
    bucket, _, key = str(destination.path).lstrip("/").partition("/")
    return f"{destination.protocol}://{bucket}", key
