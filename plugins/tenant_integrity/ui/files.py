"""The files the operator page serves: only inside the storage base (tenant_integrity.store.storage), plain names,
streamed, under a content policy that lets no script of a run file run."""

from __future__ import annotations

import re

from airflow.sdk import ObjectStoragePath
from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from tenant_integrity.core.spec import SPEC_NAME
from tenant_integrity.store import storage

# what a run folder may serve: plain file names (the report's charts, its CSVs, plan.json), never a path
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


# files of a run folder are ours and carry no script: none may run in them, whatever a cell of a CSV or a name says
RUN_FILE_POLICY = "script-src 'none'; object-src 'none'; base-uri 'none'"


# GX Data Docs load scripts from public CDNs: served here they run in an opaque origin (a sandbox), so those
# scripts cannot reach Airflow's origin, its session or the UI around the frame
DATA_DOCS_POLICY = "sandbox allow-scripts allow-popups"


def inside(path: ObjectStoragePath, root: ObjectStoragePath) -> ObjectStoragePath:
    """`path`, 404 unless it is `root` or below it (by key; on the local filesystem with links resolved)."""
    if not storage.inside(path, root):
        raise HTTPException(404, "not found")
    return path


def child_of(root: ObjectStoragePath, *keys: str) -> ObjectStoragePath:
    """root/keys inside root; 404 for a key that is empty, absolute, climbs (..) or leaves it."""
    try:
        return inside(storage.child(root, *keys), root)
    except storage.UnsafeKey:
        raise HTTPException(404, "not found") from None


def run_folder(spec: str, run_id: str) -> ObjectStoragePath:
    """<base>/<spec>/<run_id>/ of a run; the spec must be a spec name, the folder inside the base."""
    if not SPEC_NAME.match(spec):
        raise HTTPException(404, f"no spec named {spec!r}")
    try:
        folder = storage.run_path(spec, run_id)
    except storage.UnsafeKey:
        raise HTTPException(404, "not found") from None
    return inside(folder, storage.base())


def run_file(spec: str, run_id: str, name: str) -> ObjectStoragePath:
    """A file directly in a run's folder: a plain name, inside that folder, existing."""
    if not FILE_NAME.match(name):
        raise HTTPException(404, "not found")
    folder = run_folder(spec, run_id)
    path = child_of(folder, name)
    if not storage.is_file(path):
        raise HTTPException(404, f"{name} is not in the folder of run {run_id} of spec {spec}")
    return path


def folder_files(spec: str, run_id: str) -> list[str]:
    try:
        folder = run_folder(spec, run_id)
    except HTTPException:
        return []
    return storage.files_in(folder)


def served(
    path: ObjectStoragePath, policy: str, media_type: str | None = None, filename: str | None = None
) -> StreamingResponse:
    """A stored file as the answer, streamed from storage, under the Content-Security-Policy `policy`."""
    headers = {"Content-Security-Policy": policy}
    if filename:  # a plain name (the callers make it so), as Starlette's FileResponse sends it
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        storage.chunks(path), media_type=media_type or storage.media_type(path.name), headers=headers
    )
