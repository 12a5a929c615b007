"""Word and glyph polygons from crop columns (processors/text_segments.py)."""
import json
import os

import cv2
import numpy as np
from ocrd_utils import coordinates_for_segment
from shapely.geometry import Polygon

from ocrd_ppocr.engine.crop import crop_polygon
from ocrd_ppocr.processors.text_segments import LinePlacer

DATA = os.path.join(os.path.dirname(__file__), 'data', 'recognize')


def test_batched_spans_equal_one_by_one_on_a_rotated_cropped_image():
    """`spans` (one transform, one vectorised intersection) must give exactly
    the polygons of `span` called per column range, also when core's image
    was cropped and rotated (a non-trivial transform back to the page)."""
    image = cv2.imread(os.path.join(DATA, 'bebel_0146_strip.png'), cv2.IMREAD_COLOR)
    with open(os.path.join(DATA, 'bebel_0146_strip.json'), encoding='utf-8') as file:
        line = json.load(file)['lines'][2]
    angle = np.deg2rad(3.0)
    # page -> image: rotate by 3 degrees, then shift as a crop would
    transform = np.array([[np.cos(angle), -np.sin(angle), -40.0],
                          [np.sin(angle), np.cos(angle), -25.0],
                          [0.0, 0.0, 1.0]])
    coords = {'transform': transform}
    crop = crop_polygon(image, line['points'])
    line_polygon = coordinates_for_segment(np.array(line['points'], dtype=float), None, coords)
    placer = LinePlacer(crop, coords, line_polygon)
    width = crop.image.shape[1]
    rng = np.random.default_rng(0)
    starts = rng.uniform(-20, width, 40)
    spans = [(x0, x0 + w) for x0, w in zip(starts, rng.uniform(1, 120, 40))] + [(width + 50, width + 90)]
    batched = placer.spans(spans, placer.line_polygon)
    single = [placer.span((x0, x1), placer.line_polygon) for x0, x1 in spans]
    assert len(batched) == len(single)
    assert batched[-1] is None  # wholly outside the line
    assert sum(p is not None for p in batched) >= 35
    height = crop.image.shape[0]
    for (x0, x1), a, b in zip(spans, batched, single):
        assert (a is None) == (b is None)
        if a is None:
            continue
        assert np.array_equal(a, b)
        # independently: the crop's column range taken to the page by hand, cut by the line
        corners = crop.to_image([[x0, 0], [x1, 0], [x1, height], [x0, height]])
        page = (np.linalg.inv(transform) @ np.c_[corners, np.ones(4)].T).T[:, :2]
        expected = Polygon(page).intersection(Polygon(line_polygon))
        got = Polygon(a)
        # integer rounding moves each vertex by at most ~0.7 px
        assert got.symmetric_difference(expected).area <= 0.75 * expected.length + 2, (x0, x1)
        assert Polygon(line_polygon).buffer(1).contains(got)
    # glyph polygons inside a word polygon (a numpy parent, not a shapely one)
    word = batched[0]
    ranges = [(starts[0] + i, starts[0] + i + 5) for i in range(0, 30, 5)]
    glyphs = placer.spans(ranges, word)
    for glyph, one in zip(glyphs, [placer.span((x0, x1), word) for x0, x1 in ranges]):
        assert (glyph is None) == (one is None)
        if glyph is not None:
            assert np.array_equal(glyph, one)
            assert Polygon(word).buffer(1).contains(Polygon(glyph))
