#!/usr/bin/env python3
"""Check a headless-Chromium rendering of an archsim index.html.

usage: page_check.py SCREENSHOT.png DOM.html MIN_SVGS [NEEDED_TEXT...]

Fails (exit 1) when the screenshot is blank (almost every pixel the same
colour) or the rendered DOM holds fewer inline <svg> charts than expected,
or lacks any of the NEEDED_TEXT strings (the parts a page must show, such as
the SLO verdicts or the headline table).
Standard library only: PNG is decoded here (8-bit, non-interlaced, as
Chromium writes it), following the PNG specification's filter rules.
"""
import struct
import sys
import zlib


def decode_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace != 0 or colour not in (2, 6):
                raise SystemExit(f"{path}: unsupported PNG layout (depth {depth}, colour {colour})")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    shot, dom, min_svgs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    width, height, bpp, rows = decode_png(shot)
    counts = {}
    step = 4  # sample every 4th pixel in both directions: plenty, and fast
    for y in range(0, height, step):
        row = rows[y]
        for x in range(0, width, step):
            px = row[x * bpp:x * bpp + 3]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    commonest = max(counts.values())
    ink = 1 - commonest / total
    text = open(dom, encoding="utf-8", errors="replace").read()
    svgs = text.count("<svg")
    print(f"{shot}: {width}x{height}, {len(counts)} colours, {ink:.1%} non-background, {svgs} inline SVG charts")
    if ink < 0.02 or len(counts) < 8:
        raise SystemExit(f"{shot}: the page looks blank")
    if svgs < min_svgs:
        raise SystemExit(f"{dom}: expected at least {min_svgs} charts, found {svgs}")
    missing = [n for n in sys.argv[4:] if n not in text]
    if missing:
        raise SystemExit(f"{dom}: the page lacks {missing}")


if __name__ == "__main__":
    main()
