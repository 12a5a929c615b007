"""From DB text boxes to whole text lines, text regions and a reading order.

DB finds connected stretches of text; on justified print a wide word gap
splits one line into fragments. OCR-D users (and every downstream recogniser)
expect whole lines, so fragments that share a baseline and height are merged.
A gap counts as a word gap when it is short, or when the neighbouring lines
above or below have ink across it (word gaps don't line up from line to line,
column gutters do), which keeps neighbouring columns apart.

Lines are then grouped into regions (neighbouring lines of similar height that
overlap horizontally) and regions are ordered by recursive XY-cuts.
All coordinates are pixels of one image, x to the right, y down.
"""
from dataclasses import dataclass, field
from functools import cached_property
from typing import List

import cv2
import numpy as np
from shapely.geometry import box
from shapely.ops import unary_union

from .dashes import attach_dashes
from .ink import fit_to_ink


@dataclass
class Line:
    points: np.ndarray  # (N, 2) polygon
    score: float
    parts: int = 1  # how many detector fragments it was merged from

    @cached_property  # read very often while grouping; a Line's points never change
    def box(self):
        x0, y0 = self.points.min(axis=0)
        x1, y1 = self.points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def height(self):
        return self.box[3] - self.box[1]


@dataclass
class Region:
    lines: List[Line] = field(default_factory=list)

    def spacing(self):
        """Median distance between the centres of consecutive lines (None for one line)."""
        centres = [_centre(line) for line in self.lines]
        return float(np.median(np.diff(centres))) if len(centres) > 1 else None

    @property
    def points(self):
        return region_outline([line.points for line in self.lines])

    @property
    def box(self):
        boxes = np.array([line.box for line in self.lines])
        return boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()


def hull(polygons):
    """Convex hull of several polygons, as an (N, 2) float32 array."""
    points = np.concatenate([np.asarray(p, dtype=np.float32) for p in polygons])
    return cv2.convexHull(points).reshape(-1, 2)


def region_outline(polygons):
    """Outline of a region around its line polygons: the union of the lines'
    bounding boxes, each stretched halfway to the line above and below. Unlike
    a convex hull it leaves out the empty corner beside a paragraph's short
    last line. One line, or boxes that do not join up: the convex hull."""
    if len(polygons) < 2:
        return hull(polygons)
    boxes = sorted((tuple(np.min(p, axis=0)) + tuple(np.max(p, axis=0)) for p in polygons),
                   key=lambda b: (b[1] + b[3]) / 2)
    rects = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        top = min(y0, (boxes[i - 1][3] + y0) / 2) if i else y0
        bottom = max(y1, (y1 + boxes[i + 1][1]) / 2) if i + 1 < len(boxes) else y1
        rects.append(box(x0, top, x1, bottom))
    shape = unary_union(rects).simplify(0)
    if shape.geom_type != 'Polygon':
        return hull(polygons)
    return np.asarray(shape.exterior.coords[:-1], dtype=np.float32)


def _vertical_overlap(a, b):
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap / max(min(a[3] - a[1], b[3] - b[1]), 1e-6)


def _covered_fraction(x0, x1, intervals):
    """Fraction of [x0, x1] covered by the union of `intervals`."""
    if x1 <= x0:
        return 1.0
    covered, cursor = 0.0, x0
    for start, end in sorted(intervals):
        start, end = max(start, cursor), min(end, x1)
        if end > start:
            covered += end - start
            cursor = end
    return covered / (x1 - x0)


