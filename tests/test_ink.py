"""Ink bands of line slices (engine/ink.py): the vectorised search against
its definition, run by run; pages without ink; word boxes from components."""
import numpy as np
from PIL import Image

from conftest import BEBEL, KANT
from ocrd_ppocr.engine.ink import central_bands, core_band, no_ink, word_boxes, word_gaps


def band_by_runs(rows_with_ink, centre, max_gap):
    """The definition: runs of ink rows split at gaps wider than max_gap rows;
    the run holding the centre, else the one nearest to it (first on a tie)."""
    rows = np.flatnonzero(rows_with_ink)
    if len(rows) == 0:
        return None
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > max_gap + 1) + 1)
    nearest = min(runs, key=lambda run: 0 if run[0] <= centre <= run[-1]
                  else min(abs(run[0] - centre), abs(run[-1] - centre)))
    return int(nearest[0]), int(nearest[-1])


def test_central_bands_follow_the_definition():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(2000):
        height, slices = int(rng.integers(2, 60)), int(rng.integers(1, 20))
        inked = (rng.random((height, slices)) < rng.uniform(0.02, 0.6)).astype(np.uint8)
        centre = (height - 1) / 2 if rng.random() < 0.7 else float(rng.uniform(-2, height + 2))
        max_gap = int(rng.integers(0, 6))
        first, last, found = central_bands(inked, centre, max_gap)
        for k in range(slices):
            expected = band_by_runs(inked[:, k], centre, max_gap)
            assert (expected is None) == (not found[k])
            if expected is not None:
                assert (int(first[k]), int(last[k])) == expected, (inked[:, k].tolist(), centre, max_gap)
                checked += 1
    assert checked > 10000


def test_a_line_between_neighbours():
    # rows 0-2: the line above's descenders; 6-14: this line, an i-dot gap at 8;
    # 18-19: the next line's ascenders
    column = np.zeros(20, np.uint8)
    column[[0, 1, 2, 6, 7, 9, 10, 11, 12, 13, 14, 18, 19]] = 1
    first, last, found = central_bands(column[:, None], 9.5, 2)
    assert found[0] and (first[0], last[0]) == (6, 14)
    first, last, found = central_bands(np.zeros((20, 1), np.uint8), 9.5, 2)
    assert not found[0]


def test_pages_without_ink():
    """Real pages (1-bit bebel, the sparse 0186 with 8 lines, colour kant) may
    hold text; blank white, black, grey-noise and dusty pages do not."""
    for _, path, _ in BEBEL + KANT:
        image = Image.open(path)
        assert no_ink(np.asarray(image.convert('L' if image.mode == '1' else image.mode))) is None, path
    noise = np.random.RandomState(0)
    white = np.full((3000, 2000), 255, dtype=np.uint8)
    dusty = white.copy()
    dusty[noise.randint(0, 3000, 50), noise.randint(0, 2000, 50)] = 0
    grey = np.clip(200 + noise.normal(0, 6, (3000, 2000)), 0, 255).astype(np.uint8)
    for blank in (white, np.zeros((1600, 1200, 3), dtype=np.uint8), grey, dusty):
        assert no_ink(blank).startswith('no ink')


def test_word_boxes_take_whole_components_and_their_marks():
    """Two words drawn as blocks on a line (x-height rows 20-30): the
    recogniser's spans start late and end early, the first word ends in a
    comma, the second has an i-dot; a descender of the line above (cut by
    the region's top edge) and a speck of noise belong to no word."""
    mask = np.zeros((50, 200), np.uint8)
    mask[12:31, 10:16] = 1  # an ascender letter
    mask[20:31, 18:40] = 1  # x-height letters
    mask[28:35, 43:46] = 1  # the comma, down to below the baseline
    mask[20:31, 60:75] = 1
    mask[20:31, 77:80] = 1  # the i's stem ...
    mask[15:18, 77:80] = 1  # ... and its dot
    mask[20:31, 82:100] = 1
    mask[0:8, 120:124] = 1  # the line above's descender, cut by the region's edge
    mask[40, 150] = 1  # a speck
    assert core_band(mask) == (20, 31)
    spans = [(14.0, 38.0), (66.0, 96.0)]  # late and short, as CTC frames are
    boxes, owner = word_boxes(mask, spans, reach=25)
    assert boxes == [(10, 46, 12, 35), (60, 100, 15, 31)]
    assert set(np.unique(owner[mask.astype(bool)])) == {0, 1, 2}
    assert owner[2, 121] == 0 and owner[40, 150] == 0 and owner[16, 78] == 2 and owner[30, 44] == 1


def test_word_gaps_take_the_widest_blank_run_between_the_words():
    inked = np.ones(100, bool)
    inked[30:34] = False  # a gap between letters, nearer to the frames' middle
    inked[40:50] = False  # the gap between the words
    assert word_gaps(inked, [(0.0, 30.0), (36.0, 90.0)]) == [45.0]
    assert word_gaps(np.ones(100, bool), [(0.0, 30.0), (36.0, 90.0)]) == [33.0]  # no blank column: the middle
