"""Parsers for the files shops really export.

``detect(path)`` names the export format of a file (None for canonical files),
``parse(path, shop=…, agents=…)`` turns it into raw canonical tables of string
columns plus ``_line``, for the import pipeline to validate like any canonical
file. See docs/import-formats.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from . import qianniu
from .common import FormatError, Parsed, Reject, file_error
from .detect import (
    OLE_MAGIC,
    ORDER_FORMATS,
    PREFIX_BYTES,
    ZIP_MAGIC,
    classify_text,
    classify_xlsx_rows,
    detect,
)
from .encoding import decode
from .orders import csv_records, xlsx_records

__all__ = ["FORMATS", "FormatError", "Parsed", "Reject", "detect", "parse", "refuse_unreadable"]

FORMATS = (qianniu.FORMAT, *ORDER_FORMATS)
LEGACY_XLS = "legacy Excel .xls workbook: save it as .xlsx or CSV first"
_NO_AGENTS: Mapping[str, str] = MappingProxyType({})


def parse(
    path: Path, *, shop: str | None = None, agents: Mapping[str, str] = _NO_AGENTS, data: bytes | None = None
) -> Parsed:
    """Parse a real export (`data`: its content, when already read); FormatError when the whole file cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes() if data is None else data
    except OSError as e:
        raise file_error(path, f"cannot read the file ({e.strerror or e})") from None
    if data.startswith(ZIP_MAGIC):
        return _parse_xlsx(data, path, shop)
    if data.startswith(OLE_MAGIC):
        raise file_error(path, LEGACY_XLS)
    text, encoding = decode(data, path)
    fmt = classify_text(text[:PREFIX_BYTES], path.suffix)
    if fmt == qianniu.FORMAT:
        tables, rejects, read = qianniu.parse_text(text, path, shop, agents)
    elif fmt in ORDER_FORMATS:
        lines, records = csv_records(text)
        tables, rejects, read = ORDER_FORMATS[fmt].parse_records(records, lines, path, _order_shop(shop, path))
    else:
        raise file_error(path, "not a known export (千牛 chat, 淘宝/天猫 or 京东 order export)")
    return Parsed(fmt, encoding, tables, rejects, read)


def refuse_unreadable(path: Path, data: bytes) -> None:
    """FormatError when the bytes alone say why no parser can read the file: a legacy .xls
    workbook, or text that does not decode (a BOM before GBK, UTF-16 without a BOM, binary)."""
    if data.startswith(OLE_MAGIC):
        raise file_error(path, LEGACY_XLS)
    if not data.startswith(ZIP_MAGIC):
        decode(data, path)


def _parse_xlsx(data: bytes, path: Path, shop: str | None) -> Parsed:
    rows = list(xlsx_records(data, path))
    fmt = classify_xlsx_rows(rows)
    if fmt is None:
        raise file_error(path, "workbook without a 淘宝/天猫 or 京东 order header row")
    tables, rejects, read = ORDER_FORMATS[fmt].parse_records(iter(rows), None, path, _order_shop(shop, path))
    return Parsed(fmt, "xlsx", tables, rejects, read)


def _order_shop(shop: str | None, path: Path) -> str:
    if not shop:  # order exports do not say which shop they belong to
        raise file_error(path, "order exports do not name the shop: import them with shop=<shop>")
    return shop
