"""Bad input: one clear line naming the page and the problem, a valid METS,
and odd-but-legal images that simply work."""
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import BEBEL, make_workspace, output_pages, run, startup_error
from scoring import page_polygons

VALIDATE = ['ocrd', 'workspace', 'validate', '-s', 'pixel_density', '-s', 'imagefilename', '-s', 'dimension']
# failed pages are skipped without limit (core's default OCRD_MAX_MISSING_OUTPUTS=0.1 ends a run in
# which more than a tenth of the pages failed: see test_error_policy.py)
TOLERANT = {'OCRD_MAX_MISSING_OUTPUTS': '-1'}


def bebel_image(mode):
    """bebel 0186 (1-bit scan, 8 lines) in another colour mode."""
    grey = Image.open(BEBEL[3][1]).convert('L')
    if mode == 'I;16':
        return Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    if mode == 'RGBA':
        rgba = grey.convert('RGBA')
        alpha = np.full(grey.size[::-1], 255, dtype=np.uint8)
        alpha[:, :100] = 0  # a transparent margin
        rgba.putalpha(Image.fromarray(alpha))
        return rgba
    return grey.convert(mode)


@pytest.mark.parametrize('mode, suffix', [('1', '.tif'), ('L', '.png'), ('I;16', '.png'), ('RGBA', '.png'),
                                          ('CMYK', '.tif'), ('P', '.png')])
def test_odd_colour_modes_just_work(tmp_path, mode, suffix):
    path = tmp_path / f'page{suffix}'
    bebel_image(mode).save(path)
    assert Image.open(path).mode == mode
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0186', path, None)])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory)
    lines = page_polygons(output_pages(directory, 'OCR-D-SEG')['PHYS_0186'])
    assert 7 <= len(lines) <= 9, f'{mode}: {len(lines)} lines'


def test_blank_page_gives_no_lines_and_no_error(tmp_path):
    Image.new('L', (2000, 3000), 255).save(tmp_path / 'blank.png')
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', tmp_path / 'blank.png', None)])
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory)
    assert 'ERROR' not in result.stderr
    assert page_polygons(output_pages(directory, 'OCR-D-SEG')['PHYS_0001']) == []
    run(VALIDATE + ['-q', 'OCR-D-SEG'], cwd=directory)


def _broken_workspace(tmp_path, damage):
    """Two pages; `damage(directory)` spoils the first one's image."""
    directory = make_workspace(tmp_path, [('PHYS_0001', BEBEL[3][1], None), ('PHYS_0002', BEBEL[3][1], None)])
    damage(directory / 'OCR-D-IMG' / 'OCR-D-IMG_0001.tif')
    return directory


@pytest.mark.parametrize('damage, words', [
    (lambda path: path.unlink(), 'File not found'),
    (lambda path: path.write_bytes(b'II*\x00 this is not a TIFF at all'), 'cannot identify image file'),
    (lambda path: path.write_bytes(b''), 'cannot identify image file'),
], ids=['missing', 'unreadable', 'zero-size'])
def test_bad_image_is_one_line_and_other_pages_go_on(tmp_path, damage, words):
    directory = _broken_workspace(tmp_path, damage)
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory, env=TOLERANT)
    ours = [line for line in result.stderr.splitlines() if 'ERROR ocrd.processor.base - cannot' in line]
    assert len(ours) == 1 and 'PHYS_0001' in ours[0] and words in ours[0], result.stderr
    assert 'Traceback' not in result.stderr
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0002'}
    run(VALIDATE + ['-q', 'OCR-D-SEG'], cwd=directory)


def test_malformed_page_xml(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    gt = directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml'
    gt.write_text(gt.read_text()[:5000])  # truncated in the middle of an element
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG'], cwd=directory, env=TOLERANT)
    errors = [line for line in result.stderr.splitlines() if 'ERROR' in line]
    assert len(errors) == 1 and 'malformed PAGE-XML' in errors[0] and 'PHYS_0186' in errors[0], result.stderr
    assert 'Traceback' not in result.stderr
    assert not output_pages(directory, 'OCR-D-SEG')
    run(VALIDATE + ['-Q', 'OCR-D-GT-SEG'], cwd=directory)  # the METS is still valid


def test_unknown_model_lists_installed_ones(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG', '-P', 'model', 'PP-OCRv9_det'],
                         directory)
    assert last.startswith('ocrd-ppocr-detect: error: detection model \'PP-OCRv9_det\' not found')
    assert 'PP-OCRv6_det_tiny.onnx' in last and 'ocrd resmgr download ocrd-ppocr-detect' in last
    assert not (directory / 'OCR-D-SEG').exists()


def test_wrong_kind_of_model_is_rejected(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG',
                  '-P', 'model', 'PP-OCRv5_rec_mobile.onnx'], cwd=directory, check=False)
    assert result.returncode == 1
    assert 'is not a text detection model' in result.stderr.strip().splitlines()[-1]
    (tmp_path / 'not-a-model.onnx').write_text('hello')
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG',
                  '-P', 'model', str(tmp_path / 'not-a-model.onnx')], cwd=directory, check=False)
    assert result.returncode == 1
    assert 'not a loadable ONNX model' in result.stderr.strip().splitlines()[-1]
    assert 'Traceback' not in result.stderr


def test_missing_input_file_group(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-NOPE', '-O', 'OCR-D-SEG'], cwd=directory, check=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('ocrd-ppocr-detect: error:') and 'OCR-D-NOPE' in last
    assert 'Traceback' not in result.stderr


def test_huge_page_is_detected_in_tiles_within_memory(tmp_path):
    """A 15000x10000 page (ten real bebel pages side by side): lines found,
    peak RSS of the processor at most 2.5 GB."""
    Image.MAX_IMAGE_PIXELS = None
    pages = [np.asarray(Image.open(page[1]).convert('L')) for page in BEBEL]
    strip = np.concatenate([pages[i % 4] for i in range(5)], axis=1)[:, :15000]
    huge = np.full((10000, 15000), 255, dtype=np.uint8)
    huge[:4660], huge[5000:9660] = strip, strip
    Image.fromarray(huge).convert('1').save(tmp_path / 'huge.tif', compression='group4')
    del pages, strip, huge
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', tmp_path / 'huge.tif', None)])
    measure = ('import resource, subprocess, sys; '
               'subprocess.run(sys.argv[1:], check=True); '
               'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
    result = run([sys.executable, '-c', measure, 'ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'],
                 cwd=directory)
    peak_mb = int(result.stdout.split()[-1]) / 1024
    lines = page_polygons(output_pages(directory, 'OCR-D-SEG')['PHYS_0001'])
    assert len(lines) > 300, f'{len(lines)} lines on ten pages of about 40 lines each'
    assert peak_mb <= 2560, f'peak RSS {peak_mb:.0f} MB'
