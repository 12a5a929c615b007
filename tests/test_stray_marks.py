"""Accents the page does not confirm are read as the bare letter
(ocrd_ppocr/engine/stray_marks.py, `accents` of ocrd-ppocr-recognize and
ocrd-ppocr-predict)."""
import cv2
import numpy as np
from click.testing import CliRunner
from ocrd_models.ocrd_page import parse
from PIL import Image

from conftest import BEBEL
from ocrd_ppocr.engine.recognize import CharResult, LineResult
from ocrd_ppocr.engine.stray_marks import bare_letter, drop_stray_marks
from ocrd_ppocr.predict import main as predict_main


def line(*chars):
    """A LineResult of (char, conf, alternatives) triples."""
    results = [CharResult(char, conf, i, i + 1, alternatives or [(char, conf)])
               for i, (char, conf, alternatives) in enumerate(chars)]
    return LineResult(''.join(char for char, _, _ in chars), 0.9, results)


def test_bare_letters():
    assert [bare_letter(c) for c in 'íêÀóıłÚ'] == list('ieAoilU')
    # umlauts (both spellings), letters without a bare form, plain letters: none
    assert [bare_letter(c) for c in ['ä', 'Ü', 'a\u0364', 'ß', 'ſ', 'æ', 'e', '-']] == [None] * 8


def test_a_mark_no_other_reading_confirms_goes_where_the_model_saw_the_bare_letter():
    stray = line(('t', 0.99, None), ('h', 0.99, None), ('ê', 0.63, [('ê', 0.63), ('e', 0.35)]))
    assert drop_stray_marks([stray])[0].text == 'the'
    dropped = drop_stray_marks([stray])[0].chars[2]
    assert (dropped.char, dropped.conf, dropped.alternatives[0]) == ('e', 0.35, ('e', 0.35))
    # the model barely saw the bare letter (à tout prix on bebel: a at 0.007): kept
    french = line(('à', 0.97, [('à', 0.97), ('a', 0.007)]))
    assert drop_stray_marks([french])[0].text == 'à'
    # another confident é on the page confirms the unsure one
    unsure = line(('é', 0.80, [('é', 0.80), ('e', 0.19)]))
    sure = line(('é', 0.99, [('é', 0.99), ('e', 0.005)]))
    assert [result.text for result in drop_stray_marks([unsure, sure])] == ['é', 'é']
    # two unsure readings do not confirm each other
    assert [result.text for result in drop_stray_marks([unsure, unsure])] == ['e', 'e']
    # umlauts stay, however unsure
    umlaut = line(('ü', 0.64, [('ü', 0.64), ('u', 0.19)]))
    assert drop_stray_marks([umlaut])[0].text == 'ü'


def _bebel_line(line_id, target):
    """Cut a GT line of bebel 0146 (tests/data) to its bounding box."""
    _, image_path, gt_path = BEBEL[0]
    page = parse(str(gt_path), silence=True).get_Page()
    found = [line for region in page.get_AllRegions(classes=['Text']) for line in region.get_TextLine()
             if line.id == line_id][0]
    points = np.array([[int(v) for v in point.split(',')] for point in found.get_Coords().points.split()])
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    pixels = np.asarray(Image.open(image_path).convert('L'))
    cv2.imwrite(str(target), pixels[y0:y1 + 1, x0:x1 + 1])
    return found.get_TextEquiv()[0].Unicode


def test_a_real_stray_accent_is_dropped_by_default(tmp_path):
    """PP-OCRv6_rec_small reads 'giebt es' of bebel 0146's line l37 as
    'giebt ès'; by default the folder (one page) does not confirm the è."""
    truth = _bebel_line('l37', tmp_path / 'l37.png')
    assert 'giebt es nicht' in truth
    for accents, expected in (('as-read', 'giebt ès nicht'), ('page', 'giebt es nicht')):
        result = CliRunner().invoke(predict_main, ['-m', 'PP-OCRv6_rec_small', '--accents', accents, str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert expected in (tmp_path / 'l37.pred.txt').read_text(encoding='utf-8')
