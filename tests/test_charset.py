"""Restricting what the recogniser may read (script, whitelist, blacklist),
on the line of bebel_frau_1879 page 0176 where the whole dictionary reads the
dash of the page number "— 170 —" as the ideograph 一."""
import numpy as np
import pytest
from ocrd_models.ocrd_page import parse
from PIL import Image

from conftest import BEBEL, KANT, make_workspace, model_path, output_pages, run
from ocrd_ppocr.engine.charset import allowed_classes, is_latin
from ocrd_ppocr.engine.crop import crop_polygon
from ocrd_ppocr.engine.recognize import TextRecognizer

PAGE_ID, IMAGE, GT = BEBEL[2]  # page 0176
IDEOGRAPH_ONE = '一'


def page_number_crop():
    page = parse(str(GT), silence=True).get_Page()
    line = page.get_TextRegion()[0].get_TextLine()[0]
    assert line.get_TextEquiv()[0].Unicode == '— 170 —'
    points = np.array([[int(v) for v in p.split(',')] for p in line.get_Coords().points.split()], np.float32)
    return crop_polygon(np.asarray(Image.open(IMAGE).convert('L')), points).image


@pytest.fixture(scope='module')
def model():
    return model_path('PP-OCRv6_rec_small.onnx', 'ocrd-ppocr-recognize')


def test_allowed_classes_of_the_real_dictionary(model):
    labels = TextRecognizer(model).labels
    assert allowed_classes(labels) is None  # nothing to restrict: decoding as before
    latin = {labels[i] for i in allowed_classes(labels, 'latin')}
    assert {'', ' ', 'a', 'Z', 'ä', 'ß', 'ſ', 'é', '0', '—', '“', '§', '€'} <= latin
    assert not {IDEOGRAPH_ONE, 'Ω', 'Ж', '，', 'あ'} & latin
    assert 500 < len(latin) < 2000 < len(labels)
    digits = [labels[i] for i in allowed_classes(labels, 'latin', whitelist='0123456789')]
    assert sorted(digits) == sorted(['', *'0123456789', ' '])  # the whitelist overrides the script
    no_dash = {labels[i] for i in allowed_classes(labels, 'any', blacklist='—-')}
    assert len(no_dash) == len(labels) - 2 and '—' not in no_dash and ' ' in no_dash
    with pytest.raises(ValueError, match='unknown script'):
        allowed_classes(labels, 'klingon')


def test_latin_reads_no_ideograph(model):
    crop = page_number_crop()
    assert TextRecognizer(model).recognize([crop])[0].text == IDEOGRAPH_ONE + ' 170 —'
    for options in ({'script': 'latin'}, {'blacklist': IDEOGRAPH_ONE}):
        line = TextRecognizer(model, **options).recognize([crop])[0]
        assert line.text == '- 170 —', options  # the best allowed reading of that dash
        assert all(is_latin(char.char) for char in line.chars)
    digits = TextRecognizer(model, whitelist='0123456789').recognize([crop])[0].text
    assert digits.strip() == '170'


def test_recognize_with_script_latin(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[2]])
    # the general model alone (model=auto would re-read this unsure line with the Fraktur model: '— 170 —')
    run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'script', 'latin',
         '-P', 'model', 'PP-OCRv6_rec_small', '-P', 'textequiv_level', 'glyph'], cwd=directory)
    page = parse(str(output_pages(directory, 'OCR-D-OCR')[PAGE_ID]), silence=True).get_Page()
    lines = [line for region in page.get_TextRegion() for line in region.get_TextLine()]
    assert lines[0].get_TextEquiv()[0].Unicode == '- 170 —'
    text = '\n'.join(line.get_TextEquiv()[0].Unicode for line in lines)
    assert len(text) > 2000 and is_latin(text.replace('\n', ' '))
    # the top-k alternatives of each glyph come from the allowed characters too
    alternatives = [te.Unicode for line in lines for word in line.get_Word() for glyph in word.get_Glyph()
                    for te in glyph.get_TextEquiv()]
    assert len(alternatives) > 3 * 2000 and is_latin(''.join(alternatives))


def test_whitelist_characters_the_model_lacks_are_named(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[2]])
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'char_whitelist', '0123456789Ж',
                  '-P', 'textequiv_level', 'line'], cwd=directory)
    assert 'char_whitelist: Ж not in the dictionary of PP-OCRv6_rec_small.onnx' in result.stderr
    page = parse(str(output_pages(directory, 'OCR-D-OCR')[PAGE_ID]), silence=True).get_Page()
    lines = [line for region in page.get_TextRegion() for line in region.get_TextLine()]
    assert lines[0].get_TextEquiv()[0].Unicode == '170'
    assert set(''.join(line.get_TextEquiv()[0].Unicode for line in lines)) <= set('0123456789 ')


def test_latin_keeps_the_fraktur_line_end_hyphen(tmp_path):
    """The Fraktur model ends kant 0020's line 'Stan-' (GT) with ⸗ (U+2E17),
    one of the marks `hyphen` writes: script latin keeps it, in the line and
    its last glyph, and reads the quotes and marks of European print."""
    assert all(is_latin(mark) for mark in '⸗¬-„“‚‘‹›«»†‡¶§⁴−')
    directory = make_workspace(tmp_path, [KANT[1]])
    run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'model', 'PP-OCRv6_rec_small_fraktur',
         '-P', 'script', 'latin', '-P', 'hyphen', 'as-read', '-P', 'textequiv_level', 'glyph',
         '-P', 'overwrite_segments', 'true'], cwd=directory)
    gt = {line.id: line for line in parse(str(KANT[1][2]), silence=True).get_Page().get_AllTextLines()}
    assert gt['tl_31'].get_TextEquiv()[0].Unicode == 'Stan-'
    page = parse(str(output_pages(directory, 'OCR-D-OCR')[KANT[1][0]]), silence=True).get_Page()
    line = next(line for line in page.get_AllTextLines() if line.id == 'tl_31')
    assert line.get_TextEquiv()[0].Unicode == 'Stan⸗'
    assert line.get_Word()[-1].get_Glyph()[-1].get_TextEquiv()[0].Unicode == '⸗'
