"""Encodings: UTF-8, UTF-8 with BOM, GBK/GB18030 (strict), and the errors."""

from __future__ import annotations

import codecs

import pytest

from kefu.ingest.formats import FormatError, parse
from kefu.ingest.formats.encoding import decode, decode_prefix

CHAT = "tb_b 2026-3-5 10:00:00\n这个有大码吗\n测试旗舰店:小王 2026-3-5 10:00:09\n有的亲\n"


@pytest.mark.parametrize(
    "encoding, reported",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_encodings_give_the_same_rows(write, encoding, reported):
    parsed = parse(write(CHAT, encoding=encoding))
    assert parsed.encoding == reported
    assert [m["text"] for m in parsed.tables["messages"].to_pylist()] == ["这个有大码吗", "有的亲"]


def test_utf8_is_tried_before_gb18030(tmp_path):
    # These bytes are valid in both encodings; UTF-8 must win.
    data = "大码".encode()
    assert data.decode("gb18030") != "大码"
    assert decode(data, tmp_path / "x") == ("大码", "utf-8")


def test_undecodable_bytes_name_the_file_and_offset(tmp_path):
    path = tmp_path / "broken.txt"
    data = CHAT.encode("gbk") + b"\x81\x20\xff"
    path.write_bytes(data)
    with pytest.raises(FormatError) as err:
        parse(path)
    message = str(err.value)
    assert str(path) in message and f"offset {len(data) - 3}" in message


def test_bom_with_invalid_utf8_is_an_error_not_gbk(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + CHAT.encode("gbk"))
    with pytest.raises(FormatError, match="BOM"):
        parse(path)


def test_prefix_decoding_tolerates_a_cut_character():
    data = CHAT.encode("utf-8")
    cut = data[: data.index("大".encode()) + 1]  # ends inside a 3-byte character
    assert decode_prefix(cut).startswith("tb_b")
    assert decode_prefix(CHAT.encode("gbk")) == CHAT
