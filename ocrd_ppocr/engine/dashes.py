"""Dashes beside short lines, which the detector leaves out.

Books of the 19th century print page numbers between dashes ("— 21 —"),
set far apart from the number. PP-OCRv6_det_tiny scores such a lone dash
0.39-0.42, under box_thresh 0.5, so the line came out as "21": on
clauren_mimil_1815 all nine page numbers lost their dashes (four characters
of the page's GT each, and the line's match with the GT line, IoU < 0.5).
A dash is easy to see in the ink itself: a thin horizontal stroke on the
line's middle, with nothing but paper between it and the line, and paper
above and below. Only short lines at the head or foot of the page are
extended (page numbers, catchwords; not the dimension lines of a drawing):
a full text line's dashes sit inside its words' reach and the detector
finds them.
"""
from dataclasses import replace

import cv2
import numpy as np

SHORT_LINE = 8.0  # lines at most this many heights wide are looked beside
MAX_GAP = 5.0  # a dash at most this many line heights away (clauren's: about 4)
MAX_THICKNESS = 0.4  # a dash's height at most this share of the line's
MIN_ASPECT = 1.5  # and its width at least this many times its height,
MIN_LENGTH, MAX_LENGTH = 0.3, 4.0  # between these many line heights long
SPECK = 0.1  # ink components smaller than this share of the line height both ways are dust


def attach_dashes(lines, ink):
    """`lines` (layout.Line) with the dashes beside each short line (see the
    module's doc) joined to it; `ink`: the page's ink mask (uint8 or bool)."""
    boxes = [line.box for line in lines]
    out = []
    for index, line in enumerate(lines):
        x0, y0, x1, y1 = line.box
        height = y1 - y0
        others = boxes[:index] + boxes[index + 1:]
        if height < 4 or x1 - x0 > SHORT_LINE * height or not _first_or_last(line.box, others):
            out.append(line)
            continue
        dashes = [dash for side in (-1, 1) for dash in _dashes_beside(line.box, side, ink, others)]
        if dashes:
            corners = [np.asarray(line.points, dtype=np.float32)] + [
                np.array([[a, b], [c, b], [c, d], [a, d]], dtype=np.float32) for a, b, c, d in dashes]
            line = replace(line, points=cv2.convexHull(np.concatenate(corners)).reshape(-1, 2))
        out.append(line)
    return out


def _first_or_last(box, others):
    """True if no other line lies wholly above `box`, or none wholly below:
    page numbers head or foot the page; dimension lines inside a drawing
    (oldbooks_en j012: "— 3 —") do not."""
    return not any(other[3] < box[1] for other in others) or not any(other[1] > box[3] for other in others)


def _dashes_beside(box, side, ink, others, most=2):
    """Boxes (x0, y0, x1, y1) of up to `most` dashes one after another on
    `side` (-1 left, 1 right) of the line box `box`."""
    found = []
    for _ in range(most):
        dash = _next_dash(box, side, ink, others)
        if dash is None:
            break
        found.append(dash)
        box = (min(box[0], dash[0]), box[1], max(box[2], dash[2]), box[3])
    return found


def _next_dash(box, side, ink, others):
    """The nearest ink component on `side` of `box`, within MAX_GAP heights
    and inside the line's band, if it is a dash that no other line holds."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    height = y1 - y0
    reach = int(MAX_GAP * height)
    if side < 0:
        left, right = max(x0 - reach, 0), max(x0, 0)
    else:
        left, right = min(x1 + 1, ink.shape[1]), min(x1 + 1 + reach, ink.shape[1])
    top, bottom = max(y0, 0), min(y1 + 1, ink.shape[0])
    if right - left < 2 or bottom - top < 4:
        return None
    band = np.ascontiguousarray(ink[top:bottom, left:right], dtype=np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
    speck = SPECK * height
    candidates = [stats[k] for k in range(1, count) if stats[k, 2] >= speck or stats[k, 3] >= speck]
    if not candidates:
        return None
    # the nearest component to the line: a dash, or the end of the search
    nearest = max(candidates, key=lambda s: s[0] + s[2]) if side < 0 else min(candidates, key=lambda s: s[0])
    cx, cy, width, thickness = (int(v) for v in nearest[:4])
    if cy == 0 or cy + thickness >= bottom - top:  # cut by the band: part of something taller
        return None
    centre = cy + thickness / 2
    if not (thickness <= MAX_THICKNESS * height and width >= MIN_ASPECT * thickness
            and MIN_LENGTH * height <= width <= MAX_LENGTH * height
            and 0.25 * height <= centre <= 0.75 * height + 1):
        return None
    dash = (left + cx, top + cy, left + cx + width, top + cy + thickness)
    if any(dash[0] < b[2] and b[0] < dash[2] and dash[1] < b[3] and b[1] < dash[3] for b in others):
        return None
    span = (dash[0], x1) if side < 0 else (x0, dash[2])
    if not _paper_around(span, y0, y1, ink):
        return None
    return dash


def _paper_around(span, y0, y1, ink, reach=0.5, most=0.01):
    """True if the strips `reach` line heights above and below the line's band
    [y0, y1] over the columns `span` are paper (at most `most` of them ink):
    a page number stands alone; strokes inside a drawing (a ruler's ticks,
    oldbooks_en j012) have ink all around."""
    height = y1 - y0
    a, b = max(int(span[0]), 0), min(int(span[1]) + 1, ink.shape[1])
    above = ink[max(y0 - int(reach * height), 0):max(y0, 0), a:b]
    below = ink[min(y1 + 1, ink.shape[0]):min(y1 + 1 + int(reach * height), ink.shape[0]), a:b]
    inked = np.count_nonzero(above) + np.count_nonzero(below)
    return inked <= most * max(above.size + below.size, 1)
