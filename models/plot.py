"""Learning-curve charts as PNG with numpy and zlib only (no plotting library needed).

``line_charts(path, panels)`` draws one panel per metric side by side, each with its series as
coloured lines over a shared legend, min/max labels on both axes and a title, in a built-in
3x5 pixel font (upper-case letters, digits and a few signs) drawn at twice its size.
``write_png`` writes an (H, W, 3) uint8 array as an 8-bit RGB PNG.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

RGB = tuple[int, int, int]
Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
GLYPH_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:@_/=+ "
GLYPH_BITS = (  # 5 rows of 3 pixels per glyph, row by row
    "111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
    "111100111001111", "111100111101111", "111001001010010", "111101111101111", "111101111001111",
    "010101111101101", "110101110101110", "011100100100011", "110101101101110", "111100110100111",
    "111100110100100", "011100101101011", "101101111101101", "111010010010111", "001001001101010",
    "101101110101101", "100100100100111", "101111111101101", "110101101101101", "010101101101010",
    "110101110100100", "010101101110011", "110101110101101", "011100010001110", "111010010010010",
    "101101101101111", "101101101101010", "101101111111101", "101101010101101", "101101010010010",
    "111001010100111", "000000000000010", "000000111000000", "000010000010000", "010101111100011",
    "000000000000111", "001001010100100", "000111000111000", "000010111010000", "000000000000000",
)
GLYPHS = dict(zip(GLYPH_CHARS, GLYPH_BITS, strict=True))
SCALE, W, H, PAD = 2, 420, 300, 44


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 image as PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
                           + chunk(b"IEND", b""))


def text(img: np.ndarray, x: int, y: int, s: str, color: tuple[int, int, int] = (0, 0, 0)) -> None:
    """Draw ``s`` with its top-left corner at (x, y); unknown characters become spaces."""
    for i, ch in enumerate(s.upper()):
        bits = GLYPHS.get(ch, GLYPHS[" "])
        for r in range(5):
            for c in range(3):
                if bits[r * 3 + c] == "1":
                    x0, y0 = x + (i * 4 + c) * SCALE, y + r * SCALE
                    img[y0:y0 + SCALE, x0:x0 + SCALE] = color


def line(img: np.ndarray, p: tuple[float, float], q: tuple[float, float], color: RGB) -> None:
    """A 2-pixel-wide segment from p to q (x, y), clipped to the image."""
    n = int(max(abs(q[0] - p[0]), abs(q[1] - p[1]))) + 1
    xs = np.rint(np.linspace(p[0], q[0], n)).astype(int)
    ys = np.rint(np.linspace(p[1], q[1], n)).astype(int)
    for dx, dy in ((0, 0), (1, 0), (0, 1)):
        ok = (xs + dx >= 0) & (xs + dx < img.shape[1]) & (ys + dy >= 0) & (ys + dy < img.shape[0])
        img[ys[ok] + dy, xs[ok] + dx] = color


def _bounds(series: Series) -> tuple[float, float, float, float]:
    xs = [float(x) for xs_, _ in series.values() for x in xs_]
    ys = [float(y) for _, ys_ in series.values() for y in ys_ if np.isfinite(y)]
    x0, x1, y0, y1 = min(xs, default=0), max(xs, default=1), min(ys, default=0), max(ys, default=1)
    return x0, (x1 if x1 > x0 else x0 + 1), y0, (y1 if y1 > y0 else y0 + 1e-9 + abs(y0) * 0.1)


def panel(title: str, series: Series, colors: Mapping[str, tuple[int, int, int]]) -> np.ndarray:
    """One chart: frame, axis min/max labels, title and one line per series."""
    img = np.full((H, W, 3), 255, np.uint8)
    x0, x1, y0, y1 = _bounds(series)
    left, top, right, bottom = PAD + 16, 24, W - 12, H - PAD
    for a, b in (((left, top), (right, top)), ((left, bottom), (right, bottom)),
                 ((left, top), (left, bottom)), ((right, top), (right, bottom))):
        line(img, a, b, (120, 120, 120))
    text(img, left, 6, title)
    text(img, 2, top, f"{y1:.3g}")
    text(img, 2, bottom - 10, f"{y0:.3g}")
    text(img, left, bottom + 6, f"{x0:g}")
    text(img, right - 30, bottom + 6, f"{x1:g}")
    text(img, (left + right) // 2 - 20, bottom + 6, "EPOCH")
    for name, (xs, ys) in series.items():
        pts = [(left + (float(x) - x0) / (x1 - x0) * (right - left), bottom - (float(y) - y0) / (y1 - y0) *
                (bottom - top)) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
        for p, q in zip(pts, pts[1:], strict=False):
            line(img, p, q, colors[name])
        for p in pts[:1] if len(pts) == 1 else []:
            line(img, (p[0] - 2, p[1]), (p[0] + 2, p[1]), colors[name])
    return img


def line_charts(path: str | Path, panels: Sequence[tuple[str, Series]]) -> None:
    """Panels side by side with a legend of every series name below them, written as PNG."""
    names = list(dict.fromkeys(n for _, s in panels for n in s))
    colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    blank = np.full((H, W, 3), 255, np.uint8)
    row = np.concatenate([panel(t, s, colors) for t, s in panels], axis=1) if panels else blank
    legend = np.full((16 * len(names) + 8, row.shape[1], 3), 255, np.uint8)
    for i, n in enumerate(names):
        legend[8 + 16 * i:8 + 16 * i + 10, 12:32] = colors[n]
        text(legend, 40, 8 + 16 * i, n)
    write_png(path, np.concatenate([row, legend], axis=0))
