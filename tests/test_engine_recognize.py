"""Line cropping, 0/180° line orientation and CTC recognition on real images.

Data (tests/data/recognize/, see its README): a strip of bebel_frau_1879 page
0146 (OCR-D GT, 600 dpi Antiqua) with six GT line polygons and texts, and two
RapidOCR test lines. Models are OCR-D resources of ocrd-ppocr-recognize; a
missing model fails the test (install them with ocrd_ppocr's model installer).
"""
import json
import os

import cv2
import numpy as np
import pytest

from conftest import model_path
from scoring import cer
from ocrd_ppocr.engine.crop import crop_polygon
from ocrd_ppocr.engine.recognize import TextRecognizer, input_width
from ocrd_ppocr.engine.session import ModelError
from ocrd_ppocr.engine.textline_orientation import TextlineOrientation

DATA = os.path.join(os.path.dirname(__file__), 'data', 'recognize')
CLASSIFIERS = ['ch_ppocr_mobile_v2.0_cls.onnx']


def resource(name):
    return model_path(name, 'ocrd-ppocr-recognize')


_recognizers = {}


def recognizer(model, **kwargs):
    """One recogniser per model and options for the whole module (sessions are slow to build)."""
    key = (model, tuple(sorted(kwargs.items())))
    if key not in _recognizers:
        dictionary = resource('PP-OCRv6_rec_tiny.txt') if model == 'PP-OCRv6_rec_tiny.onnx' else None
        _recognizers[key] = TextRecognizer(resource(model), dictionary, **kwargs)
    return _recognizers[key]


def cer_of(texts, truths):
    return cer(list(zip(truths, texts)))


def ink_columns(image):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.flatnonzero((gray < 128).any(axis=0))


@pytest.fixture(scope='module')
def strip():
    with open(os.path.join(DATA, 'bebel_0146_strip.json'), encoding='utf-8') as file:
        lines = json.load(file)['lines']
    image = cv2.imread(os.path.join(DATA, 'bebel_0146_strip.png'), cv2.IMREAD_COLOR)
    assert image is not None
    return image, lines


@pytest.fixture(scope='module')
def crops(strip):
    image, lines = strip
    return [crop_polygon(image, line['points']) for line in lines], [line['text'] for line in lines]


def test_crops_are_upright_and_map_back(strip, crops):
    _, lines = strip
    for crop, line in zip(crops[0], lines):
        points = np.array(line['points'], dtype=float)
        height, width = crop.image.shape[:2]
        assert crop.image.dtype == np.uint8 and crop.image.shape[2] == 3
        assert width > 10 * height  # horizontal lines stay horizontal
        # the crop covers the polygon plus the margin: its corners lie just outside the bounding box
        corners = crop.to_image([[0, 0], [width, 0], [width, height], [0, height]])
        low, high = points.min(axis=0), points.max(axis=0)
        assert np.all(corners.min(axis=0) <= low + 1) and np.all(corners.max(axis=0) >= high - 1)
        assert np.all(corners.min(axis=0) >= low - height) and np.all(corners.max(axis=0) <= high + height)


def test_crop_gives_less_margin_above_and_below(strip):
    """LineCrop.with_margin: rows trimmed to the margin asked for (a fraction
    of the polygon's height), columns and so x positions kept; never more
    margin than cut; the pad survives a turn by 180 degrees."""
    image, lines = strip
    crop = crop_polygon(image, lines[0]['points'], margin=0.4)
    height, width = crop.image.shape[:2]
    line_height = height - 2 * crop.pad
    assert crop.pad == pytest.approx(0.4 * line_height, abs=1)
    tight = crop.with_margin(0.1)
    assert tight.shape[1] == width
    assert tight.shape[0] == pytest.approx(1.2 * line_height, abs=2)
    cut = (height - tight.shape[0]) // 2
    assert np.array_equal(tight, crop.image[cut:cut + tight.shape[0]])
    assert crop.with_margin(0.4) is crop.image and crop.with_margin(0.6) is crop.image
    assert crop.rotated_180().with_margin(0.1).shape == tight.shape
    # a crop without margin (line images, the station's crops) is never cut
    assert crop_polygon(image, lines[0]['points'], margin=0).with_margin(0.1).shape[0] == round(line_height)


