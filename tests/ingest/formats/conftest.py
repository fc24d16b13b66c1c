"""Shared helpers of the export-parser tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[3]
try:  # the package is normally installed (make install); fall back to the source tree
    import kefu.ingest.formats  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

EXPORTS = ROOT / "tests" / "fixtures" / "exports"


def check_parsed(parsed) -> None:
    """The contract every Parsed must keep, whatever the input."""
    rows = sum(t.num_rows for t in parsed.tables.values())
    assert parsed.read == rows + len(parsed.rejects)
    for name, table in parsed.tables.items():
        assert table.column_names[-1] == "_line", name
        assert table.schema.field("_line").type == pa.int64()
        for field in table.schema:
            if field.name != "_line":
                assert field.type == pa.string(), (name, field.name)
        assert all(v >= 1 for v in table.column("_line").to_pylist())
    for reject in parsed.rejects:
        assert reject.line >= 0 and len(reject.raw) <= 500 and reject.reason


@pytest.fixture
def exports() -> Path:
    return EXPORTS


@pytest.fixture
def write(tmp_path):
    """write(text, name="chat.txt", encoding="utf-8") -> path of a new file."""

    def _write(text: str, name: str = "chat.txt", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


@pytest.fixture
def check():
    return check_parsed
