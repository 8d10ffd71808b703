"""Where a run's files live: one base, the same for every worker and the operator page.

A run's files (plan.json, review_preview.csv, review.csv, report.html and its charts, chunks/*.json) are
written by whichever worker ran the task and read by the next task, the review import and the operator page
on the API server. On one machine that is a folder; across hosts (Celery, Kubernetes, Astro, MWAA, Composer)
it has to be an object store. Every file goes through Airflow's `ObjectStoragePath` under one base:

- `$TENANT_STORAGE_URL`, e.g. `s3://bucket/tenant-integrity` (or gs://, abfs://, file:///srv/tenant), with
  `$TENANT_STORAGE_CONN_ID` the Airflow connection that reaches it (conn_id of ObjectStoragePath; unset: the
  filesystem's own credentials). Runs are `<base>/<spec>/<run id>/`, GX Data Docs `<base>/data-docs/`.
- unset: the local folders as before, `$TENANT_REVIEW_DIR` (default review/) for the runs and
  `$TENANT_DATA_DOCS_DIR` (default data_docs/) for the Data Docs.

This module is the only one that knows the base. Keys are as strict as the local paths were: every segment
of a key is a plain name (no empty segment, no `.` or `..`, no backslash or control character), so no key is
absolute or leaves the base; on the local filesystem the path, links resolved, must also stay inside it.
Airflow (airflow.sdk) is imported only when a path is made.
"""

from __future__ import annotations

import contextlib
import io
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from tenant_integrity.core.paths import PROJECT_ROOT, review_dir, safe_run_id

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

STORAGE_URL = "TENANT_STORAGE_URL"
STORAGE_CONN_ID = "TENANT_STORAGE_CONN_ID"
DATA_DOCS = "data-docs"  # the Data Docs under a configured base: a spec name never has a '-' (spec.SPEC_NAME)
CHUNK_BYTES = 1024 * 1024  # what a served file is streamed in


class UnsafeKey(ValueError):
    """A key that is not a plain relative path under the base (empty, absolute, `..`, a link out)."""


# --- the base ----------------------------------------------------------------------------------------------


def configured() -> bool:
    """True when $TENANT_STORAGE_URL names the base; False: the local folders of before."""
    return bool(os.environ.get(STORAGE_URL, "").strip())


def local_data_docs_dir() -> Path:
    """Where GX Data Docs are without $TENANT_STORAGE_URL: $TENANT_DATA_DOCS_DIR, default data_docs/ in the project."""
    return Path(os.environ.get("TENANT_DATA_DOCS_DIR", PROJECT_ROOT / "data_docs")).resolve()


def local(folder: Path | str) -> ObjectStoragePath:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(str(Path(folder).resolve()), protocol="file")


def at(url: str) -> ObjectStoragePath:
    """The path of a URL (or a local path) with the storage's connection: s3://, gs://, file://, /srv/..."""
    from airflow.sdk import ObjectStoragePath

    parts = urlsplit(url)
    if parts.scheme in ("", "file", "local") or len(parts.scheme) == 1:  # a path (C: is a drive, not a scheme)
        return local(parts.path if parts.scheme in ("file", "local") else url)
    conn_id = os.environ.get(STORAGE_CONN_ID, "").strip() or None
    return ObjectStoragePath(url, conn_id=conn_id)


def base() -> ObjectStoragePath:
    """The base of the runs' files: $TENANT_STORAGE_URL, else the local review folder ($TENANT_REVIEW_DIR)."""
    url = os.environ.get(STORAGE_URL, "").strip()
    return at(url.rstrip("/") or url) if url else local(review_dir())


def data_docs_base() -> ObjectStoragePath:
    """The base of the GX Data Docs: <base>/data-docs/ with $TENANT_STORAGE_URL, else $TENANT_DATA_DOCS_DIR."""
    return child(base(), DATA_DOCS) if configured() else local(local_data_docs_dir())


def is_local(path: ObjectStoragePath) -> bool:
    return (path.protocol or "file") in ("file", "local")


# --- keys ----------------------------------------------------------------------------------------------------