def test_mask_keeps_neighbouring_lines_out(strip):
    image, lines = strip
    points = lines[2]['points']  # a line in the middle, with neighbours above and below
    masked = crop_polygon(image, points, margin=0.8).image
    unmasked = crop_polygon(image, points, margin=0.8, mask=False).image
    band = slice(0, masked.shape[0] // 6)  # well above the polygon: only the line above can be there
    assert (unmasked[band] < 128).sum() > 100
    assert (masked[band] < 128).sum() == 0
    assert np.all(masked[band] == 255)  # painted with the paper colour


def test_grey_page_gives_the_same_crops_as_bgr(strip):
    """A bilevel/grey page is cut without being tripled to BGR first: the
    crops (BGR, masked, with margins) must be the same pixels."""
    image, lines = strip
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for line in lines:
        from_grey = crop_polygon(grey, line['points'])
        from_bgr = crop_polygon(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), line['points'])
        assert from_grey.image.shape == from_bgr.image.shape and from_grey.image.shape[2] == 3
        assert np.array_equal(from_grey.image, from_bgr.image)
        assert np.allclose(from_grey.transform, from_bgr.transform)


# CER measured on these six lines (margin 0.2): v4 1.5 %, v5 0.75 %, v6 small 0 %, v6 tiny 0 %
@pytest.mark.parametrize('model,bound', [('PP-OCRv4_rec_mobile.onnx', 0.03),
                                         ('PP-OCRv5_rec_mobile.onnx', 0.02),
                                         ('PP-OCRv6_rec_small.onnx', 0.01),
                                         ('PP-OCRv6_rec_tiny.onnx', 0.01)])
def test_reads_bebel_lines(crops, model, bound):
    results = recognizer(model).recognize([crop.image for crop in crops[0]])
    assert cer_of([r.text for r in results], crops[1]) < bound
    for result in results:
        assert 0.5 < result.confidence <= 1.0


def test_character_positions(crops):
    results = recognizer('PP-OCRv5_rec_mobile.onnx').recognize([crop.image for crop in crops[0]])
    for crop, result in zip(crops[0], results):
        width = crop.image.shape[1]
        assert result.text == ''.join(char.char for char in result.chars)
        x0 = np.array([char.x0 for char in result.chars])
        x1 = np.array([char.x1 for char in result.chars])
        assert np.all(np.diff(x0) > 0) and np.all(x1 > x0)
        assert x0.min() >= 0 and x1.max() <= width
        # the characters span the ink, to within about one character width
        ink = ink_columns(crop.image)
        char_width = (ink[-1] - ink[0]) / len(result.text)
        assert abs(x0[0] - ink[0]) < char_width and abs(x1[-1] - ink[-1]) < 2 * char_width
        for char in result.chars:
            assert 1 <= len(char.alternatives) <= 3
            assert char.alternatives[0] == (char.char, pytest.approx(char.conf))


def test_batching_does_not_change_reading(crops):
    images = [crop.image for crop in crops[0]] + [cv2.imread(os.path.join(DATA, 'text_rec.jpg'))]
    single = recognizer('PP-OCRv5_rec_mobile.onnx', batch_size=1).recognize(images)
    batched = recognizer('PP-OCRv5_rec_mobile.onnx', batch_size=4).recognize(images)
    assert [r.text for r in batched] == [r.text for r in single]


@pytest.mark.parametrize('model', ['PP-OCRv4_rec_mobile.onnx', 'PP-OCRv5_rec_mobile.onnx'])
def test_reads_chinese_line(model):
    result, = recognizer(model).recognize([cv2.imread(os.path.join(DATA, 'text_rec.jpg'))])
    assert result.text == '韩国小馆'


@pytest.mark.parametrize('classifier', CLASSIFIERS)
def test_upside_down_line_is_turned_and_read(classifier, crops):
    orientation = TextlineOrientation(resource(classifier))
    upside_down = cv2.imread(os.path.join(DATA, 'text_cls.jpg'))
    bebel = crops[0][0]
    angles = orientation.classify([upside_down, bebel.image, bebel.image[::-1, ::-1]])
    assert [angle for angle, _ in angles] == [180, 0, 180]
    assert all(0.5 < conf <= 1.0 for _, conf in angles)
    (turned_line, turned_bebel), applied = orientation.upright([upside_down, bebel.rotated_180()], threshold=0.5)
    assert applied == [180, 180]
    assert np.array_equal(turned_bebel.image, bebel.image)
    assert np.allclose(turned_bebel.to_image([[5, 7]]), bebel.to_image([[5, 7]]))
    result, = recognizer('PP-OCRv5_rec_mobile.onnx').recognize([turned_line])
    assert result.text == '怪我咯'


