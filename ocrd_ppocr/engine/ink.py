"""Fit line polygons to the ink they contain.

DB boxes are rectangles grown by a fixed ratio; ground truth and downstream
tools expect polygons that follow the glyphs (a page number between two thin
dashes is a low, wide shape, not a tall box). The line's bounding box is cut
into slices about half a line height wide, and in each slice the polygon's upper
and lower edge are moved to the first and last row with ink.

Word boxes enclose their ink the same way: the connected components of a
line's ink are shared out between the words the recogniser read
(word_boxes), and each word's box is the box of its components.
"""
import cv2
import numpy as np


def ink_mask(image):
    """Binary ink mask (uint8 0/1, text dark on light) of a BGR or grey page, by Otsu."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask


# Between Otsu's dark and light class of a page shrunk to 1024 pixels: text
# pages (bebel, kant, photographs, rapidocr's samples) 55-235 grey levels
# apart, blank white or black pages 0-3, a white page with dust 23.
MIN_INK_CONTRAST = 32
MIN_INK_FRACTION = 0.001  # of the shrunk page dark: dust specks, not text


def no_ink(image, side=1024):
    """Why a page (uint8 BGR or grey) holds no text, or None if it may: too
    little contrast between its dark and light pixels (blank white, black or
    grey pages, scanner noise), or too few dark pixels (dust on a blank
    page). Judged by Otsu on the page shrunk to `side` pixels: cheap at any size."""
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = grey <= threshold
    fraction = float(dark.mean())
    contrast = float(grey[~dark].mean() - grey[dark].mean()) if 0 < fraction < 1 else 0.0
    if contrast < MIN_INK_CONTRAST:
        return f'no ink: dark and light pixels {contrast:.0f} grey levels apart, under {MIN_INK_CONTRAST}'
    if fraction < MIN_INK_FRACTION:
        return f'no ink: {fraction:.3%} of the page dark, under {MIN_INK_FRACTION:.1%}'
    return None


def fit_to_ink(points, mask, margin=0.04, typical_height=None):
    """`points` (N, 2) as a polygon hugging the ink of `mask` inside it; the
    input polygon if it holds no ink. `margin` is a fraction of the line height
    kept around the ink. Gaps are judged against `typical_height` (the page's
    usual line box height) where given: a box that a large initial makes
    twice as tall would otherwise bridge the gap to the next line's ascenders."""
    points = np.asarray(points, dtype=np.float32)
    height, width = mask.shape
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return points
    inside = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(inside, [np.round(points - [x0, y0]).astype(np.int32)], 1)
    ink = mask[y0:y1 + 1, x0:x1 + 1] & inside
    columns = np.flatnonzero(ink.any(axis=0))
    if len(columns) == 0:
        return points
    line_height = y1 - y0 + 1
    pad = max(1, int(round(margin * line_height)))
    left, right = columns[0], columns[-1] + 1
    slices = max(1, int(round(2 * (right - left) / line_height)))
    edges = np.linspace(left, right, slices + 1).round().astype(int)
    spans = []  # (start, end, top, bottom) per slice with ink
    centre = (ink.shape[0] - 1) / 2
    max_gap = max(2, int(round(0.12 * min(line_height, typical_height or line_height))))
    starts, ends = edges[:-1], edges[1:]
    starts, ends = starts[ends > starts], ends[ends > starts]
    # rows with ink in each slice, all slices at once (the slices tile
    # [left, right), and no column right of `right` holds ink)
    inked_rows = np.maximum.reduceat(ink, starts, axis=1) if len(starts) else np.zeros((len(ink), 0), bool)
    first, last, found = central_bands(inked_rows, centre, max_gap)
    for k, (start, end) in enumerate(zip(starts, ends)):
        if found[k]:
            spans.append([start, end, first[k] - pad, last[k] + 1 + pad])
    if spans:
        # a slice of x-height letters only gets the line's usual band (the
        # median slice's), as line polygons in ground truth have: the outline
        # follows ink that rises above or sinks below it, not ink that falls short
        usual_top, usual_bottom = np.median([s[2] for s in spans]), np.median([s[3] for s in spans])
        for span in spans:
            span[2], span[3] = min(span[2], int(usual_top)), max(span[3], int(round(usual_bottom)))
    for this, following in zip(spans, spans[1:]):
        # neighbouring slices must overlap vertically, or the outline folds
        following[2] = min(following[2], this[3] - 1)
        following[3] = max(following[3], this[2] + 1)
    upper = [point for start, end, top, _ in spans for point in ((start, top), (end, top))]
    lower = [point for start, end, _, bottom in spans for point in ((start, bottom), (end, bottom))]
    polygon = np.array(upper + lower[::-1], dtype=np.float32) + [x0, y0]
    polygon[:, 0] = np.clip(polygon[:, 0], 0, width)
    polygon[:, 1] = np.clip(polygon[:, 1], 0, height)
    return polygon


