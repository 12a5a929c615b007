"""Fit line polygons to the ink they contain.

DB boxes are rectangles grown by a fixed ratio; ground truth and downstream
tools expect polygons that follow the glyphs (a page number between two thin
dashes is a low, wide shape, not a tall box). The line's bounding box is cut
into slices about half a line height wide, and in each slice the polygon's upper
and lower edge are moved to the first and last row with ink.
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


def line_ink(crop):
    """Ink mask (uint8 0/1) of a line crop (BGR or grey), by Otsu; empty for
    a crop without contrast."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if int(grey.max()) - int(grey.min()) < 32:
        return np.zeros(grey.shape, dtype=np.uint8)
    return ink_mask(grey)


def ink_columns(mask):
    """Which columns of a line's ink mask hold more than a speck of ink."""
    rows = np.flatnonzero(mask.any(axis=1))
    speck = max(1, (rows[-1] - rows[0] + 1) // 50) if len(rows) else 1
    return mask.sum(axis=0) > speck


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
def snap_to_ink(spans, columns, reach):
    """Word spans [(x0, x1)] of a line crop fitted to the ink they cut into.

    CTC places a character where the network fires, often inside the glyph,
    so a word read from its characters' frames starts inside its first
    letter and ends inside its last. Each end moves outwards while the
    column beyond it has ink, by at most `reach` pixels and never past the
    neighbouring words' spans; then blank columns at either end are trimmed."""
    width = len(columns)
    snapped = []
    for i, (x0, x1) in enumerate(spans):
        low = spans[i - 1][1] if i else 0
        high = spans[i + 1][0] if i + 1 < len(spans) else width
        start, end = int(np.floor(x0)), int(np.ceil(x1))
        limit = max(int(np.floor(low)), start - reach, 0)
        while start > limit and columns[start - 1]:
            start -= 1
        limit = min(int(np.ceil(high)), end + reach, width)
        while end < limit and columns[end]:
            end += 1
        inked = np.flatnonzero(columns[start:end])
        if len(inked):  # a frame run reaching into the gap after the word: trim it to the ink
            start, end = start + inked[0], start + inked[-1] + 1
        snapped.append((float(start), float(end)))
    return snapped
