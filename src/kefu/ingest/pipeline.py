"""Import files into a workspace: read → validate in the engine → store, as one transaction.

Per file and table, `read = accepted + rejected`; rejected rows are kept in
`rejects` with file, line and reason; accepted rows that are already stored
are counted as duplicates, not added again (docs/decisions.md D14).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kefu.ingest import formats
from kefu.ingest.readers import CANONICAL_SUFFIXES, RawFile, ReadError, read_canonical
from kefu.ingest.stage import conflict_sql, lit, missing_required, q, staging_sql, stored_columns
from kefu.schema import TABLES, Table, table_for_file
from kefu.workspace import Workspace, transaction

Progress = Callable[[str, int, int], None]  # (file, done, total)
FIRST_PROBLEMS = 5
TOUCHING = ("messages", "orders")  # tables the derived tables are computed from, per shop and buyer


@dataclass
class FileReport:
    file: str
    table: str = ""
    format: str = ""
    encoding: str = ""
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    added: int = 0
    skipped: bool = False  # the same content was imported before
    error: str | None = None  # the whole file could not be read
    problems: list[tuple[int, str]] = field(default_factory=list)  # the first rejected lines and reasons

    @property
    def duplicates(self) -> int:
        return self.accepted - self.added


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files named, and every file inside folders named; agents first (chat parsing needs them)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))
        else:
            files.append(path)
    return sorted(files, key=lambda p: (p.stem.lower() != "agents", str(p)))


def import_paths(
    ws: Workspace,
    paths: Iterable[Path],
    *,
    shop: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[FileReport]:
    """Import every file; on any unexpected error nothing is kept. With `dry_run`, nothing is kept either.

    Keyed tables (agents, orders, refunds) are stored file by file, in order, so a
    later export replaces an earlier one and chat files see the agents imported
    with them; the keyless tables of all files are validated and stored in one
    pass per table and column layout (a folder of 10,000 chat files is one batch).
    """
    from kefu.metrics.derived import Changes, refresh_cube

    files = expand(paths)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    con = ws.con
    with transaction(con, commit=not dry_run):
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0]
        reports: list[FileReport] = []
        batches: dict[tuple, list[Pending]] = {}
        seen: dict[str, list[str]] = {}
        for sha, tbl in con.execute("SELECT sha256, tbl FROM imports WHERE read IS NOT NULL").fetchall():
            seen.setdefault(sha, []).append(tbl)
        roster = Roster(ws)
        changes = Changes.start(ws)
        for done, path in enumerate(files):
            reports += _import_file(ws, path, import_id, shop, batches, seen, roster)
            if progress:
                progress(str(path), done + 1, len(files))
        for items in batches.values():
            reports += _import_batch(ws, items, import_id)
        if any(r.added for r in reports):
            changes.refresh_derived()
            refresh_cube(ws)
    order = {str(path): i for i, path in enumerate(files)}
    return sorted(reports, key=lambda r: (order.get(r.file, 0), r.table != "messages", r.table))


class Roster:
    """Known account → shop, for chat files: read once per import, again after agents were stored."""

    def __init__(self, ws: Workspace):
        self.ws, self._accounts = ws, None

    def accounts(self) -> dict[str, str]:
        if self._accounts is None:
            self._accounts = dict(self.ws.con.execute("SELECT agent, shop FROM agents").fetchall())
        return self._accounts

    def changed(self) -> None:
        self._accounts = None


@dataclass
class Pending:
    """One file's rows of one table, read and waiting to be validated and stored."""

    path: Path
    sha: str
    table: Table
    raw: RawFile
    format: str
    encoding: str


