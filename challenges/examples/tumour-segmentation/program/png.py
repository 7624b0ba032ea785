"""Grayscale PNG, 8 bits per pixel, read and written with the standard library and numpy alone.

Shipped inside the example's scoring program and starter kit (the runtime image has no imaging
library); it reads what Pillow, OpenCV and scikit-image write for an 8-bit grayscale ("L") image.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PNGError(ValueError):
    """Not an 8-bit grayscale PNG this reader understands; the message says why."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png(pixels: np.ndarray) -> bytes:
    """An (height, width) uint8 array as PNG bytes (no filtering: the output is the same every time)."""
    image = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = image.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + image[y].tobytes() for y in range(height))
    return (
        SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    )


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(data: bytes, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """The (height, width) uint8 array of an 8-bit grayscale, non-interlaced PNG."""
    if not data.startswith(SIGNATURE):
        raise PNGError("not a PNG file")
    position, header, compressed = len(SIGNATURE), None, []
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise PNGError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour != 0 or interlace != 0:
        raise PNGError(
            f"expected 8-bit grayscale without interlacing (got depth {depth}, colour type {colour})"
        )
    if width * height > max_pixels:
        raise PNGError(f"{width}x{height} pixels is too large")
    raw = zlib.decompressobj().decompress(b"".join(compressed), height * (width + 1))
    if len(raw) < height * (width + 1):
        raise PNGError("the image data is truncated")
    out = np.zeros((height, width), dtype=np.uint8)
    previous = bytearray(width)
    for y in range(height):
        start = y * (width + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + width])
        for x in range(width):
            left = line[x - 1] if x else 0
            up, corner = previous[x], previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise PNGError(f"unknown filter type {kind} on row {y}")
        out[y] = np.frombuffer(bytes(line), dtype=np.uint8)
        previous = line
    return out
