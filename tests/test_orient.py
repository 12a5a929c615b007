"""ocrd-ppocr-orient: real pages turned by 0/90/180/270 degrees, the real
PP-LCNet document orientation model, and detection on the turned pages."""
from pathlib import Path

import numpy as np
import pytest
from ocrd_models.ocrd_page import parse
from PIL import Image

from conftest import BEBEL, KANT, make_workspace, model_path, output_pages, run, startup_error
from scoring import match, page_polygons

from ocrd_ppocr.engine.page_orientation import MAX_WINDOWS, PageOrientation, unclassifiable, windows

# a phone photo of a curved book page (OCR-D/assets page_dewarp, at half size: tests/data/README.md)
BOSTON = Path(__file__).parent / 'data' / 'page_dewarp' / 'boston_cooking_a_half.jpg'


def bgr(path):
    return np.ascontiguousarray(np.asarray(Image.open(path).convert('RGB'))[:, :, ::-1])


@pytest.fixture(scope='module')
def classifier():
    return PageOrientation(model_path('PP-LCNet_doc_ori.onnx', 'ocrd-ppocr-orient'))


@pytest.mark.parametrize('path', [BEBEL[3][1], KANT[0][1]], ids=['bebel_0186', 'kant_0017'])
def test_every_turn_is_classified(classifier, path):
    """np.rot90 turns counter-clockwise: k quarter turns counter-clockwise
    are (360 - 90 k) degrees clockwise, the class the model must give."""
    image = bgr(path)
    for k in range(4):
        angle, confidence = classifier.classify(np.ascontiguousarray(np.rot90(image, k)))
        print(f'{Path(path).name} turned counter-clockwise {90 * k}: class {angle}, confidence {confidence:.3f}')
        assert angle == (360 - 90 * k) % 360, f'k={k}: {angle} ({confidence:.3f})'
        assert confidence > 0.6


def _turned_page(tmp_path, k):
    page_id, image_path, gt_path = BEBEL[3]
    upright = Image.open(image_path).convert('L')
    width, height = upright.size
    turned = Image.fromarray(np.ascontiguousarray(np.rot90(np.asarray(upright), k)))
    turned.save(tmp_path / 'turned.png')
    # where np.rot90 moves an upright pixel (x, y)
    move = {1: lambda x, y: (y, width - 1 - x),
            2: lambda x, y: (width - 1 - x, height - 1 - y),
            3: lambda x, y: (height - 1 - y, x)}[k]
    gt_lines = [[move(x, y) for x, y in polygon] for polygon in page_polygons(gt_path)]
    return page_id, tmp_path / 'turned.png', gt_lines


@pytest.mark.parametrize('k, orientation, feature', [(1, 90, 'rotated-270'), (2, 180, 'rotated-180'),
                                                     (3, -90, 'rotated-90')])
def test_orient_then_detect_gives_lines_on_the_turned_original(tmp_path, k, orientation, feature):
    page_id, image, gt_lines = _turned_page(tmp_path, k)
    directory = make_workspace(tmp_path / 'ws', [(page_id, image, None)])
    run(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT'], cwd=directory)
    page = parse(str(output_pages(directory, 'OCR-D-ORIENT')[page_id]), silence=True).get_Page()
    assert page.get_orientation() == orientation
    images = page.get_AlternativeImage()
    assert [alt.get_comments() for alt in images] == [feature]
    upright = Image.open(directory / images[0].get_filename())
    assert upright.size == Image.open(BEBEL[3][1]).size  # the upright page, full resolution
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-ORIENT', '-O', 'OCR-D-SEG'], cwd=directory)
    out_lines = page_polygons(output_pages(directory, 'OCR-D-SEG')[page_id])
    matched = match(gt_lines, out_lines)
    assert matched >= len(gt_lines) - 1, f'{matched} of {len(gt_lines)} lines found on the turned original'
    run(['ocrd', 'workspace', 'validate', '-q', 'OCR-D-ORIENT', '-s', 'pixel_density'], cwd=directory)


def test_upright_and_unsure_pages_are_left_alone(tmp_path):
    page_id, image, _ = _turned_page(tmp_path, 1)
    directory = make_workspace(tmp_path / 'ws', [BEBEL[2], (page_id, image, None)])
    result = run(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT', '-g', BEBEL[2][0]], cwd=directory)
    assert 'left as it is' in result.stderr
    result = run(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT', '-g', page_id,
                  '-P', 'threshold', '0.99'], cwd=directory)
    assert 'left as it is' in result.stderr
    for path in output_pages(directory, 'OCR-D-ORIENT').values():
        page = parse(str(path), silence=True).get_Page()
        assert not page.get_orientation() and not page.get_AlternativeImage()


def test_photographed_page_on_its_side_is_found(tmp_path):
    """boston_cooking_a.jpg carries EXIF orientation 6, which core does not
    apply: as loaded, its text runs bottom to top."""
    directory = make_workspace(tmp_path, [('PHYS_0001', BOSTON, None)])
    result = run(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT'], cwd=directory)
    print([line for line in result.stderr.splitlines() if 'page PHYS_0001' in line])
    page = parse(str(output_pages(directory, 'OCR-D-ORIENT')['PHYS_0001']), silence=True).get_Page()
    assert page.get_orientation() == 90
    assert page.get_AlternativeImage()[0].get_comments() == 'rotated-270'
    assert Image.open(directory / page.get_AlternativeImage()[0].get_filename()).size == (1224, 1632)


def test_unknown_model(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT', '-P', 'model', 'nothing_ori'],
                         directory)
    assert last.startswith("ocrd-ppocr-orient: error: orientation model 'nothing_ori' not found")
    assert 'PP-LCNet_doc_ori.onnx' in last


def test_detector_is_not_an_orientation_model():
    from ocrd_ppocr.engine.session import ModelError
    with pytest.raises(ModelError, match='not a page orientation model'):
        PageOrientation(model_path('PP-OCRv6_det_tiny.onnx'))


def test_windows_are_bounded_and_slivers_not_classified(classifier):
    """However long the page, at most MAX_WINDOWS windows along a side; an
    image too small or too thin to be a page is not classified (confidence 0)."""
    long_page = np.full((300, 6000, 3), 255, dtype=np.uint8)  # 20:1, resized to 256x5120
    batch, weights = windows(long_page)
    assert len(batch) == len(weights) <= 2 * MAX_WINDOWS
    assert classifier.classify(long_page)[1] > 0
    for height, width in ((20, 5000), (1, 1), (31, 400), (100, 2100)):
        assert unclassifiable(height, width) and unclassifiable(width, height)
        assert classifier.classify(np.full((height, width, 3), 255, dtype=np.uint8)) == (0, 0.0)
    assert unclassifiable(32, 640) is None and unclassifiable(2083, 1457) is None
