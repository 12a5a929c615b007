"""engine.maixcam_pipeline against what MaixCDK's PP_OCR does, as its source
says (github.com/sipeed/MaixCDK: components/nn/src/maix_nn_pp_ocr.cpp,
components/nn/include/maix_nn_pp_ocr.hpp, components/nn/src/
pp_ocr_postprocess_op.cpp, components/vision/src/maix_image.cpp). The
expected values are the source's, written out here, not read from our
constants; the images are real (kant 0020, see tests/data/README.md)."""
import configparser
import math

import cv2
import numpy as np
import pytest

from conftest import KANT, model_path
from scoring import hmean, matched_pairs, page_lines

from ocrd_ppocr.engine.maixcam_pipeline import (StationDetector, StationRecognizer, bitmap_of, boxes_from_bitmap,
                                               det_blob, letterbox, rec_blob, rec_pieces, station_crop)
from ocrd_ppocr.maixcam.export import mud_text

# a 1200x600 camera-like frame of kant 0020 with ten whole GT lines in it
FRAME = (150, 300, 1200, 600)  # x, y, width, height


@pytest.fixture(scope='module')
def kant_page():
    _, image, xml = KANT[1]
    return cv2.imread(str(image)), page_lines(xml)


@pytest.fixture(scope='module')
def frame_and_lines(kant_page):
    page, lines = kant_page
    x0, y0, width, height = FRAME
    inside = [([(x - x0, y - y0) for x, y in polygon], text) for polygon, text in lines
              if all(x0 <= x < x0 + width and y0 <= y < y0 + height for x, y in polygon)]
    return page[y0:y0 + height, x0:x0 + width], inside


def test_letterbox_is_centred_and_black(frame_and_lines):
    """maix_image.cpp Image::resize(FIT_CONTAIN): scale min(320/1200, 224/600),
    image at ((320 - w) / 2, (224 - h) / 2), black around: 32 rows above and below."""
    frame, _ = frame_and_lines
    canvas, scale = letterbox(frame, (224, 320))
    assert canvas.shape == (224, 320, 3)
    assert scale == pytest.approx(320 / 1200)
    ink_rows = np.flatnonzero(canvas.max(axis=(1, 2)) > 0)
    top, bottom = ink_rows[0], 223 - ink_rows[-1]
    assert top == bottom == (224 - 160) // 2
    assert not canvas[:top].any() and not canvas[224 - bottom:].any()
    assert canvas[top:224 - bottom].min(axis=(0, 2)).max() > 100  # paper across the whole width


