"""Decoding of exported text files.

Chinese exports are UTF-8 (千牛 newer versions, files re-saved as "CSV UTF-8"
by Excel, which adds a BOM) or GBK (千牛 older versions, every 淘宝/天猫
ExportOrderList, anything saved as "CSV" by Excel on a Chinese Windows). GBK is
decoded as GB18030, its superset, so that characters outside GBK (emoji, rare
name characters) also decode. Both decoders are strict: a byte sequence that is
invalid in both encodings is an error, never a silent replacement character.
A NUL byte is an error too, named as UTF-16 without a BOM or as a binary file.
Canonical CSV files (kefu.ingest.readers) are decoded here as well.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from .common import file_error

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Return (text, encoding name) or raise FormatError naming the bad byte."""
    if data.startswith(UTF8_BOM):
        # A BOM is a UTF-8 promise: if the rest is not UTF-8, the file is damaged
        # (re-reading it as GB18030 would turn the BOM into 锘� garbage).
        try:
            return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise file_error(
                path, f"starts with a UTF-8 BOM but byte offset {e.start + len(UTF8_BOM)} is not valid UTF-8"
            ) from None
    if data.startswith(UTF16_BOMS):
        # Excel's "Unicode 文本" save: UTF-16 with a BOM.
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise file_error(path, f"UTF-16 text with an invalid byte at offset {e.start}") from None
    nul = data.find(b"\0")
    if nul >= 0:  # no text encoding kefu reads has NUL bytes, UTF-16 aside
        raise file_error(path, _nul_reason(data, nul))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        utf8_offset = e.start
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        raise file_error(
            path,
            f"not UTF-8 and not GBK/GB18030 text: invalid byte 0x{data[e.start]:02X} at offset "
            f"{e.start} for GB18030 (first invalid UTF-8 byte at offset {utf8_offset})",
        ) from None


def _nul_reason(data: bytes, first: int) -> str:
    """Why a file with a NUL byte at offset `first` is refused: UTF-16 without a BOM, or binary.

    UTF-16 text has a NUL in every ASCII character (digits, commas, newlines): on the
    high byte, so all at odd offsets (LE) or all at even offsets (BE)."""
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for nuls, others, order in ((odd, even, "LE"), (even, odd, "BE")):
        if others == 0 and nuls >= len(sample) // 8:
            return f"UTF-16 text ({order}) without a byte-order mark: save it again as CSV UTF-8"
    return f"not a text file (NUL byte at offset {first})"


def decode_prefix(data: bytes) -> str:
    """Best-effort decoding of the first bytes of a file, for format detection only.

    The prefix may end in the middle of a character, and a damaged byte must not
    hide the format (parse() then reports the damage precisely), so this one is
    lenient.
    """
    if data.startswith(UTF8_BOM):
        return codecs.getincrementaldecoder("utf-8")("replace").decode(data[3:])
    if data.startswith(UTF16_BOMS):
        return codecs.getincrementaldecoder("utf-16")("replace").decode(data)
    try:
        return codecs.getincrementaldecoder("utf-8")("strict").decode(data)
    except UnicodeDecodeError:
        return codecs.getincrementaldecoder("gb18030")("replace").decode(data)
