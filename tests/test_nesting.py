"""Every polygon we write nests in its parent (glyph in word in line in
region) as `ocrd workspace validate` tests it: both outlines simplified by a
pixel, the child within the parent grown by 1.5 pixels. Ink-fitted words
are staircases, and simplifying one can cut across a notch of its line's
outline: kant 0017's word region0005_line0005_word0001 reached a pixel
above its line that way (issue 32)."""
import numpy as np
from ocrd_models.ocrd_page import parse
from ocrd_utils import polygon_from_points
from ocrd_validators.page_validator import make_poly, PARENT_SLACK
from shapely.geometry import Polygon

from conftest import KANT, make_workspace, output_pages, run
from ocrd_ppocr.processors.geometry import (all_nest, as_validated, exterior_points, integer_parts, integer_polygon,
                                           largest_part, nested_polygon, nests, points_string)

VALIDATE = ['ocrd', 'workspace', 'validate', '-s', 'pixel_density', '-s', 'imagefilename',
            '--page-textequiv-consistency', 'strict']

# as written before: the word, clipped to its line exactly, and the notch of the line it crossed
LINE = ('115,1349 133,1349 133,1353 151,1353 169,1353 169,1349 187,1349 205,1349 205,1353 223,1353 223,1349 '
        '241,1349 259,1349 277,1349 295,1349 313,1349 313,1350 330,1350 330,1349 348,1349 366,1349 384,1349 '
        '384,1350 402,1350 420,1350 420,1351 438,1351 438,1353 456,1353 456,1350 474,1350 492,1350 492,1353 '
        '510,1353 510,1350 528,1350 528,1351 546,1351 546,1350 564,1350 582,1350 582,1353 600,1353 600,1350 '
        '618,1350 618,1349 636,1349 654,1349 672,1349 690,1349 708,1349 725,1349 725,1353 743,1353 743,1349 '
        '761,1349 779,1349 797,1349 815,1349 833,1349 833,1350 851,1350 869,1350 869,1349 887,1349 905,1349 '
        '923,1349 923,1324 905,1324 887,1324 887,1322 869,1322 869,1317 851,1317 833,1317 833,1324 815,1324 '
        '797,1324 779,1324 761,1324 761,1322 743,1322 743,1318 725,1318 708,1318 708,1321 690,1321 690,1324 '
        '672,1324 654,1324 636,1324 636,1318 618,1318 618,1319 600,1319 582,1319 582,1324 564,1324 546,1324 '
        '546,1323 528,1323 528,1324 510,1324 510,1320 492,1320 492,1322 474,1322 474,1324 456,1324 456,1320 '
        '438,1320 420,1320 402,1320 402,1324 384,1324 384,1320 366,1320 366,1323 348,1323 348,1324 330,1324 '
        '313,1324 295,1324 277,1324 259,1324 241,1324 223,1324 223,1323 205,1323 205,1324 187,1324 187,1318 '
        '169,1318 169,1320 151,1320 151,1319 133,1319 133,1324 115,1324')
WORD = ('169,1319 169,1320 151,1320 133,1319 133,1324 115,1324 115,1349 133,1349 133,1353 151,1353 169,1353 '
        '169,1349 187,1349 205,1349 205,1353 223,1353 223,1349 228,1349 228,1324 223,1324 205,1324 187,1324 '
        '187,1318')


def _validator_accepts(child, parent):
    """core's PageValidator test of a child's Coords, as in validate_consistency"""
    child, parent = make_poly(child), make_poly(parent)
    return isinstance(child, Polygon) and child.within(parent.buffer(PARENT_SLACK))


def test_a_word_exactly_inside_its_line_can_fail_the_validator():
    line = np.array(polygon_from_points(LINE))
    word = np.array(polygon_from_points(WORD))
    assert Polygon(word).within(Polygon(line))
    assert not _validator_accepts(word.tolist(), line.tolist())
    nested = nested_polygon(word, line)
    assert nested is not None and nests(nested, Polygon(line))
    assert _validator_accepts(nested.tolist(), line.tolist())
    assert Polygon(nested).area > 0.9 * Polygon(word).area  # shrunk by a pixel at most, not replaced
    assert nested_polygon(word + [2000, 0], line) is None  # nothing of it inside: the caller falls back


def test_words_of_a_line_at_once_as_one_by_one():
    """integer_parts and all_nest (a line's words tested at once) give what
    integer_polygon and nests give for each word alone: for boxes cut out
    of kant's line above: reaching above and below it (its notches), inside
    it, thinner than a pixel, outside it, under a pixel's area."""
    import shapely
    line = Polygon(np.array(polygon_from_points(LINE)))
    boxes = [(115, 228, 1310, 1360), (300, 400, 1322, 1340), (500.2, 500.6, 1330, 1340),
             (600.3, 600.4, 1325, 1326), (2000, 2100, 1320, 1340), (140, 160, 1351.4, 1353.2),
             (450, 520, 1300, 1352)]
    shapes = shapely.polygons([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)] for x0, x1, y0, y1 in boxes])
    clipped = shapely.intersection(shapes, as_validated(line))
    one_by_one = []
    for geometry in clipped:
        part = largest_part(geometry)
        one_by_one.append(integer_polygon(exterior_points(part)) if not part.is_empty and part.area >= 1 else None)
    at_once = integer_parts(clipped)
    assert [None if p is None else points_string(p) for p in at_once] == \
        [None if p is None else points_string(p) for p in one_by_one]
    assert sum(p is None for p in at_once) >= 2 and sum(p is not None for p in at_once) >= 3
    expected = [p is not None and len(p) >= 4 and nests(p, line) for p in one_by_one]
    assert all_nest(at_once, line).tolist() == expected and any(expected)


def test_default_chain_on_kant_nests_every_word_and_glyph(tmp_path):
    """kant 0017, detect and recognize with their defaults (words) and with
    glyphs: strict validation is clean, and every Word and Glyph passes the
    validator's containment test in its parent."""
    directory = make_workspace(tmp_path, KANT[:1], gt_grp='OCR-D-GT')
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory)
    run(['ocrd-ppocr-recognize', '-I', 'OCR-D-SEG', '-O', 'OCR-D-OCR'], cwd=directory)
    run(['ocrd-ppocr-recognize', '-I', 'OCR-D-SEG', '-O', 'OCR-D-GLYPH', '-P', 'textequiv_level', 'glyph'],
        cwd=directory)
    for grp in ('OCR-D-SEG', 'OCR-D-OCR', 'OCR-D-GLYPH'):
        run(VALIDATE + ['-q', grp], cwd=directory)  # fails on any error
    page = parse(str(output_pages(directory, 'OCR-D-GLYPH')['PHYS_0017']), silence=True).get_Page()
    words = glyphs = 0
    for region in page.get_TextRegion():
        for line in region.get_TextLine():
            assert _validator_accepts(_points(line), _points(region)), line.id
            for word in line.get_Word():
                words += 1
                assert _validator_accepts(_points(word), _points(line)), word.id
                for glyph in word.get_Glyph():
                    glyphs += 1
                    assert _validator_accepts(_points(glyph), _points(word)), glyph.id
    assert words > 100 and glyphs > 600, (words, glyphs)  # 118 and 682
    ids = {word.id for line in page.get_AllTextLines() for word in line.get_Word()}
    assert 'region0005_line0005_word0001' in ids


def _points(segment):
    return polygon_from_points(segment.get_Coords().points)
