"""Import files into a workspace: read → validate in the engine → store, as one transaction.

Per file and table, `read = accepted + rejected`; rejected rows are kept in
`rejects` with file, line and reason. Accepted rows are new (新增), updates of a
stored record (更新, keyed tables: the record moved forward in its lifecycle) or
duplicates (重复: already stored, or an older state of a stored record);
docs/decisions.md D14.
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
from kefu.schema import HISTORY, TABLES, Table, create_as_sql, table_for_file
from kefu.workspace import Workspace, scalar, transaction

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
    updated: int = 0  # stored records this file moved to a later state
    changed: dict[str, int] = field(default_factory=dict)  # column -> records of `updated` whose value it changed
    skipped: bool = False  # the same content was imported before
    error: str | None = None  # the whole file could not be read
    problems: list[tuple[int, str]] = field(default_factory=list)  # the first rejected lines and reasons

    @property
    def duplicates(self) -> int:
        return self.accepted - self.added - self.updated

    @property
    def changes(self) -> str | None:
        """`paid_at 3, status 5`: how many updated records each column changed in."""
        return ", ".join(f"{name} {n}" for name, n in sorted(self.changed.items())) or None


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
    file's records are merged with those stored before it (by their lifecycle) and
    chat files see the agents imported with them; the keyless tables of all files are validated and stored in one
    pass per table and column layout (a folder of 10,000 chat files is one batch).
    """
    from kefu.derive import Changes, refresh_cube

    files = expand(paths)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    con = ws.con
    with transaction(con, commit=not dry_run):
        import_id = scalar(con, "SELECT coalesce(max(import_id), 0) + 1 FROM imports")
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
        if any(r.added or r.updated for r in reports):
            changes.refresh_derived()
            refresh_cube(ws)
    order = {str(path): i for i, path in enumerate(files)}
    return sorted(reports, key=lambda r: (order.get(r.file, 0), r.table != "messages", r.table))


