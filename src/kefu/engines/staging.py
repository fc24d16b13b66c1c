"""The workspace's canonical tables as Parquet files, one folder per table, for an engine that reads files (Spark).

DuckDB writes each table once (`COPY … TO … (FORMAT parquet)`, no row passes through Python) into
`WS/.spark/<stamp>/<table>/`, where the stamp names the workspace's last import: a new import gives a new
folder, a repeated run reuses the one there. A folder is written under a temporary name and renamed when
complete, so a reader never sees half an export, and two processes exporting at once both end with the same
files. `KEFU_SPARK_STAGING` puts the folders elsewhere (a shared or mounted folder a cluster's workers can read,
when kefu.duckdb stays on a local disk). This is the layout the Parquet storage layer (issue 14, item 1) will
make the primary store; readers take a folder per table (kefu.engines.spark.read_tables).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from kefu.metrics.derived import CANONICAL
from kefu.workspace import Workspace, fetch_one

#: Import bookkeeping no metric reads: left out of the export (as the engines' sources leave it out).
BOOKKEEPING = ("extra", "src_file", "src_line")
#: The export's own version: raise it when what is written changes, so older folders are written again.
LAYOUT = 1
STAGING_ENV = "KEFU_SPARK_STAGING"
FOLDER = ".spark"
COMPLETE = "_COMPLETE"  # written last inside a folder before it gets its final name


def stamp(ws: Workspace) -> str:
    """What the exported files depend on: the last import (its id and the ledger's rows, as one import writes
    a row per file) and the layout."""
    rows, last = fetch_one(ws.con, "SELECT count(*), coalesce(max(import_id), 0) FROM imports")
    return f"v{LAYOUT}-import{last}-{rows}"


def staging_root(ws: Workspace) -> Path:
    """Where a workspace's exports live: WS/.spark, or a folder of its own under KEFU_SPARK_STAGING; an in-memory
    workspace (a folder of files read for one command) gets a temporary folder removed when the process ends."""
    shared = os.environ.get(STAGING_ENV)
    if ws.path is None:
        return _temporary(Path(shared) if shared else None)
    if shared:
        where = Path(ws.path).resolve()
        return Path(shared) / f"{where.name}-{hashlib.sha1(str(where).encode()).hexdigest()[:10]}"
    return Path(ws.path) / FOLDER


def export_canonical(ws: Workspace, root: Path | None = None) -> dict[str, Path]:
    """The folder of each canonical table's Parquet files for the workspace's current data, written if missing."""
    root = root or staging_root(ws)
    target = root / stamp(ws)
    if not (target / COMPLETE).exists():
        _write(ws, root, target)
        _remove_older(root, keep=target)
    return {name: target / name for name in CANONICAL}


def _write(ws: Workspace, root: Path, target: Path) -> None:
    partial = root / f".partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    partial.mkdir(parents=True)
    try:
        for name in CANONICAL:
            (partial / name).mkdir()
            file = str(partial / name / "part-0.parquet").replace("'", "''")
            ws.con.execute(
                f'COPY (SELECT * EXCLUDE ({", ".join(BOOKKEEPING)}) FROM "{name}") '
                f"TO '{file}' (FORMAT parquet, COMPRESSION zstd)"
            )
        (partial / COMPLETE).touch()
        try:
            partial.rename(target)
        except OSError:  # another process finished the same export first: its files are the same
            if not (target / COMPLETE).exists():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _remove_older(root: Path, keep: Path, after_s: float = 900) -> None:
    """Exports of earlier imports (and partial ones a killed process left) are removed once untouched for
    `after_s`: a command started before the import may still be reading them."""
    now = time.time()
    for folder in root.iterdir():
        ours = folder.is_dir() and folder.name.startswith(("v", ".partial-"))
        if ours and folder != keep and now - folder.stat().st_mtime > after_s:
            shutil.rmtree(folder, ignore_errors=True)


def _temporary(parent: Path | None) -> Path:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="kefu-staging-", dir=parent))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