def central_bands(inked_rows, centre, max_gap):
    """For each column of `inked_rows` (rows x slices, 0/1: rows with ink):
    the first and last row of the run of ink rows nearest to row `centre`,
    bridging gaps of up to `max_gap` rows (i-dots, umlauts) but not the wider
    gap to a neighbouring line's descenders or ascenders. A run holding the
    centre is nearest; else the run ending closest above or starting closest
    below (the upper one on a tie). Returns (first, last, found) arrays;
    `found` is False for a column without ink.

    All slices at once, by running maxima and minima of row numbers down
    and up the columns (the per-slice loop over runs was a tenth of the
    detector's time on a page)."""
    ink = inked_rows.astype(bool)
    height, columns = ink.shape
    rows = np.arange(height)[:, None]

    def last_at_or_above(mask):
        return np.maximum.accumulate(np.where(mask, rows, -1), axis=0)

    def first_at_or_below(mask):
        return np.minimum.accumulate(np.where(mask, rows, height)[::-1], axis=0)[::-1]

    above, below = last_at_or_above(ink), first_at_or_below(ink)
    # an empty row in a gap of at most max_gap rows between ink rows joins the runs
    filled = ink | ((above >= 0) & (below < height) & (below - above - 1 <= max_gap))
    gap_above, gap_below = last_at_or_above(~filled), first_at_or_below(~filled)
    run_above, run_below = last_at_or_above(filled), first_at_or_below(filled)
    low, high = int(np.floor(centre)), int(np.ceil(centre))
    up_end = run_above[min(low, height - 1)] if low >= 0 else np.full(columns, -1)
    down_start = run_below[max(high, 0)] if high <= height - 1 else np.full(columns, height)
    inside = (up_end == low) & (down_start == high)  # rows low and high (adjacent) both in a run
    low, high = min(max(low, 0), height - 1), min(max(high, 0), height - 1)
    up_distance = np.where(up_end >= 0, centre - up_end, np.inf)
    down_distance = np.where(down_start < height, down_start - centre, np.inf)
    take_up = up_distance <= down_distance
    slices = np.arange(columns)
    up_start = gap_above[np.maximum(up_end, 0), slices] + 1
    down_end = gap_below[np.minimum(down_start, height - 1), slices] - 1
    first = np.where(inside, gap_above[low] + 1, np.where(take_up, up_start, down_start))
    last = np.where(inside, gap_below[high] - 1, np.where(take_up, up_end, down_end))
    return first, last, ink.any(axis=0)


def ink_rows(mask, x0, x1):
    """(top, bottom) rows of the ink between columns x0 and x1 of a line's
    ink mask: the tallest band of rows with ink, bridging gaps of up to a
    tenth of the crop height (the dot of an i, a diaeresis); None if blank."""
    rows = np.flatnonzero(mask[:, max(int(x0), 0):max(int(np.ceil(x1)), int(x0) + 1)].any(axis=1))
    if not len(rows):
        return None
    breaks = np.flatnonzero(np.diff(rows) > max(1, mask.shape[0] // 10))
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(rows) - 1]])
    best = np.argmax(rows[ends] - rows[starts])
    return int(rows[starts[best]]), int(rows[ends[best]]) + 1