class Roster:
    """Known account → shop, for chat files: read once per import, again after agents were stored."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._accounts: dict[str, str] | None = None

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
    ws: Workspace,
    path: Path,
    import_id: int,
    shop: str | None,
    batches: dict,
    seen: dict[str, list[str]],
    roster: Roster,
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
        formats.refuse_unreadable(path, data)  # a legacy .xls, UTF-16 without a BOM, binary: say so
        names = ", ".join(TABLES)
        raise ReadError(
            f"{path}: not a known export and the name does not say which table it is (canonical files are named {names})"
        )
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
        parts.append(
            rows.append_column("_file", pa.array([str(item.path)] * rows.num_rows, pa.string())).append_column(
                "_seq", seq
            )
        )
    batch = pa.concat_tables(parts)
    con.register("raw_input", batch)
    try:
        con.execute(create_as_sql("staged", staging_sql(table, "raw_input", batch.column_names), temp=True))
    finally:
        con.unregister("raw_input")
    if table.key:
        _reject_key_conflicts(con, table)
    con.execute(
        f"""INSERT INTO rejects SELECT {import_id}, src_file, src_line, {lit(table.name)}, _reason, _raw
            FROM staged WHERE _reason IS NOT NULL"""
    )
    rejected = dict(
        con.execute("SELECT src_file, count(*) FROM staged WHERE _reason IS NOT NULL GROUP BY 1").fetchall()
    )
    stored = _store(con, table, import_id)
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
        report.added, report.updated, report.changed = stored.get(label, (0, 0, {}))
        report.problems = problems.get(label, [])
        reports.append(report)
    _ledger(ws, import_id, [(item.sha, report) for item, report in zip(items, reports, strict=True)])
    return reports


def _reject_key_conflicts(con, table: Table) -> None:
    named = [k for k in table.key_columns if k != "shop"] or list(
        table.key_columns
    )  # a file's rows are of one shop, mostly
    key_text = " || '/' || ".join(f"{q(k)}::VARCHAR" for k in named)
    con.execute(
        f"""UPDATE staged SET _reason = {lit("/".join(named) + " ")} || c.key_text ||
                   ' appears on line ' || c.first_line || ' of this file with different values'
            FROM (SELECT src_line, first_line, {key_text} AS key_text FROM ({conflict_sql(table, "staged")}) WHERE differs) c
            WHERE staged.src_line = c.src_line"""
    )


Stored = dict[str, tuple[int, int, dict[str, int]]]  # source file -> (added, updated, changed columns)


def _store(con, table: Table, import_id: int) -> Stored:
    """Store the accepted rows of `staged`: keyed tables merge them with the stored records, the
    others add the copies not already stored. Returns what each source file added and updated."""
    if table.key:
        return _merge(con, table, import_id)
    columns = ", ".join(q(c) for c in stored_columns(table))
    con.execute(create_as_sql("fresh", f"WITH {_copies(table)} {_beyond_stored(con, table)}", temp=True))
    if table.name in TOUCHING:  # the conversations whose derived rows must be recomputed
        con.execute("INSERT INTO touched SELECT DISTINCT shop, buyer FROM fresh")
    con.execute(f"INSERT INTO {q(table.name)} ({columns}) SELECT {columns} FROM fresh")
    return {file: (n, 0, {}) for file, n in con.execute("SELECT src_file, count(*) FROM fresh GROUP BY 1").fetchall()}


def _row_hash(table: Table) -> str:
    """A 64-bit hash of a row's natural key (the whole row for multiset tables). Equal keys hash
    equal; only rows whose hashes match are compared column by column (exact, and cheap)."""
    return f"hash({', '.join(q(c) for c in table.dedup_columns)})"


def _copies(table: Table) -> str:
    """CTE `incoming`: the accepted rows of a multiset table, each with `_occ`, its occurrence
    number among the identical rows of its file (D14). Identical rows of several files of the batch
    count like separate imports: occurrence k is kept once, from the first file that has it.
    Only rows whose hash repeats are numbered; the others are occurrence 1 (not materialised:
    recomputing the hash is cheaper than copying every row again)."""
    row = ", ".join(q(c) for c in table.dedup_columns)
    row_hash = _row_hash(table)
    return f"""repeated AS MATERIALIZED (SELECT {row_hash} AS _h FROM staged WHERE _reason IS NULL GROUP BY 1 HAVING count(*) > 1),
        incoming AS NOT MATERIALIZED (
            SELECT * EXCLUDE (_reason, _raw, _seq), {row_hash} AS _h, 1 AS _occ FROM staged
            WHERE _reason IS NULL AND {row_hash} NOT IN (SELECT _h FROM repeated)
            UNION ALL BY NAME
            SELECT * EXCLUDE (_reason, _raw, _seq) FROM (
                SELECT *, {row_hash} AS _h, row_number() OVER (PARTITION BY {row}, src_file ORDER BY _seq) AS _occ FROM staged
                WHERE _reason IS NULL AND {row_hash} IN (SELECT _h FROM repeated))
            QUALIFY row_number() OVER (PARTITION BY {row}, _occ ORDER BY _seq) = 1)"""


def _beyond_stored(con, table: Table) -> str:
    """SELECT of the incoming copies beyond those stored: occurrence k of a row is new when fewer
    than k identical rows are stored."""
    if not con.execute(f"SELECT count(*) FROM {q(table.name)}").fetchone()[0]:
        return "SELECT * FROM incoming"
    row = ", ".join(q(c) for c in table.column_names)
    same = " AND ".join(f"i.{q(c)} IS NOT DISTINCT FROM c.{q(c)}" for c in table.column_names)
    return f""", stored_hashes AS MATERIALIZED (
            SELECT DISTINCT _h FROM (SELECT {_row_hash(table)} AS _h FROM {q(table.name)}) SEMI JOIN incoming USING (_h)),
        stored_counts AS (SELECT {row}, count(*) AS _stored FROM {q(table.name)}
                          WHERE {_row_hash(table)} IN (SELECT _h FROM stored_hashes) GROUP BY {row})
        SELECT * FROM incoming WHERE _h NOT IN (SELECT _h FROM stored_hashes)
        UNION ALL BY NAME
        SELECT i.* FROM incoming i LEFT JOIN stored_counts c ON {same}
        WHERE i._h IN (SELECT _h FROM stored_hashes) AND i._occ > coalesce(c._stored, 0)"""


def _merge(con, table: Table, import_id: int) -> Stored:
    """Merge a keyed table's accepted rows into the stored records, set-based (operations.md §1):
    `fresh` holds every new record and every stored record the rows change, merged, beside the
    stored values (`_old_<column>`); the replaced versions go to the history table."""
    name, columns = q(table.name), stored_columns(table)
    con.execute(create_as_sql("incoming", f"WITH {_one_per_key(table)} SELECT * FROM incoming", temp=True))
    match = " AND ".join(f"t.{q(k)} = i.{q(k)}" for k in table.key_columns)
    old = ", ".join(f"t.{q(c)} AS {q('_old_' + c)}" for c in columns)
    merged = ", ".join(f"{_merged(table, c)} AS {q(c)}" for c in columns)
    differs = [f"{q(c)} IS DISTINCT FROM {q('_old_' + c)}" for c in table.column_names]
    merge = f"""SELECT * FROM (
            SELECT {merged}, {", ".join(q("_old_" + c) for c in table.column_names)}, _new, _from FROM (
                SELECT i.*, {old}, t.{q(table.key_columns[0])} IS NULL AS _new, {_wins(table)} AS _wins, i.src_file AS _from
                FROM incoming i LEFT JOIN {name} t ON {match}))
        WHERE _new OR {" OR ".join(differs)}"""
    con.execute(create_as_sql("fresh", merge, temp=True))
    replaced = f"{name} t WHERE EXISTS (SELECT 1 FROM fresh i WHERE NOT i._new AND {match})"
    if table.name in TOUCHING:  # the conversations whose derived rows must be recomputed, before and after
        con.execute(
            f"INSERT INTO touched SELECT DISTINCT shop, buyer FROM fresh UNION SELECT DISTINCT shop, buyer FROM {replaced}"
        )
    if table.name in HISTORY:
        con.execute(f"INSERT INTO {q(HISTORY[table.name])} BY NAME SELECT *, {import_id} AS import_id FROM {replaced}")
    con.execute(f"DELETE FROM {replaced}")
    listed = ", ".join(q(c) for c in columns)
    con.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM fresh")
    per_column = ", ".join(f"count(*) FILTER (NOT _new AND {d})" for d in differs)
    found: Stored = {}
    for file, added, updated, *changed in con.execute(
        f"SELECT _from, count(*) FILTER (_new), count(*) FILTER (NOT _new), {per_column} FROM fresh GROUP BY 1"
    ).fetchall():
        found[file] = (added, updated, {c: n for c, n in zip(table.column_names, changed, strict=True) if n})
    return found


def _wins(table: Table) -> str:
    """Whether the incoming row `i` is the later version of the stored record `t` (true when none is stored).
    The source's modification time decides where both have one, then the lifecycle rank where both
    have a known status; otherwise (and on a tie) the later import wins."""
    cases = [f"WHEN t.{q(table.key_columns[0])} IS NULL THEN true"]
    life = table.lifecycle
    if life and life.modified:
        m = q(life.modified)
        cases.append(f"WHEN i.{m} IS NOT NULL AND t.{m} IS NOT NULL AND i.{m} <> t.{m} THEN i.{m} > t.{m}")
    if life:
        ranks = " ".join(f"WHEN {lit(s)} THEN {n}" for n, states in enumerate(life.ranks) for s in states)
        rank_i, rank_t = (f"(CASE lower({side}.{q(life.status)}) {ranks} END)" for side in "it")
        cases.append(
            f"WHEN {rank_i} IS NOT NULL AND {rank_t} IS NOT NULL AND {rank_i} <> {rank_t} THEN {rank_i} > {rank_t}"
        )
    return f"CASE {' '.join(cases)} ELSE true END"


def _merged(table: Table, column: str) -> str:
    """A column of the merged record: the later version's value; for a record with a lifecycle, a
    known value of an optional column is kept when the later version lacks it (a known paid_at is
    never erased)."""
    new, old = q(column), q("_old_" + column)
    if table.lifecycle and column in table.column_names and not table.column(column).required:
        return f"CASE WHEN _wins THEN coalesce({new}, {old}) ELSE coalesce({old}, {new}) END"
    return f"CASE WHEN _wins THEN {new} ELSE {old} END"


def _one_per_key(table: Table) -> str:
    """CTE `incoming`: the accepted rows of a keyed table, each key once (its first row in file order;
    rows with the same key and other values were rejected before). Only keys whose hash repeats
    are grouped."""
    key = ", ".join(q(c) for c in table.key_columns)
    rest = [c for c in stored_columns(table) if c not in table.key_columns]
    firsts = ", ".join(f"arg_min({q(c)}, _seq) AS {q(c)}" for c in rest)
    key_hash = _row_hash(table)
    return f"""repeated AS MATERIALIZED (SELECT {key_hash} AS _h FROM staged WHERE _reason IS NULL GROUP BY 1 HAVING count(*) > 1),
        incoming AS (
            SELECT * EXCLUDE (_reason, _raw, _seq) FROM staged WHERE _reason IS NULL AND {key_hash} NOT IN (SELECT _h FROM repeated)
            UNION ALL BY NAME
            SELECT {key}, {firsts} FROM staged WHERE _reason IS NULL AND {key_hash} IN (SELECT _h FROM repeated) GROUP BY {key})"""


def _store_rejects(ws: Workspace, import_id: int, file: str, table: str, rejects: list[formats.Reject]) -> None:
    if rejects:
        _insert_rows(
            ws,
            "rejects",
            ["import_id", "file", "line", "tbl", "reason", "raw"],
            [(import_id, file, r.line, table, r.reason, r.raw) for r in rejects],
        )


def _ledger(ws: Workspace, import_id: int, entries: list[tuple[str, FileReport]]) -> None:
    columns = [
        "import_id",
        "file",
        "sha256",
        "format",
        "encoding",
        "tbl",
        "read",
        "accepted",
        "rejected",
        "added",
        "updated",
        "changed",
    ]
    _insert_rows(
        ws,
        "imports",
        columns,
        [
            (
                import_id,
                r.file,
                sha,
                r.format,
                r.encoding,
                r.table,
                None if r.error else r.read,
                r.accepted,
                r.rejected,
                r.added,
                r.updated,
                r.changes,
            )
            for sha, r in entries
        ],
    )


def _insert_rows(ws: Workspace, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Many rows in one statement (DuckDB's executemany runs one statement per row)."""
    if not rows:
        return
    ws.con.register("new_rows", pa.table(dict(zip(columns, map(list, zip(*rows))))))
    try:
        ws.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
    finally:
        ws.con.unregister("new_rows")