def merge_fragments(lines, small_gap=1.2, max_gap=8.0, min_overlap=0.6, max_height_ratio=1.6, word_gap=0.5):
    """Join detector fragments of one text line into one Line.

    Two fragments A (left) and B (right) are joined when they overlap
    vertically by `min_overlap` of the smaller height, their heights differ by
    at most `max_height_ratio`, and the gap between them is at most
    `word_gap` heights; or at most `small_gap` heights and not a column
    gutter (the lines just above or below split at the same place); or at
    most `max_gap` heights and the lines just above or below have ink across
    at least 60 % of it."""
    lines = sorted(lines, key=lambda line: line.box[0])
    boxes = [line.box for line in lines]
    right_of = {}
    taken = set()
    for i, a in enumerate(boxes):
        height_a = a[3] - a[1]
        best = None
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if j in taken or b[0] < a[2] - 0.5 * height_a:
                continue
            height_b = b[3] - b[1]
            if _vertical_overlap(a, b) < min_overlap:
                continue
            if max(height_a, height_b) > max_height_ratio * min(height_a, height_b):
                continue
            gap = b[0] - a[2]
            if best is None or gap < best[0]:
                best = (gap, j)
        if best is None:
            continue
        gap, j = best
        height = max(height_a, boxes[j][3] - boxes[j][1])
        if gap > max_gap * height:
            continue
        if gap > small_gap * height and not _gap_spanned(i, j, boxes, height):
            continue
        if gap > word_gap * height and _gap_is_gutter(i, j, boxes, height):
            continue
        right_of[i] = j
        taken.add(j)
    merged = []
    for i in range(len(lines)):
        if i in taken:
            continue
        chain = [i]
        while chain[-1] in right_of:
            chain.append(right_of[chain[-1]])
        parts = [lines[k] for k in chain]
        if len(parts) == 1:
            merged.append(parts[0])
            continue
        merged.append(Line(hull([p.points for p in parts]),
                           float(np.mean([p.score for p in parts])),
                           sum(p.parts for p in parts)))
    return merged


def _neighbours(i, j, boxes, height):
    """(above, below): the boxes whose centre lies within 1.8 line heights
    above or below the pair of fragments i and j."""
    top, bottom = min(boxes[i][1], boxes[j][1]), max(boxes[i][3], boxes[j][3])
    above, below = [], []
    for k, c in enumerate(boxes):
        if k in (i, j):
            continue
        centre = (c[1] + c[3]) / 2
        if top - 1.8 * height <= centre < top:
            above.append(c)
        elif bottom < centre <= bottom + 1.8 * height:
            below.append(c)
    return above, below


def _across(near, x0, x1):
    """The horizontal extents of the boxes in `near` that reach into x0..x1."""
    return [(c[0], c[2]) for c in near if c[2] > x0 and c[0] < x1]


def _gap_spanned(i, j, boxes, height):
    """True if a line just above or just below has ink across the gap between
    boxes i and j (so the gap is a word gap, not a column gutter)."""
    x0, x1 = boxes[i][2], boxes[j][0]
    return max(_covered_fraction(x0, x1, _across(near, x0, x1))
               for near in _neighbours(i, j, boxes, height)) >= 0.6


def _gap_is_gutter(i, j, boxes, height):
    """True if the lines just above or just below reach the gap between boxes
    i and j from both sides but leave it mostly empty: a column gutter runs
    down the page (magazine columns a line height apart, narrowed by ragged
    line ends), the wide word gaps of justified lines do not line up."""
    a, b = boxes[i], boxes[j]
    x0, x1 = a[2], b[0]
    for near in _neighbours(i, j, boxes, height):
        left = any(c[2] > a[0] and c[2] <= x1 for c in near)  # ends over A, before B begins
        right = any(c[0] < b[2] and c[0] >= x0 for c in near)  # begins over B, after A ends
        if left and right and (_covered_fraction(x0, x1, _across(near, x0, x1)) < 0.5
                               or _channel_before(b, near, x0, height)):
            return True
    return False


def _channel_before(b, near, x0, height, width=0.5):
    """True if the lines in `near` leave a white channel at least `width`
    heights wide that ends where box b begins: one of them ends after x0,
    the next begins within half a height of b's left edge, nothing between.
    A narrow gutter after a short last line of a paragraph: its neighbours
    fill most of the gap, but the gutter runs on through them."""
    for start in (c[0] for c in near if abs(c[0] - b[0]) <= 0.5 * height):
        for end in (c[2] for c in near if x0 <= c[2] <= start - width * height):
            if not any(c[0] < start and c[2] > end for c in near):
                return True
    return False