def _import_file(
    ws: Workspace, path: Path, import_id: int, shop: str | None, batches: dict, seen: dict[str, list[str]], roster: Roster
) -> list[FileReport]:
    """Read one file; store its keyed tables now and queue the others. `seen`: sha256 → tables imported before."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if sha in seen:
        return [FileReport(str(path), tbl, skipped=True) for tbl in seen[sha]]
    try:
        fmt, encoding, raws = _read(path, data, shop, roster)
    except (ReadError, formats.FormatError) as exc:
        report = FileReport(str(path), error=str(exc))
        _ledger(ws, import_id, [(sha, report)])
        _store_rejects(ws, import_id, str(path), "", [formats.Reject(0, str(exc), "")])
        return [report]
    reports = []
    for table, raw in raws.items():
        item = Pending(path, sha, table, raw, fmt, raw.encoding or encoding)
        if table.key:
            reports += _import_batch(ws, [item], import_id)
            if table.name == "agents":
                roster.changed()
        else:
            batches.setdefault((table.name, tuple(raw.table.column_names)), []).append(item)
    return reports


def _read(path: Path, data: bytes, shop: str | None, roster: Roster) -> tuple[str, str, dict[Table, RawFile]]:
    """Which tables the file holds, as raw string tables."""
    canonical = table_for_file(path.stem) if path.suffix.lower() in CANONICAL_SUFFIXES else None
    if canonical:
        raw = read_canonical(path, data)
        absent = missing_required(canonical, set(raw.table.column_names) | ({"shop"} if shop else set()))
        if absent:
            raise ReadError(f"{path}: missing required column(s) {', '.join(absent)} for table {canonical.name}")
        if shop and "shop" not in raw.table.column_names:
            raw.table = raw.table.append_column("shop", pa.array([shop] * raw.table.num_rows, pa.string()))
        return "canonical", raw.encoding, {canonical: raw}
    fmt = formats.detect(path, data)
    if fmt is None:
        names = ", ".join(TABLES)
        raise ReadError(f"{path}: not a known export and the name does not say which table it is (canonical files are named {names})")
    parsed = formats.parse(path, shop=shop, agents=roster.accounts(), data=data)
    raws = {TABLES[name]: RawFile(tbl) for name, tbl in parsed.tables.items()}
    if parsed.rejects:  # records the parser could not read count against the file's main table
        main = next(iter(raws), None) or TABLES["messages"]
        raws.setdefault(main, RawFile(pa.table({"_line": pa.array([], pa.int64())})))
        raws[main].rejects = list(parsed.rejects)
    return parsed.format, parsed.encoding, raws


def _import_batch(ws: Workspace, items: list[Pending], import_id: int) -> list[FileReport]:
    """Validate and store one table's rows from one or more files with the same columns."""
    con, table = ws.con, items[0].table
    parts = []
    for number, item in enumerate(items):
        _store_rejects(ws, import_id, str(item.path), table.name, item.raw.rejects)
        rows = item.raw.table
        seq = pc.add(pc.multiply(pa.scalar(number, pa.int64()), 1 << 32), rows["_line"])
        parts.append(rows.append_column("_file", pa.array([str(item.path)] * rows.num_rows, pa.string())).append_column("_seq", seq))
    batch = pa.concat_tables(parts)
    con.register("raw_input", batch)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {staging_sql(table, 'raw_input', batch.column_names)}")
    finally:
        con.unregister("raw_input")
    if table.key:
        _reject_key_conflicts(con, table)
    con.execute(
        f"""INSERT INTO rejects SELECT {import_id}, src_file, src_line, {lit(table.name)}, _reason, _raw
            FROM staged WHERE _reason IS NOT NULL"""
    )
    rejected = dict(con.execute("SELECT src_file, count(*) FROM staged WHERE _reason IS NOT NULL GROUP BY 1").fetchall())
    added = _store(con, table)
    problems: dict[str, list] = {}
    for file, line, reason in con.execute(
        """SELECT file, line, reason FROM rejects WHERE import_id = ? AND tbl = ?
           QUALIFY row_number() OVER (PARTITION BY file ORDER BY line) <= ? ORDER BY file, line""",
        [import_id, table.name, FIRST_PROBLEMS],
    ).fetchall():
        problems.setdefault(file, []).append((line, reason))
    reports = []
    for item in items:
        label = str(item.path)
        report = FileReport(label, table.name, item.format, item.encoding, read=item.raw.read)
        report.rejected = rejected.get(label, 0) + len(item.raw.rejects)
        report.accepted = report.read - report.rejected
        report.added = added.get(label, 0)
        report.problems = problems.get(label, [])
        reports.append(report)
    _ledger(ws, import_id, [(item.sha, report) for item, report in zip(items, reports, strict=True)])
    return reports


def _reject_key_conflicts(con, table: Table) -> None:
    key_text = " || '/' || ".join(f"{q(k)}::VARCHAR" for k in table.key)
    con.execute(
        f"""UPDATE staged SET _reason = {lit(table.key[0] + ' ')} || c.key_text ||
                   ' appears on line ' || c.first_line || ' of this file with different values'
            FROM (SELECT src_line, first_line, {key_text} AS key_text FROM ({conflict_sql(table, 'staged')}) WHERE differs) c
            WHERE staged.src_line = c.src_line"""
    )