def polygon_mask(shape, polygon):
    """Boolean mask of `shape` (rows, columns) inside `polygon` ((N, 2) x, y);
    all True for None."""
    if polygon is None:
        return np.ones(shape, dtype=bool)
    filled = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(filled, [np.round(np.asarray(polygon, dtype=np.float64)).astype(np.int32)], 1)
    return filled.astype(bool)


def region_ink(image, inside):
    """Ink mask (uint8 0/1) of a line crop (BGR or grey) where `inside` (a
    boolean mask: the line's polygon in the crop), by Otsu on those pixels
    only: outside, crop_polygon painted one background colour, which with
    the neighbours' ink it hides would skew the threshold (on kant's colour
    scans that paint was classed as ink, a band along the whole line).
    Empty for a region without contrast."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    pixels = grey[inside]
    if len(pixels) < 2 or int(pixels.max()) - int(pixels.min()) < 32:
        return np.zeros(grey.shape, dtype=np.uint8)
    threshold, _ = cv2.threshold(pixels.reshape(1, -1), 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ((grey <= threshold) & inside).astype(np.uint8)


def core_band(mask):
    """(top, bottom) rows of a line's x-height band: the run of rows around
    the fullest one whose ink is at least half of it (the body of the
    lower-case letters, between mean line and baseline); None if blank."""
    profile = mask.sum(axis=1, dtype=np.int64)
    if not profile.any():
        return None
    peak = int(np.argmax(profile))
    strong = profile >= profile[peak] / 2
    top, bottom = peak, peak + 1
    while top > 0 and strong[top - 1]:
        top -= 1
    while bottom < len(profile) and strong[bottom]:
        bottom += 1
    return top, bottom


# Word boxes from connected components (word_boxes), as fractions of the
# line's x-height (core band; kant's lines: median 20 pixels): a component
# smaller than SPECK squared is paper noise (kant: a sixth of all components
# are 1-3 pixels); marks above the band (i-dots, umlauts, the superscript e
# of Fraktur umlauts, accents) join a word when within ACCENT_GAP of the
# band and inside its columns widened by ACCENT_SIDE. Median IoU of kant's
# GT Words with letters against ours (Fraktur model), SPECK 0.1 / 0.2 /
# 0.3: 0.941 / 0.946 / 0.944; ACCENT_GAP 0.5-1.2 and ACCENT_SIDE 0.1-0.6
# change it by less than 0.001.
SPECK = 0.2
ACCENT_GAP = 0.8
ACCENT_SIDE = 0.3


def word_boxes(mask, spans, reach, inside=None, owner=True):
    """Boxes (x0, x1, y0, y1) enclosing the ink of each word of a line, and
    the owner map (int32, word number + 1 at each of its ink pixels, else 0).

    `spans` are the words' (x0, x1) in crop columns in reading order, as the
    recogniser's frames place them (often inside the first and last letter).
    The line is split between words at the middle of the gap between their
    spans, the first and last word reaching `reach` columns beyond theirs;
    each connected component of ink goes whole to the word whose part of the
    line holds most of its pixels. A word's box encloses its components that
    touch the line's x-height band, and the smaller marks above or below
    them, unless cut by the edge of `inside` (the region the mask was taken
    from, default the whole crop): those are the ascenders and descenders of
    the neighbouring lines. A word without such ink gets None. Without
    `owner` the owner map is not made (None)."""
    width = mask.shape[1]
    band = core_band(mask)
    if band is None or not spans:
        return [None] * len(spans), np.zeros(mask.shape, dtype=np.int32) if owner else None
    # the components are labelled in the bounding box of the ink only (a
    # third of the crop is margin without ink): the same components, their
    # positions shifted back by the box's corner; what follows never
    # depends on how they are numbered, only on their pixels (a contiguous
    # copy: OpenCV labels a strided view a third slower)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    box = np.ascontiguousarray(mask[r0:r1, c0:c1])
    count, labels, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
    left, top = stats[:, cv2.CC_STAT_LEFT] + c0, stats[:, cv2.CC_STAT_TOP] + r0
    right, bottom = left + stats[:, cv2.CC_STAT_WIDTH], top + stats[:, cv2.CC_STAT_HEIGHT]
    x_height = band[1] - band[0]
    big = stats[:, cv2.CC_STAT_AREA] >= max(2.0, (SPECK * x_height) ** 2)
    big[0] = False  # the background
    on_band = (top < band[1]) & (bottom > band[0])
    gap = band[0] - bottom  # above the band
    if inside is None:
        inside = np.ones(mask.shape, dtype=bool)
    # the edge of `inside` in the ink's box (a pixel of context around it;
    # outside the crop counts as outside)
    window = np.pad(inside, 1)[r0:r1 + 2, c0:c1 + 2]
    edge = window & ~cv2.erode(window.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cut = np.zeros(count, dtype=bool)
    cut[labels[edge[1:-1, 1:-1]]] = True
    mark = big & ~cut & (bottom <= band[0]) & (gap <= ACCENT_GAP * x_height)
    line = big & on_band | mark
    bounds = [max(0.0, spans[0][0] - reach)]
    bounds += word_gaps(_columns_of(left[line], right[line], width), spans)
    bounds += [min(float(width), spans[-1][1] + reach)]
    bounds = np.clip(np.round(bounds).astype(int), 0, width)
    bounds = np.maximum.accumulate(bounds)
    # words x components: pixels of each component in each word's columns
    # (those of the ink's box: elsewhere there are none), by one bincount
    start, end = max(bounds[0], c0), max(min(bounds[-1], c1), max(bounds[0], c0))
    columns = np.arange(start, end)
    word_at = np.searchsorted(bounds[1:], columns, side='right')  # word i has columns bounds[i]..bounds[i+1]
    keys = word_at * count + labels[:, start - c0:end - c0]
    pixels = np.bincount(keys.ravel(), minlength=len(spans) * count).reshape(len(spans), count)
    pixels[:, 0] = 0
    winner = np.where(pixels.max(axis=0) > 0, pixels.argmax(axis=0), -1)
    boxes, word_of = [], np.zeros(count, dtype=np.int32)
    for word in range(len(spans)):
        mine = np.flatnonzero((winner == word) & big)
        body = mine[on_band[mine]]
        if not len(body):
            boxes.append(None)
            continue
        x0, x1 = left[body].min(), right[body].max()
        side = ACCENT_SIDE * x_height
        marks = mine[mark[mine] & (left[mine] >= x0 - side) & (right[mine] <= x1 + side)]
        keep = np.concatenate([body, marks])
        boxes.append((int(min(x0, left[keep].min())), int(max(x1, right[keep].max())),
                      int(top[keep].min()), int(bottom[keep].max())))
        word_of[keep] = word + 1
    if not owner:
        return boxes, None
    owners = np.zeros(mask.shape, dtype=np.int32)
    owners[r0:r1, c0:c1] = word_of[labels]
    return boxes, owners


def _columns_of(left, right, width):
    """Columns (bool, `width`) covered by components with these column
    extents [left, right): a connected component has ink in every column of
    its extent, so this is the columns with their ink (without looking up
    each pixel's label)."""
    steps = np.zeros(width + 1, dtype=np.int64)
    np.add.at(steps, left, 1)
    np.add.at(steps, right, -1)
    return np.cumsum(steps[:-1]) > 0


def word_gaps(inked, spans):
    """Where the line splits between each two words with `spans` (their
    frames' columns, in reading order): the middle of the widest run of
    columns without ink (`inked`: the columns with ink of the line) between
    the middles of the two spans, the one nearest to the middle of the gap
    between the spans on a tie; that middle where no column is blank.

    The frames alone place a word's ends within a few pixels only, and
    drift along a line (kant, Fraktur model: up to a tenth of the crop
    height late towards the end of a line), so that a split in the middle
    between them may fall into the first letter of the next word."""
    edges = np.diff(np.concatenate([[0], (~inked).astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # blank runs [start, end)
    centres, lengths = (starts + ends) / 2, ends - starts
    cuts = []
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        middle = (a1 + b0) / 2
        inside = np.flatnonzero((starts >= (a0 + a1) / 2) & (ends <= (b0 + b1) / 2))
        if not len(inside):
            cuts.append(middle)
            continue
        best = inside[np.lexsort((np.abs(centres[inside] - middle), -lengths[inside]))[0]]
        cuts.append(float(centres[best]))
    return cuts