def group_regions(lines, max_gap=1.5, min_overlap=0.3, max_height_ratio=1.5, spacing_jump=1.4, small_print=0.88):
    """Group lines into regions: a line joins the region whose last line lies
    just above it (vertical gap at most `max_gap` line heights), overlaps it
    horizontally by `min_overlap` of the narrower one, and has a similar height.

    Within that, a region ends where the line spacing jumps (more than
    `spacing_jump` times the region's own: the space between two footnotes)
    and, in normal print, where a paragraph starts (see _starts_paragraph).
    Small print (line spacing under `small_print` of the page's usual one:
    footnotes, notes) is kept together across its inner paragraphs."""
    lines = sorted(lines, key=_centre)
    below = [_next_below(i, lines) for i in range(len(lines))]
    # the page's body text has the widest regular spacing (footnotes may
    # outnumber its lines, so not the median); headings, taller than the
    # usual line, are left out
    usual = 1.25 * float(np.median([line.height for line in lines])) if lines else 0
    pitches = [_centre(lines[j]) - _centre(lines[i]) for i, j in enumerate(below)
               if j is not None and max(lines[i].height, lines[j].height) <= usual]
    page_pitch = float(np.percentile(pitches, 75)) if pitches else None
    beside = _row_neighbours(lines)
    regions = []
    for index, line in enumerate(lines):
        x0, y0, x1, y1 = line.box
        best = None
        for region in regions:
            last = region.lines[-1].box
            if _spans_row(line, beside[id(region.lines[-1])], min_overlap):
                continue
            height = min(y1 - y0, last[3] - last[1])
            if max(y1 - y0, last[3] - last[1]) > max_height_ratio * max(height, 1e-6):
                continue
            gap = y0 - last[3]
            if gap > max_gap * height or y0 < (last[1] + last[3]) / 2:
                continue
            overlap = min(x1, last[2]) - max(x0, last[0])
            if overlap < min_overlap * min(x1 - x0, last[2] - last[0]):
                continue
            pitch = _centre(line) - _centre(region.lines[-1])
            spacing = region.spacing()
            if spacing and pitch > spacing_jump * spacing:
                continue
            small = page_pitch and (spacing or pitch) < small_print * page_pitch
            following = lines[below[index]].box if below[index] is not None else None
            if not small and _starts_paragraph(line.box, region, height, following):
                continue
            if best is None or gap < best[0]:
                best = (gap, region)
        if best is None:
            regions.append(Region([line]))
        else:
            best[1].lines.append(line)
    return regions


def _centre(line):
    return (line.box[1] + line.box[3]) / 2


def _row_neighbours(lines):
    """For each line (by id), the other lines on its row: overlapping it by
    half a line height vertically, beside it horizontally (a running head and
    its page number, the lines of neighbouring columns)."""
    beside = {id(line): [] for line in lines}
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            (a0, ay0, a1, ay1), (b0, by0, b1, by1) = a.box, b.box
            if min(ay1, by1) - max(ay0, by0) >= 0.5 * min(ay1 - ay0, by1 - by0) and (b0 >= a1 or a0 >= b1):
                beside[id(a)].append(b)
                beside[id(b)].append(a)
    return beside


def _spans_row(line, row, min_overlap):
    """True if `line` also lies under another line of the row above (`row`:
    the row neighbours of that line): a line of text running under both a
    running head and its page number belongs to neither."""
    x0, _, x1, _ = line.box
    return any(min(x1, b[2]) - max(x0, b[0]) >= min_overlap * min(x1 - x0, b[2] - b[0])
               for b in (other.box for other in row))


