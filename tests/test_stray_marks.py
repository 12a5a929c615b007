"""Accents the page does not confirm are read as the bare letter
(ocrd_ppocr/engine/stray_marks.py, `accents` of ocrd-ppocr-recognize and
ocrd-ppocr-predict)."""
from click.testing import CliRunner

from conftest import BEBEL, cut_gt_line
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
    assert [bare_letter(c) for c in 'がάй'] == [None] * 3  # other scripts' marks are theirs
    assert [bare_letter(c) for c in 'āẽęçñ'] == [None] * 5  # early prints' abbreviation marks, cedilla, tilde


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


def test_small_e_above_a_letter_that_takes_none_goes():
    """Fraktur's small e above marks an umlaut of a, o, u only (kant 0020:
    the Fraktur model read "als dͤie"); aͤ, oͤ, Uͤ stay, however unsure."""
    misread = line(('d\u0364', 0.62, [('d\u0364', 0.62), ('o\u0364', 0.2)]), ('i', 0.99, None), ('e', 0.99, None))
    result = drop_stray_marks([misread])[0]
    assert result.text == 'die'
    assert (result.chars[0].char, result.chars[0].x0, result.chars[0].x1) == ('d', 0, 1)
    assert result.chars[0].alternatives == [('d', 0.62), ('o\u0364', 0.2)]
    kept = line(('a\u0364', 0.5, None), ('o\u0364', 0.5, None), ('U\u0364', 0.5, None))
    assert drop_stray_marks([kept])[0].text == 'a\u0364o\u0364U\u0364'


def test_a_real_stray_accent_is_dropped_by_default(tmp_path):
    """PP-OCRv6_rec_small reads 'giebt es' of bebel 0146's line l37 as
    'giebt ès'; by default the folder (one page) does not confirm the è."""
    truth = cut_gt_line(BEBEL[0], 'l37', tmp_path / 'l37.png')
    assert 'giebt es nicht' in truth
    for accents, expected in (('as-read', 'giebt ès nicht'), ('page', 'giebt es nicht')):
        result = CliRunner().invoke(predict_main, ['-m', 'PP-OCRv6_rec_small', '--accents', accents, str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert expected in (tmp_path / 'l37.pred.txt').read_text(encoding='utf-8')
