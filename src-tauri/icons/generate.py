#!/usr/bin/env python3
"""Draws ClawRouter's icons with no image library (zlib + struct only), so
anyone can regenerate them: `python3 src-tauri/icons/generate.py`.

Tray icons (32x32): a filled disc whose colour says the proxy state —
green running, grey stopped, red error — with a white "fork" glyph (one path
in, three out: a router). App icons: the same glyph on an indigo tile.
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def png(path, size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x + 0.5, y + 0.5))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    body = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    body += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(body)


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def glyph(u, v, size):
    """Coverage 0..1 of the router glyph at unit coords (0..1)."""
    w = 0.075
    segs = [(0.22, 0.5, 0.48, 0.5), (0.48, 0.5, 0.76, 0.27), (0.48, 0.5, 0.78, 0.5), (0.48, 0.5, 0.76, 0.73)]
    d = min(seg_dist(u, v, *s) for s in segs)
    dots = min(math.hypot(u - cx, v - cy) - 0.085 for cx, cy in [(0.78, 0.27), (0.8, 0.5), (0.78, 0.73), (0.22, 0.5)])
    d = min(d - w, dots)
    return max(0.0, min(1.0, 0.5 - d * size))


def blend(bg, fg, a):
    return tuple(round(b + (f - b) * a) for b, f in zip(bg, fg))


def tray(name, rgb):
    size = 32

    def pixel(x, y):
        u, v = x / size, y / size
        r = math.hypot(u - 0.5, v - 0.5)
        alpha = max(0.0, min(1.0, (0.47 - r) * size))
        colour = blend(rgb, (255, 255, 255), glyph(u, v, size))
        return (*colour, round(alpha * 255))

    png(f"tray-{name}.png", size, pixel)


def app(path, size):
    def pixel(x, y):
        u, v = x / size, y / size
        # Rounded square tile.
        q = max(abs(u - 0.5) - 0.32, abs(v - 0.5) - 0.32, 0.0)
        d = math.hypot(max(abs(u - 0.5) - 0.32, 0), max(abs(v - 0.5) - 0.32, 0)) - 0.14 if q > 0 else -0.1
        alpha = max(0.0, min(1.0, 0.5 - d * size))
        top, bottom = (99, 102, 241), (67, 56, 202)
        bg = blend(top, bottom, v)
        colour = blend(bg, (255, 255, 255), glyph(u, v, size))
        return (*colour, round(alpha * 255))

    png(path, size, pixel)


if __name__ == "__main__":
    tray("running", (22, 163, 74))
    tray("stopped", (113, 113, 122))
    tray("error", (220, 38, 38))
    app("32x32.png", 32)
    app("128x128.png", 128)
    app("128x128@2x.png", 256)
    app("icon.png", 512)
