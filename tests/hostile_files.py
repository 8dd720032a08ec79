"""Files crafted to cost the bot's intake far more than they weigh (a review at stop 42): used by
the tests of bot/ops/images.py and by bench/hostile_uploads.py."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, TiffImagePlugin


def exif_of_millions_tiff(size: tuple[int, int] = (400, 300), values: int = 2_000_000) -> bytes:
    """A white TIFF of ``size`` whose EXIF holds ``values`` LONG values in one tag, and the
    orientation 6 (turned a quarter clockwise)."""
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[50000] = tuple(range(1000, 1000 + values))
    tags.tagtype[50000] = 4  # LONG
    tags[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "TIFF", tiffinfo=tags)
    return out.getvalue()


def huge_tiles_tiff(tile: int = 40960) -> bytes:
    """151 bytes: a 200×200 grey TIFF whose one tile is declared ``tile``×``tile`` (its data short)."""
    payload = zlib.compress(b"\x80" * 1000)
    entries = [(256, 4, 200), (257, 4, 200), (258, 3, 8), (259, 3, 8), (262, 3, 1), (277, 3, 1)]
    entries += [(322, 4, tile), (323, 4, tile), (324, 4, None), (325, 4, len(payload))]
    data_offset = 8 + 2 + len(entries) * 12 + 4
    tiff = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, value in entries:
        value = data_offset if value is None else value
        short = kind == 3
        tiff += struct.pack("<HHIHH", tag, kind, 1, value, 0) if short else struct.pack("<HHII", tag, kind, 1, value)
    return bytes(tiff + struct.pack("<I", 0) + payload)