def _next_below(index, lines):
    """Index of the nearest line below lines[index] in the same column
    (horizontal overlap, similar height), or None."""
    x0, y0, x1, y1 = lines[index].box
    for j in range(index + 1, len(lines)):
        a0, b0, a1, b1 = lines[j].box
        if b0 - y1 > 1.5 * (y1 - y0):
            return None
        if b0 >= (y0 + y1) / 2 and min(x1, a1) - max(x0, a0) > 0.3 * min(x1 - x0, a1 - a0) \
                and max(y1 - y0, b1 - b0) <= 1.5 * min(y1 - y0, b1 - b0):
            return j
    return None


def _starts_paragraph(box, region, height, following=None):
    """A line opens a new paragraph below `region` when it is indented from
    the region's left edge and either the line before it stops well short of
    the region's right edge, or it reaches the right edge itself while the
    line after it (`following`) goes back to the margin. A line that does not
    start indented (a list item after its hanging-indented predecessor) or
    whose successor keeps its indentation (a hanging indent, a quotation)
    continues the region; so does a centred short line."""
    left, _, right, _ = region.box
    last = region.lines[-1].box
    if box[0] - left <= 1.0 * height:
        return False
    if last[2] < max(right, box[2]) - 3 * height:
        return True
    indented_block = following is not None and abs(following[0] - box[0]) < 0.5 * height
    return not indented_block and box[2] > right - 1.0 * height


def reading_order(boxes):
    """Indices of `boxes` (x0, y0, x1, y1) in reading order by recursive XY-cut.
    Each block is cut in two at its widest white stripe, horizontal (top to
    bottom) or vertical (left to right): a column gutter beats the few pixels
    that happen to separate paragraphs of both columns at the same height.
    A gutter crossed only by small boxes (a caption set across it) still
    cuts: those boxes are read after the columns. On tesseract_testing's
    UNLV magazine page 8087 (unseen) this took the page CER from 55 to 3 %;
    the order on bebel, kant, fraktur_pages and oldbooks_en is unchanged."""
    return _xy_cut(list(range(len(boxes))), boxes)


def _stripes(indices, boxes, horizontal):
    """`indices` split in two at their widest white stripe across the
    horizontal (or vertical) axis: ([before, after], its width), or
    ([indices], 0) where no stripe runs across."""
    lo, hi = (1, 3) if horizontal else (0, 2)
    spans = sorted(indices, key=lambda k: boxes[k][lo])
    reach, widest, cut = boxes[spans[0]][hi], 0.0, None
    for position, k in enumerate(spans[1:], 1):
        if boxes[k][lo] - reach > widest:
            widest, cut = boxes[k][lo] - reach, position
        reach = max(reach, boxes[k][hi])
    if cut is None:
        return [spans], 0.0
    return [spans[:cut], spans[cut:]], widest


def _gutter_past_small_boxes(indices, boxes, small=0.15):
    """([left, right], crossing boxes, gap) of a vertical cut that only boxes
    lower than `small` of the block's height stand in the way of, or None.
    The small boxes that do not span the gutter's middle join the column on
    their side of it."""
    top, bottom = min(boxes[k][1] for k in indices), max(boxes[k][3] for k in indices)
    low = {k for k in indices if boxes[k][3] - boxes[k][1] < small * (bottom - top)}
    tall = [k for k in indices if k not in low]
    if len(tall) < 2 or not low:
        return None
    columns, widest = _stripes(tall, boxes, horizontal=False)
    if len(columns) < 2:
        return None
    left, right = columns
    middle = (max(boxes[k][2] for k in left) + min(boxes[k][0] for k in right)) / 2
    crossing = []
    for k in sorted(low):  # a box over the gutter's middle spans it, others lean to one side
        if boxes[k][0] < middle < boxes[k][2]:
            crossing.append(k)
        else:
            (left if boxes[k][2] <= middle else right).append(k)
    if len(crossing) * 4 > len(indices):
        return None  # not a few captions but a layout the columns do not explain
    return columns, crossing, widest