def segments(key: str) -> list[str]:
    """The plain names of a relative key; UnsafeKey for an empty, absolute or climbing key."""
    if not isinstance(key, str) or not key:
        raise UnsafeKey(f"empty key {key!r}")
    names = key.split("/")
    for name in names:
        if name in ("", ".", "..") or "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise UnsafeKey(f"key {key!r}: {name!r} is not a plain name")
    return names


def inside(path: ObjectStoragePath, root: ObjectStoragePath) -> bool:
    """`path` is `root` or below it: by key, and on the local filesystem also with links resolved."""
    if path.protocol != root.protocol or path.bucket != root.bucket:
        return False
    if is_local(root):
        return Path(path.path).resolve().is_relative_to(Path(root.path).resolve())
    top = root.path.rstrip("/")
    return path.path == top or path.path.startswith(top + "/")


def child(root: ObjectStoragePath, *keys: str) -> ObjectStoragePath:
    """root/keys..., each key one or more plain names; UnsafeKey unless the result stays inside `root`."""
    names = [name for key in keys for name in segments(key)]
    path = root.joinpath(*names)
    if not inside(path, root):
        raise UnsafeKey(f"{'/'.join(names)!r} leaves {display(root)}")
    return path


def run_path(spec_name: str, run_id: str) -> ObjectStoragePath:
    """<base>/<spec>/<run id>/ — the run id keeps only path-safe characters (paths.safe_run_id)."""
    return child(base(), spec_name, safe_run_id(run_id))


def relative(path: ObjectStoragePath, root: ObjectStoragePath) -> str | None:
    """The key of `path` under `root` ('a/b.html'), or None when it is not inside."""
    if not inside(path, root):
        return None
    top = root.path.rstrip("/")
    return path.path[len(top) :].lstrip("/")


def display(path: ObjectStoragePath) -> str:
    """How a path is shown and recorded: a local file's plain path, else its URL (without the connection)."""
    if is_local(path):
        return path.path
    return f"{path.protocol}://{path.path}"


def locate(value: str, root: ObjectStoragePath) -> ObjectStoragePath:
    """A path a person gave (relative to `root`, a URL or an absolute path inside it); UnsafeKey if outside.

    On the local filesystem as before: resolved (links and ..) and then inside `root`; elsewhere a key has
    plain names only.
    """
    text = value.strip()
    parts = urlsplit(text)
    given_url = bool(parts.scheme) and len(parts.scheme) > 1
    if is_local(root):
        if given_url and parts.scheme not in ("file", "local"):
            raise UnsafeKey(f"{text!r} is not on the local filesystem")
        candidate = Path(parts.path if given_url else text)
        resolved = (candidate if candidate.is_absolute() else Path(root.path) / candidate).resolve()
        path = local(resolved)
        if not inside(path, root):
            raise UnsafeKey(f"{text!r} is outside {display(root)}")
        return path
    if given_url:
        path = at(text)
        key = relative(path, root) if path.protocol == root.protocol else None
        if key is None:
            raise UnsafeKey(f"{text!r} is outside {display(root)}")
        return child(root, key)
    return child(root, text)


# --- reading -------------------------------------------------------------------------------------------------


def _fresh(path: ObjectStoragePath) -> None:
    """Forget what the filesystem listed before: a worker on another host may have written since."""
    with contextlib.suppress(Exception):
        path.fs.invalidate_cache(path.path)


def is_file(path: ObjectStoragePath) -> bool:
    _fresh(path)
    return path.is_file()


def size(path: ObjectStoragePath) -> int:
    _fresh(path)
    return int(path.fs.size(path.path))


def modified(path: ObjectStoragePath) -> float:
    """Seconds since the epoch of the last write (the store's own clock for an object)."""
    _fresh(path)
    return float(path.stat().st_mtime)


def read_bytes(path: ObjectStoragePath) -> bytes:
    _fresh(path)
    with path.open("rb") as handle:
        return handle.read()


def read_text(path: ObjectStoragePath) -> str:
    return read_bytes(path).decode("utf-8")