def test_letterbox_pads_a_tall_frame_left_and_right(kant_page):
    page, _ = kant_page  # 1457 wide, 2084 high: scale 224/2084, 157 columns of page
    canvas, _ = letterbox(page, (224, 320))
    columns = np.flatnonzero(canvas.max(axis=(0, 2)) > 0)
    inner = round(1457 * 224 / 2084)
    assert columns[0] == (320 - inner) // 2
    assert 319 - columns[-1] in ((320 - inner) // 2, (320 - inner) // 2 + 1)


def test_station_boxes_land_on_the_lines_of_the_frame(frame_and_lines):
    """Boxes found in the centred letterbox and mapped back with _correct_bbox's
    padding match the frame's GT lines (a top-left letterbox mapped as centred
    would put every box 32/scale = 120 px too high)."""
    frame, lines = frame_and_lines
    detector = StationDetector(model_path('PP-OCRv3_det_maixcam_fp32.onnx'), threads=1)
    found = [d.points for d in detector.detect(frame).detections]
    gt = [polygon for polygon, _ in lines]
    assert len(gt) == 10
    assert hmean(len(matched_pairs(gt, found)), len(gt), len(found)) >= 0.9
    for points in found:  # integer corners, as OCR_Box holds them
        assert np.array_equal(points, np.round(points))


def test_map_is_thresholded_as_uint8():
    """maix_nn_pp_ocr.cpp: uint8(p * 255) > uint8(0.3 * 255) = 76, so 0.3 and
    76.9/255 are background, 77/255 is text."""
    pred = np.array([[0.3, 76.9 / 255, 77 / 255, 0.9]], dtype=np.float32)
    assert bitmap_of(pred, 0.3).tolist() == [[0, 0, 1, 1]]


def _blob_map(width, height, value):
    pred = np.zeros((224, 320), dtype=np.float32)
    pred[100:100 + height, 50:50 + width] = value
    return pred


@pytest.mark.parametrize('value, kept', [(0.55, False), (0.65, True)])
def test_box_threshold_is_0_6(value, kept):
    """PP_OCR::detect(img, thresh=0.3, box_thresh=0.6) in maix_nn_pp_ocr.hpp."""
    pred = _blob_map(100, 10, value)
    assert bool(boxes_from_bitmap(pred, bitmap_of(pred))) == kept


def test_boxes_grow_by_unclip_ratio_1_5():
    """_unclip_ratio = 1.5 in maix_nn_pp_ocr.hpp: a 100x10 blob (its contour's
    rectangle 99x9) grows by 99 * 9 * 1.5 / (2 * (99 + 9)) on every side."""
    pred = _blob_map(100, 10, 0.9)
    (corners, score), = boxes_from_bitmap(pred, bitmap_of(pred))
    grow = 99 * 9 * 1.5 / (2 * (99 + 9))
    assert corners[3, 1] - corners[0, 1] == pytest.approx(9 + 2 * grow, abs=1)
    assert corners[1, 0] - corners[0, 0] == pytest.approx(99 + 2 * grow, abs=1)
    assert score == pytest.approx(0.9)


def test_thin_marks_are_kept_by_their_longer_side():
    """BoxesFromBitmap's GetMiniBoxes returns max(width, height) as the size tested
    against min_size 3 (PaddleOCR's Python tests the shorter side): a 7x2 mark
    is a box on the station."""
    pred = _blob_map(7, 2, 0.9)
    assert len(boxes_from_bitmap(pred, bitmap_of(pred))) == 1


def _line_crop(frame_and_lines, index=0):
    frame, lines = frame_and_lines
    polygon, text = lines[index]
    return station_crop(frame, np.array(polygon)), text


def test_crop_has_no_margin_and_black_outside_the_frame(frame_and_lines):
    """_recognize warps the box to (int |top edge|, int |left edge|), bilinear,
    with a constant black border (its BORDER_REPLICATE is passed as warpPerspective's
    flags); no margin around the box."""
    frame, _ = frame_and_lines
    box = np.array([[-20, 10], [300, 10], [300, 60], [-20, 60]], dtype=np.float32)
    crop = station_crop(frame, box).image
    assert crop.shape == (50, 320, 3)
    assert not crop[:, :20].any()  # left of the frame: black
    assert crop[:, 25:].min(axis=(0, 2)).max() > 100  # the frame's paper


def test_700_pixel_line_is_cut_into_320_pixel_pieces_padded_black(frame_and_lines):
    """maix_nn_pp_ocr.cpp L191-228: at height 48, a line wider than 320 is cut every
    320 pixels; the last piece is padded with 0 (black) on the right."""
    crop, _ = _line_crop(frame_and_lines)
    line = cv2.resize(crop.image, (700, 48), interpolation=cv2.INTER_AREA)
    pieces, width = rec_pieces(line)
    assert width == 700 and len(pieces) == 3
    assert all(piece.shape == (48, 320, 3) for piece in pieces)
    assert np.array_equal(pieces[0], line[:, :320]) and np.array_equal(pieces[1], line[:, 320:640])
    assert np.array_equal(pieces[2][:, :60], line[:, 640:]) and not pieces[2][:, 60:].any()


def test_short_line_is_padded_black_to_320(frame_and_lines):
    crop, _ = _line_crop(frame_and_lines)
    line = cv2.resize(crop.image, (200, 48), interpolation=cv2.INTER_AREA)
    (piece,), width = rec_pieces(line)
    assert width == 200 and np.array_equal(piece[:, :200], line) and not piece[:, 200:].any()


def test_pieces_are_read_alone_and_joined_without_space(frame_and_lines):
    """Each 320-pixel piece is decoded on its own, greedy CTC restarting at its
    first frame (argmax per frame, a class equal to the previous frame's or blank
    dropped), and the texts are concatenated (maix_nn_pp_ocr.cpp L214-228)."""
    crop, text = _line_crop(frame_and_lines)
    recognizer = StationRecognizer(model_path('PP-OCRv4_rec_maixcam_fp32.onnx', 'ocrd-ppocr-recognize'), threads=1)
    pieces, width = rec_pieces(crop.image)
    assert len(pieces) == math.ceil(width / 320) >= 2
    joined = ''
    for piece in pieces:
        probs = recognizer.reader.session.run(None, {recognizer.reader.input_name: rec_blob(piece)})[0][0]
        assert probs.shape[0] * 8 == 320  # PP_OCR::load requires 8 input pixels per frame
        last = 0
        for best in probs.argmax(axis=1):
            if best != last and best != 0:
                joined += recognizer.labels[best]
            last = best
    line = recognizer.recognize([crop.image])[0]
    assert line.text == joined.strip(' ')
    assert line.chars[-1].x1 <= crop.image.shape[1]
    assert len(line.text) >= 0.8 * len(text)


def test_normalisation_is_the_one_the_station_is_given(frame_and_lines):
    """The detector and recogniser inputs use the mean and scale that
    ocrd-ppocr-maixcam-export writes into pp_ocr.mud for PP_OCR::load, channel
    by channel of the BGR image (input_type = bgr)."""
    mud = configparser.ConfigParser()
    mud.read_string(mud_text())
    extra = mud['extra']
    assert extra['input_type'] == 'bgr'
    mean, scale = ([float(v) for v in extra[key].split(',')] for key in ('mean', 'scale'))
    frame, _ = frame_and_lines
    canvas, _ = letterbox(frame)
    expected = (canvas.astype(np.float64) - mean) * scale
    assert np.allclose(det_blob(canvas)[0].transpose(1, 2, 0), expected, atol=1e-4)
    piece = rec_pieces(_line_crop(frame_and_lines)[0].image)[0][0]
    rec_mean, rec_scale = (float(extra[key].split(',')[0]) for key in ('rec_mean', 'rec_scale'))
    assert np.allclose(rec_blob(piece)[0].transpose(1, 2, 0), (piece - rec_mean) * rec_scale, atol=1e-5)