def _xy_cut(indices, boxes):
    if len(indices) <= 1:
        return indices
    rows, row_gap = _stripes(indices, boxes, horizontal=True)
    columns, column_gap = _stripes(indices, boxes, horizontal=False)
    crossing = []
    if len(columns) == 1:
        past_small = _gutter_past_small_boxes(indices, boxes)
        if past_small:
            columns, crossing, column_gap = past_small
    if len(rows) == 1 and len(columns) == 1:
        # no cut either way: top to bottom, left to right
        return sorted(indices, key=lambda k: (boxes[k][1], boxes[k][0]))
    if len(columns) > 1 and (len(rows) == 1 or column_gap > row_gap):
        groups = columns
    else:
        groups, crossing = rows, []
    order = [k for group in groups for k in _xy_cut(group, boxes)]
    return order + _xy_cut(crossing, boxes)


def drop_specks(lines, ratio=0.5):
    """Drop detections smaller than `ratio` of the median line height in both
    directions: dust and noise, not text the recogniser could read."""
    if len(lines) < 3:
        return lines
    median = float(np.median([line.height for line in lines]))
    return [line for line in lines
            if line.height >= ratio * median or line.box[2] - line.box[0] >= ratio * median]


def line_contrast(line, grey):
    """Grey levels between the background (90th percentile) and the darkest
    ink (2nd percentile) of a line's bounding box in `grey` (uint8)."""
    x0, y0, x1, y1 = (int(round(v)) for v in line.box)
    patch = grey[max(y0, 0):max(y1 + 1, 0), max(x0, 0):max(x1 + 1, 0)]
    if patch.size == 0:
        return 0.0
    low, high = np.percentile(patch, (2, 90))
    return float(high - low)


# drop_faint's default, also ocrd-ppocr-detect's min_contrast default
FAINT_LINE_RATIO = 0.4


def drop_faint(lines, grey, min_ratio=FAINT_LINE_RATIO):
    """Drop lines whose contrast (line_contrast) is under `min_ratio` of the
    page's median line contrast: show-through from the other side, scanner
    watermarks ("Digitalisiert von Google"), pencil traces. Printed lines of
    the pages measured (bebel, kant, fraktur_pages, oldbooks_en,
    tesseract_testing, docbank, photographed pages) reach 0.66 or more of
    their page's median, a Google watermark 0.24."""
    if len(lines) < 2 or min_ratio <= 0:
        return lines
    contrasts = [line_contrast(line, grey) for line in lines]
    floor = min_ratio * float(np.median(contrasts))
    return [line for line, contrast in zip(lines, contrasts) if contrast >= floor]


def clean_lines(lines, merge=True, ink=None, grey=None, min_contrast=0.0):
    """Merge fragments, fit them to the `ink` mask (if given), drop specks
    and (with a `grey` page and `min_contrast` > 0) faint lines, join the
    dashes beside page numbers (with `ink`); returned top to bottom."""
    if merge:
        lines = merge_fragments(lines)
    if ink is not None:
        typical = float(np.median([line.height for line in lines])) if lines else None
        lines = [Line(fit_to_ink(line.points, ink, typical_height=typical), line.score, line.parts)
                 for line in lines]
    lines = drop_specks(lines)
    if grey is not None:
        lines = drop_faint(lines, grey, min_contrast)
    if ink is not None:  # on the final lines: which head or foot the page
        lines = attach_dashes(lines, ink)
    return sorted(lines, key=_centre)


def layout(lines, merge=True, ink=None, grey=None, min_contrast=0.0):
    """Clean the detected lines, group them into regions, and order regions
    and their lines."""
    regions = group_regions(clean_lines(lines, merge, ink, grey, min_contrast))
    order = reading_order([region.box for region in regions])
    regions = [regions[k] for k in order]
    for region in regions:
        region.lines.sort(key=lambda l: (l.box[1] + l.box[3]) / 2)
    return regions