def files_in(folder: ObjectStoragePath) -> list[str]:
    """The names of the files directly in `folder`, sorted ([] when there is none)."""
    _fresh(folder)
    try:
        entries = folder.fs.ls(folder.path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [PurePath(e["name"].rstrip("/")).name for e in entries if e.get("type") == "file"]
    return sorted(n for n in names if n)


def glob(folder: ObjectStoragePath, pattern: str) -> list[ObjectStoragePath]:
    _fresh(folder)
    try:
        return list(folder.glob(pattern))
    except FileNotFoundError:
        return []


def chunks(path: ObjectStoragePath, block: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file's bytes, a block at a time (a served download never sits whole in memory)."""
    _fresh(path)
    with path.open("rb") as handle:
        while data := handle.read(block):
            yield data


def media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# --- writing -------------------------------------------------------------------------------------------------


def _as_storage(path: ObjectStoragePath | PurePath | str) -> ObjectStoragePath:
    if isinstance(path, PurePath):
        return local(Path(path))
    return at(path) if isinstance(path, str) else path


@contextlib.contextmanager
def open_write(path: ObjectStoragePath | Path, private: bool = False) -> Iterator[IO[bytes]]:
    """A binary handle that writes the whole file at `path` (a local folder is made, mode 0700).

    `private`: on the local filesystem the file is mode 0600 (it holds customer data), also when it existed
    with a wider mode; in an object store the bucket's policy decides. An object is there once the block ends
    (s3fs uploads in parts as it goes: a large file never sits whole in memory).
    """
    path = _as_storage(path)
    if is_local(path):
        local = Path(path.path)
        local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if private:
            fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            os.close(fd)
    with path.open("wb") as handle:
        yield handle


@contextlib.contextmanager
def open_text_write(path: ObjectStoragePath | Path, private: bool = False) -> Iterator[IO[str]]:
    """open_write for text: UTF-8, newlines as written (csv writes its own \\r\\n)."""
    with open_write(path, private) as raw:
        text = io.TextIOWrapper(_Unclosed(raw), encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()


class _Unclosed(io.RawIOBase):
    """A writable view of a storage handle for TextIOWrapper, which closes what it wraps."""

    def __init__(self, raw):
        self._raw = raw

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._raw.write(bytes(data))
        return len(data)


def write_bytes(path: ObjectStoragePath | Path, data: bytes, private: bool = False) -> ObjectStoragePath:
    with open_write(path, private) as handle:
        handle.write(data)
    return _as_storage(path)


def write_text(path: ObjectStoragePath | Path, text: str, private: bool = False) -> ObjectStoragePath:
    return write_bytes(path, text.encode("utf-8"), private)


def upload_tree(folder: Path, dest: ObjectStoragePath) -> list[ObjectStoragePath]:
    """Every file under the local `folder` to the same keys under `dest`; the paths written."""
    written = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = child(dest, file.relative_to(folder).as_posix())
        with file.open("rb") as source, open_write(target) as out:
            shutil.copyfileobj(source, out, CHUNK_BYTES)
        written.append(target)
    return written


@contextlib.contextmanager
def built_locally(dest: ObjectStoragePath) -> Iterator[Path]:
    """A local folder for a tool that writes only to a filesystem (GX Data Docs): `dest` itself when it is
    local, else a temporary folder whose files are uploaded to `dest` when the block ends without error."""
    if is_local(dest):
        folder = Path(dest.path)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="tenant-storage-") as temporary:
        yield Path(temporary)
        upload_tree(Path(temporary), dest)


def published_url(url: str, folder: Path, dest: ObjectStoragePath) -> str:
    """A file:// URL a tool recorded under the local `folder` as the URL of its copy under `dest`."""
    if is_local(dest):
        return url
    parts = urlsplit(url)
    if parts.scheme != "file":
        return url
    try:
        key = Path(parts.path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return url
    return display(child(dest, key)) if key != "." else display(dest)


def data_docs_key(recorded: str | None) -> str | None:
    """The key under data_docs_base() of a Data Docs page as recorded (a file:// URL or a storage URL)."""
    if not recorded:
        return None
    root = data_docs_base()
    parts = urlsplit(recorded)
    if is_local(root):
        if parts.scheme not in ("file", ""):
            return None
        from urllib.parse import unquote

        path = local(unquote(parts.path))
    else:
        if parts.scheme != root.protocol:
            return None
        path = at(recorded)
    key = relative(path, root)
    if not key:
        return None
    try:
        segments(key)
    except UnsafeKey:
        return None
    return key