def _store(con, table: Table) -> dict[str, int]:
    """Insert accepted rows not already stored; keyed tables replace rows with the same key.
    Returns the rows added per source file."""
    columns = ", ".join(q(c) for c in stored_columns(table))
    con.execute(f"CREATE OR REPLACE TEMP TABLE fresh AS WITH {_first_occurrences(table)} {_unseen(con, table)}")
    if table.name in TOUCHING:  # the conversations whose derived rows must be recomputed
        con.execute("INSERT INTO touched SELECT DISTINCT shop, buyer FROM fresh")
    if table.key:
        match = " AND ".join(f"t.{q(k)} = f.{q(k)}" for k in table.key)
        if table.name in TOUCHING:
            con.execute(f"INSERT INTO touched SELECT DISTINCT shop, buyer FROM {q(table.name)} t WHERE EXISTS (SELECT 1 FROM fresh f WHERE {match})")
        con.execute(f"DELETE FROM {q(table.name)} t WHERE EXISTS (SELECT 1 FROM fresh f WHERE {match})")
    con.execute(f"INSERT INTO {q(table.name)} ({columns}) SELECT {columns} FROM fresh")
    return dict(con.execute("SELECT src_file, count(*) FROM fresh GROUP BY 1").fetchall())


def _row_hash(table: Table) -> str:
    """A 64-bit hash of a row's natural key. Equal keys hash equal, so a hash seen once is a key
    seen once; only rows whose hashes match are compared column by column (exact, and cheap)."""
    return f"hash({', '.join(q(c) for c in table.dedup_columns)})"


def _first_occurrences(table: Table) -> str:
    """CTE `incoming`: the accepted rows, each natural key once (its first row in file order).
    Not materialised: recomputing the hash is cheaper than copying every row again."""
    dedup = ", ".join(q(c) for c in table.dedup_columns)
    rest = [c for c in stored_columns(table) if c not in table.dedup_columns]
    firsts = ", ".join(f"arg_min({q(c)}, _seq) AS {q(c)}" for c in rest)
    row_hash = _row_hash(table)
    return f"""repeated AS MATERIALIZED (SELECT {row_hash} AS _h FROM staged WHERE _reason IS NULL GROUP BY 1 HAVING count(*) > 1),
        incoming AS NOT MATERIALIZED (
            SELECT * EXCLUDE (_reason, _raw, _seq), {row_hash} AS _h FROM staged
            WHERE _reason IS NULL AND {row_hash} NOT IN (SELECT _h FROM repeated)
            UNION ALL BY NAME
            SELECT {dedup}, {row_hash} AS _h, {firsts} FROM staged
            WHERE _reason IS NULL AND {row_hash} IN (SELECT _h FROM repeated) GROUP BY {dedup})"""


def _unseen(con, table: Table) -> str:
    """SELECT of the incoming rows not already stored with the same values (the same key and values, for keyed tables)."""
    if not con.execute(f"SELECT count(*) FROM {q(table.name)}").fetchone()[0]:
        return "SELECT * FROM incoming"
    same = " AND ".join(f"i.{q(c)} IS NOT DISTINCT FROM t.{q(c)}" for c in table.column_names)
    return f""", stored_hashes AS MATERIALIZED (
            SELECT DISTINCT _h FROM (SELECT {_row_hash(table)} AS _h FROM {q(table.name)}) SEMI JOIN incoming USING (_h)),
        candidates AS (SELECT * FROM {q(table.name)} WHERE {_row_hash(table)} IN (SELECT _h FROM stored_hashes))
        SELECT * FROM incoming WHERE _h NOT IN (SELECT _h FROM stored_hashes)
        UNION ALL BY NAME
        SELECT i.* FROM incoming i WHERE _h IN (SELECT _h FROM stored_hashes)
        AND NOT EXISTS (SELECT 1 FROM candidates t WHERE {same})"""


def _store_rejects(ws: Workspace, import_id: int, file: str, table: str, rejects: list[formats.Reject]) -> None:
    if rejects:
        _insert_rows(ws, "rejects", ["import_id", "file", "line", "tbl", "reason", "raw"],
                     [(import_id, file, r.line, table, r.reason, r.raw) for r in rejects])


def _ledger(ws: Workspace, import_id: int, entries: list[tuple[str, FileReport]]) -> None:
    columns = ["import_id", "file", "sha256", "format", "encoding", "tbl", "read", "accepted", "rejected", "added"]
    _insert_rows(ws, "imports", columns, [
        (import_id, r.file, sha, r.format, r.encoding, r.table, None if r.error else r.read, r.accepted, r.rejected, r.added)
        for sha, r in entries
    ])


def _insert_rows(ws: Workspace, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Many rows in one statement (DuckDB's executemany runs one statement per row)."""
    if not rows:
        return
    ws.con.register("new_rows", pa.table(dict(zip(columns, map(list, zip(*rows))))))
    try:
        ws.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
    finally:
        ws.con.unregister("new_rows")