def test_vertical_crop_is_turned(strip):
    """A line standing on the page (text running downwards) is cut out lying flat."""
    image, lines = strip
    height, width = image.shape[:2]
    standing = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)  # page pixel (x, y) -> (height - 1 - y, x)
    points = np.array(lines[0]['points'], dtype=float)
    points = np.stack([height - 1 - points[:, 1], points[:, 0]], axis=1)
    crop = crop_polygon(standing, points)
    assert crop.image.shape[1] > 10 * crop.image.shape[0]
    centre = crop.to_image([[crop.image.shape[1] / 2, crop.image.shape[0] / 2]])[0]
    assert np.allclose(centre, cv2.minAreaRect(points.astype(np.float32))[0], atol=1)
    result, = recognizer('PP-OCRv5_rec_mobile.onnx').recognize([crop.image])
    assert cer_of([result.text], [lines[0]['text']]) < 0.03


def test_long_line_is_cut_at_gaps_and_read(crops):
    """Three real lines side by side at height 48 (ratio ~75) are cut into
    pieces between words and read as one line."""
    parts = [cv2.resize(crop.image, (input_width(*crop.image.shape[:2]), 48), interpolation=cv2.INTER_AREA)
             for crop in crops[0][:3]]
    gap = np.full((48, 40, 3), 255, dtype=np.uint8)
    line = np.hstack([parts[0], gap, parts[1], gap, parts[2]])
    truth = ' '.join(crops[1][:3])
    assert line.shape[1] >= 50 * line.shape[0]
    rec = recognizer('PP-OCRv5_rec_mobile.onnx')
    pieces = rec.split(line)
    assert len(pieces) >= 2
    ink = set(ink_columns(line))
    for offset, word_gap, piece in pieces[1:]:
        assert offset not in ink and word_gap  # cut in a blank column wide enough for a space
        assert input_width(*piece.shape[:2]) <= 1.1 * rec.max_width
    result, = rec.recognize([line])
    assert cer_of([result.text], [truth]) < 0.02
    assert '  ' not in result.text
    x0 = [char.x0 for char in result.chars]
    assert np.all(np.diff(x0) > 0) and result.chars[-1].x1 <= line.shape[1]
    assert result.chars[-1].x0 > line.shape[1] - 100  # last piece offset applied


def test_cutting_keeps_words_and_spaces(crops):
    """Each bebel line cut into ~5 pieces (at most 300 px at height 48) reads as
    well as whole: the cuts fall between words and become single spaces."""
    whole = recognizer('PP-OCRv5_rec_mobile.onnx').recognize([crop.image for crop in crops[0]])
    rec = recognizer('PP-OCRv5_rec_mobile.onnx', max_width=300)
    assert all(len(rec.split(crop.image)) >= 4 for crop in crops[0])
    cut = rec.recognize([crop.image for crop in crops[0]])
    assert cer_of([r.text for r in cut], crops[1]) <= cer_of([r.text for r in whole], crops[1]) + 0.005
    assert [r.text.count(' ') for r in cut] == [t.count(' ') for t in crops[1]]


def test_wrong_dictionary_is_refused(tmp_path):
    dictionary = tmp_path / 'keys.txt'
    dictionary.write_text(''.join(f'{chr(0x4e00 + i)}\n' for i in range(100)), encoding='utf-8')
    with pytest.raises(ModelError, match=r'100 characters.*102 output classes.*has 6906'):
        TextRecognizer(resource('PP-OCRv6_rec_tiny.onnx'), str(dictionary))


def test_missing_dictionary_is_refused():
    with pytest.raises(ModelError, match='character'):
        TextRecognizer(resource('PP-OCRv6_rec_tiny.onnx'))


def test_classifier_is_not_a_recognizer():
    with pytest.raises(ModelError, match='not a text recognition model'):
        TextRecognizer(resource('ch_ppocr_mobile_v2.0_cls.onnx'))
