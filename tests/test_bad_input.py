"""Bad input, the matrix of issue 14: odd but legal images and PAGE files
simply work; broken input is one clear line naming the page and the problem
(never a traceback) and leaves a valid METS; every usage error is one line
and exit code 1. (What becomes of a failed page, OCRD_MISSING_OUTPUT and
OCRD_MAX_MISSING_OUTPUTS: test_error_policy.py.)

Cases are cheap: bebel 0186 (8 lines) or a crop of it, synthetic images, and
one workspace with several cases where one run can check them all."""
import os
import sys

import numpy as np
import pytest
from ocrd_models.ocrd_page import AlternativeImageType, CoordsType, TextRegionType, parse, to_xml
from PIL import Image
from shapely.geometry import Polygon

from conftest import BEBEL, make_workspace, model_path, output_pages, run, startup_error
from scoring import page_lines, page_polygons

VALIDATE = ['ocrd', 'workspace', 'validate', '-s', 'pixel_density', '-s', 'imagefilename', '-s', 'dimension']
# failed pages are skipped without limit (core's default OCRD_MAX_MISSING_OUTPUTS=0.1 ends a run in
# which more than a tenth of the pages failed: see test_error_policy.py)
TOLERANT = {'OCRD_MAX_MISSING_OUTPUTS': '-1'}
PAGE_ID, IMAGE, GT = BEBEL[3]  # bebel 0186: a 1-bit scan, 3068x4660, 8 lines in 3 regions


def clean(result):
    """Asserts a run without errors or tracebacks; returns its stderr."""
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert not [line for line in result.stderr.splitlines() if ' ERROR ' in line], result.stderr[-3000:]
    return result.stderr


def error_lines(result):
    """The ERROR lines of a run that must have no traceback."""
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    return [line for line in result.stderr.splitlines() if ' ERROR ' in line]


def peak_rss_mb(args, cwd):
    """Run a console script; (its result, its peak RSS in MB)."""
    measure = ('import resource, subprocess, sys; '
               'result = subprocess.run(sys.argv[1:], capture_output=True, text=True); '
               'sys.stderr.write(result.stderr); '
               'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); '
               'sys.exit(result.returncode)')
    result = run([sys.executable, '-c', measure] + args, cwd=cwd)
    return result, int(result.stdout.split()[-1]) / 1024


def bebel_crop():
    """Six lines of bebel 0186 (2500x1200, grey)."""
    return Image.open(IMAGE).convert('L').crop((300, 300, 2800, 1500))


def bounds(segment):
    xs, ys = zip(*(map(int, point.split(',')) for point in segment.get_Coords().points.split()))
    return min(xs), min(ys), max(xs), max(ys)


def edit_page(path, change):
    """Parse the PAGE file at `path`, `change(page)`, write it back."""
    pcgts = parse(str(path), silence=True)
    change(pcgts.get_Page())
    path.write_text(to_xml(pcgts))


# -- images -------------------------------------------------------------------

def bebel_image(mode):
    """bebel 0186 (1-bit scan, 8 lines) in another colour mode."""
    grey = Image.open(IMAGE).convert('L')
    if mode == 'I;16':
        return Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    if mode == 'RGBA':
        rgba = grey.convert('RGBA')
        alpha = np.full(grey.size[::-1], 255, dtype=np.uint8)
        alpha[:, :100] = 0  # a transparent margin
        rgba.putalpha(Image.fromarray(alpha))
        return rgba
    return grey.convert(mode)


MODES = [('1', '.tif'), ('L', '.png'), ('I;16', '.png'), ('RGBA', '.png'), ('CMYK', '.tif'), ('P', '.png')]


def test_odd_colour_modes_just_work(tmp_path):
    """1-bit, grey, 16-bit, RGBA, CMYK and palette images of one page: all its lines."""
    pages = []
    for number, (mode, suffix) in enumerate(MODES, 1):
        path = tmp_path / f'page{number}{suffix}'
        bebel_image(mode).save(path)
        assert Image.open(path).mode == mode
        pages.append((f'PHYS_{number:04d}', path, None))
    directory = make_workspace(tmp_path / 'ws', pages)
    clean(run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory))
    out = output_pages(directory, 'OCR-D-SEG')
    for (mode, _), (page_id, _, _) in zip(MODES, pages):
        lines = page_polygons(out[page_id])
        assert 7 <= len(lines) <= 9, f'{mode}: {len(lines)} lines'


ODD_IMAGES = {  # page id: (what, how many lines detection must find)
    'PHYS_0001': ('1x1 white', 0),
    'PHYS_0002': ('1x1 black', 0),
    'PHYS_0003': ('20x4660 sliver of the page', None),
    'PHYS_0004': ('2500x20 sliver across a line', None),
    'PHYS_0005': ('blank 2000x3000', 0),
    'PHYS_0006': ('black 1200x1600', 0),
    'PHYS_0007': ('JPEG stored on its side with EXIF orientation 6', None),
    'PHYS_0008': ('TIFF with a thumbnail (a reduced-resolution second frame)', 6),
}


@pytest.fixture(scope='module')
def odd_images(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('odd_images')
    crop = bebel_crop()
    images = {
        'PHYS_0001': Image.new('L', (1, 1), 255),
        'PHYS_0002': Image.new('L', (1, 1), 0),
        'PHYS_0003': Image.open(IMAGE).convert('L').crop((1500, 0, 1520, 4660)),
        'PHYS_0004': crop.crop((0, 30, 2500, 50)),
        'PHYS_0005': Image.new('L', (2000, 3000), 255),
        'PHYS_0006': Image.new('L', (1200, 1600), 0),
    }
    pages = []
    for page_id, image in images.items():
        image.save(tmp_path / f'{page_id}.png', dpi=(300, 300))
        pages.append((page_id, tmp_path / f'{page_id}.png', None))
    # EXIF orientation 6: the pixels are stored turned, a viewer turns them upright
    exif = Image.Exif()
    exif[0x0112] = 6
    crop.transpose(Image.Transpose.ROTATE_90).save(tmp_path / 'exif.jpg', exif=exif.tobytes(), dpi=(300, 300))
    pages.append(('PHYS_0007', tmp_path / 'exif.jpg', None))
    thumbnail = crop.resize((250, 120))
    thumbnail.encoderinfo = {'tiffinfo': {254: 1}}  # NewSubfileType: reduced-resolution image
    crop.save(tmp_path / 'thumbnail.tif', save_all=True, dpi=(300, 300), append_images=[thumbnail])
    assert Image.open(tmp_path / 'thumbnail.tif').n_frames == 2
    pages.append(('PHYS_0008', tmp_path / 'thumbnail.tif', None))
    return make_workspace(tmp_path / 'ws', pages)


def test_odd_images_are_detected(odd_images):
    """Every odd image gives a valid PAGE: no lines where there is no text,
    the stored pixels as they are (core does not apply EXIF orientation: the
    PAGE describes the image as stored), a TIFF's page, not its thumbnail."""
    clean(run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=odd_images))
    out = output_pages(odd_images, 'OCR-D-SEG')
    assert set(out) == set(ODD_IMAGES)
    for page_id, (what, expected) in ODD_IMAGES.items():
        if expected is not None:
            assert len(page_polygons(out[page_id])) == expected, what
    exif_page = parse(str(out['PHYS_0007']), silence=True).get_Page()
    assert (exif_page.get_imageWidth(), exif_page.get_imageHeight()) == (1200, 2500)
    for polygon in page_polygons(out['PHYS_0007']):
        assert all(0 <= x < 1200 and 0 <= y < 2500 for x, y in polygon)
    run(VALIDATE + ['-q', 'OCR-D-SEG'], cwd=odd_images)


def test_odd_images_are_oriented_in_bounded_time_and_memory(odd_images):
    """Images too small or thin to be a page are left as they are with one
    warning each (a 20x5000 sliver took 27 s and 4.5 GB); the EXIF-turned
    page is found turned."""
    result, peak_mb = peak_rss_mb(['ocrd-ppocr-orient', '-I', 'OCR-D-IMG', '-O', 'OCR-D-ORIENT'], odd_images)
    stderr = clean(result)
    for page_id in ('PHYS_0001', 'PHYS_0002', 'PHYS_0003', 'PHYS_0004'):
        warnings = [line for line in stderr.splitlines() if f'page {page_id}: image too small or thin' in line]
        assert len(warnings) == 1, (ODD_IMAGES[page_id][0], stderr[-3000:])
    assert peak_mb <= 1500, f'peak RSS {peak_mb:.0f} MB'
    out = output_pages(odd_images, 'OCR-D-ORIENT')
    assert set(out) == set(ODD_IMAGES)
    assert parse(str(out['PHYS_0007']), silence=True).get_Page().get_orientation() == 90
    run(VALIDATE + ['-q', 'OCR-D-ORIENT'], cwd=odd_images)


def test_odd_images_are_recognised(odd_images):
    """Detection and recognition in one pass on every odd image."""
    clean(run(['ocrd-ppocr-recognize', '-I', 'OCR-D-IMG', '-O', 'OCR-D-OCR', '-P', 'segmentation', 'true',
               '-P', 'textequiv_level', 'line'], cwd=odd_images))
    out = output_pages(odd_images, 'OCR-D-OCR')
    assert set(out) == set(ODD_IMAGES)
    texts = [text for _, text in page_lines(out['PHYS_0008'])]
    assert len(texts) == 6 and all(len(text) > 10 for text in texts), texts
    run(VALIDATE + ['-q', 'OCR-D-OCR'], cwd=odd_images)


def test_bad_images_are_one_line_each_and_other_pages_go_on(tmp_path):
    """Missing, zero-byte, corrupt and truncated images."""
    good = tmp_path / 'good.tif'
    bebel_crop().convert('1').save(good)
    truncated = tmp_path / 'truncated.png'
    bebel_crop().save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:3000])
    damage = {
        'PHYS_0001': ('File not found', lambda path: path.unlink()),
        'PHYS_0002': ('cannot identify image file', lambda path: path.write_bytes(b'')),
        'PHYS_0003': ('cannot identify image file', lambda path: path.write_bytes(b'II*\x00 not a TIFF at all')),
        'PHYS_0004': ('image file is truncated', lambda path: path.write_bytes(truncated.read_bytes())),
    }
    directory = make_workspace(tmp_path / 'ws', [(page_id, good, None) for page_id in damage] +
                               [('PHYS_0005', good, None)])
    for page_id, (_, spoil) in damage.items():
        spoil(directory / 'OCR-D-IMG' / f'OCR-D-IMG_{page_id[-4:]}.tif')
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory, env=TOLERANT)
    ours = [line for line in error_lines(result) if 'ocrd.processor.base - cannot' in line]
    for page_id, (words, _) in damage.items():
        mine = [line for line in ours if f'page {page_id}' in line]
        assert len(mine) == 1 and words in mine[0], (page_id, ours)
    assert len(ours) == len(damage)
    assert len(error_lines(result)) == len(damage)  # core's failed download of the missing file: no more lines
    assert '<OcrdFile' not in result.stderr
    assert 'skipped 4 of 5 pages' in result.stderr
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0005'}
    run(VALIDATE + ['-q', 'OCR-D-SEG'], cwd=directory)


def said(result):
    """What a run said beyond INFO (and core's note on ImageMagick): its lines."""
    return [line for line in result.stderr.strip().splitlines()
            if ' INFO ' not in line and 'ocrd.exif' not in line]


@pytest.mark.parametrize('input_grp', ['OCR-D-IMG', 'OCR-D-GT-SEG'])
def test_missing_image_with_abort_is_one_line(tmp_path, input_grp):
    """OCRD_MISSING_OUTPUT=ABORT on a missing image (as input, or named by
    the input PAGE): the run ends with one line, nothing before it."""
    directory = make_workspace(tmp_path, [BEBEL[3]])
    (directory / 'OCR-D-IMG' / 'OCR-D-IMG_0186.tif').unlink()
    result = run(['ocrd-ppocr-detect', '-I', input_grp, '-O', 'OCR-D-SEG'], cwd=directory,
                 env={'OCRD_MISSING_OUTPUT': 'ABORT'}, check=False)
    assert result.returncode == 1
    [line] = said(result)
    assert line.startswith('ocrd-ppocr-detect: error: cannot ') and 'PHYS_0186' in line, line
    assert 'OCR-D-IMG/OCR-D-IMG_0186.tif' in line


def two_page_tiff(tmp_path):
    """A workspace: PHYS_0001 a two-page TIFF (six lines of bebel 0186, then
    a blank page), PHYS_0002 the six lines alone."""
    crop = bebel_crop()
    crop.save(tmp_path / 'two.tif', save_all=True, dpi=(300, 300), append_images=[Image.new('L', crop.size, 255)])
    assert Image.open(tmp_path / 'two.tif').n_frames == 2
    crop.save(tmp_path / 'one.tif', dpi=(300, 300))
    return make_workspace(tmp_path / 'ws', [('PHYS_0001', tmp_path / 'two.tif', None),
                                            ('PHYS_0002', tmp_path / 'one.tif', None)])


MULTI_PAGE = ('the image of page PHYS_0001 (OCR-D-IMG/OCR-D-IMG_0001.tif) is a multi-page TIFF with 2 pages, '
              'of which only the first would be read')


def test_multi_page_tiff_is_one_clear_line_in_every_processor(tmp_path):
    """Core reads only the first page of a multi-page TIFF (PAGE cannot name
    another): every processor says so in one line naming the file and its
    pages, and the page goes through OCRD_MISSING_OUTPUT (here SKIP)."""
    directory = two_page_tiff(tmp_path)
    for executable, grp, extra in (('ocrd-ppocr-detect', 'OCR-D-SEG', []),
                                   ('ocrd-ppocr-orient', 'OCR-D-ORIENT', []),
                                   ('ocrd-ppocr-dewarp', 'OCR-D-DEWARP', []),
                                   ('ocrd-ppocr-recognize', 'OCR-D-OCR', ['-P', 'segmentation', 'true'])):
        result = run([executable, '-I', 'OCR-D-IMG', '-O', grp] + extra, cwd=directory, env=TOLERANT)
        [error] = error_lines(result)
        assert MULTI_PAGE in error and 'OCRD_MISSING_OUTPUT=SKIP' in error, (executable, error)
        assert set(output_pages(directory, grp)) == {'PHYS_0002'}, executable
    assert len(page_lines(output_pages(directory, 'OCR-D-OCR')['PHYS_0002'])) == 6
    run(VALIDATE + ['-q', 'OCR-D-OCR'], cwd=directory)


def test_multi_page_tiff_with_abort(tmp_path):
    directory = two_page_tiff(tmp_path)
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory,
                 env={'OCRD_MISSING_OUTPUT': 'ABORT'}, check=False)
    assert result.returncode == 1
    [line] = said(result)
    assert line.startswith('ocrd-ppocr-detect: error: ' + MULTI_PAGE)


@pytest.fixture(scope='module')
def huge_pages(tmp_path_factory):
    """A 15000x10000 page (ten real bebel pages side by side) as a 1-bit and
    as an RGB TIFF: {'1': path, 'RGB': path}."""
    tmp_path = tmp_path_factory.mktemp('huge')
    Image.MAX_IMAGE_PIXELS = None
    pages = [np.asarray(Image.open(page[1]).convert('L')) for page in BEBEL]
    strip = np.concatenate([pages[i % 4] for i in range(5)], axis=1)[:, :15000]
    huge = np.full((10000, 15000), 255, dtype=np.uint8)
    huge[:4660], huge[5000:9660] = strip, strip
    Image.fromarray(huge).convert('1').save(tmp_path / 'huge.tif', compression='group4', dpi=(300, 300))
    tinted = np.stack([huge, np.maximum(huge, 10) - 10, huge], axis=2)  # paper a little pink
    Image.fromarray(tinted).save(tmp_path / 'huge_rgb.tif', compression='tiff_adobe_deflate', dpi=(300, 300))
    return {'1': tmp_path / 'huge.tif', 'RGB': tmp_path / 'huge_rgb.tif'}


def test_huge_page_is_detected_in_tiles_within_memory(tmp_path, huge_pages):
    """A 15000x10000 page (ten real bebel pages side by side): lines found,
    peak RSS of the processor at most 2.5 GB."""
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', huge_pages['1'], None)])
    _, peak_mb = peak_rss_mb(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], directory)
    lines = page_polygons(output_pages(directory, 'OCR-D-SEG')['PHYS_0001'])
    assert len(lines) > 300, f'{len(lines)} lines on ten pages of about 40 lines each'
    assert peak_mb <= 2560, f'peak RSS {peak_mb:.0f} MB'


def test_huge_colour_page_is_dewarped_within_memory(tmp_path, huge_pages):
    """The 15000x10000 page in colour, dewarped tile by tile (full-size
    float maps made 2.9 GB): peak RSS well under 2.5 GB."""
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', huge_pages['RGB'], None)])
    result, peak_mb = peak_rss_mb(['ocrd-ppocr-dewarp', '-I', 'OCR-D-IMG', '-O', 'OCR-D-DEWARP',
                                   '-P', 'skip_flat_below', '0'], directory)
    assert 'page PHYS_0001: dewarped' in result.stderr
    assert peak_mb <= 2300, f'peak RSS {peak_mb:.0f} MB'


def test_huge_colour_page_is_detected_within_memory(tmp_path, huge_pages):
    """The 15000x10000 page in colour, detected (2.5 GB when the page was
    held twice in PIL and once as pixels): peak RSS well under 2.5 GB."""
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', huge_pages['RGB'], None)])
    _, peak_mb = peak_rss_mb(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], directory)
    assert peak_mb <= 2300, f'peak RSS {peak_mb:.0f} MB'
    assert len(page_polygons(output_pages(directory, 'OCR-D-SEG')['PHYS_0001'])) > 300


# -- PAGE ---------------------------------------------------------------------

def test_malformed_page_xml(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    gt = directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml'
    gt.write_text(gt.read_text()[:5000])  # truncated in the middle of an element
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG'], cwd=directory, env=TOLERANT)
    errors = error_lines(result)
    assert len(errors) == 1 and 'malformed PAGE-XML' in errors[0] and 'PHYS_0186' in errors[0], result.stderr
    assert not output_pages(directory, 'OCR-D-SEG')
    run(VALIDATE + ['-Q', 'OCR-D-GT-SEG'], cwd=directory)  # the METS is still valid


def test_page_2013_namespace_is_read(tmp_path):
    """PAGE 2013-07-15 as input: its lines are read, the output is PAGE 2019."""
    directory = make_workspace(tmp_path, [BEBEL[3]])
    gt = directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml'
    gt.write_text(gt.read_text().replace('2019-07-15', '2013-07-15'))
    clean(run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'textequiv_level', 'line',
               '-P', 'overwrite_text', 'true'], cwd=directory))
    out = output_pages(directory, 'OCR-D-OCR')[PAGE_ID]
    assert 'pagecontent/2019-07-15' in out.read_text()
    texts = [text for _, text in page_lines(out)]
    assert len(texts) == 8 and texts[-1].startswith('Schweizerische'), texts
    run(VALIDATE + ['-q', 'OCR-D-OCR'], cwd=directory)


def _odd_lines_and_regions(page):
    """bebel 0186's GT with: line l1 self-intersecting, l2 degenerate (two
    points), l6 in a region nested in r2, and an empty region."""
    r2 = page.get_TextRegion()[1]
    lines = r2.get_TextLine()
    x0, y0, x1, y1 = bounds(lines[0])
    crossed = [(x0, y0), (x1, y0), (x1, y1), (x0 + 200, y1), (x0 + 100, y0 - 15)]  # last edge crosses the top
    assert not Polygon(crossed).is_valid
    lines[0].get_Coords().set_points(' '.join(f'{x},{y}' for x, y in crossed))
    lines[1].get_Coords().set_points(f'{x0},{y0} {x1},{y1}')
    nested = TextRegionType(id='r2_nested', Coords=CoordsType(points=lines[-1].get_Coords().points))
    nested.add_TextLine(lines[-1])
    r2.set_TextLine(lines[:-1])
    r2.add_TextRegion(nested)
    page.add_TextRegion(TextRegionType(id='r_empty', Coords=CoordsType(points='100,4300 600,4300 600,4400 100,4400')))


def test_odd_lines_and_regions_are_recognised(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    edit_page(directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml', _odd_lines_and_regions)
    stderr = clean(run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR',
                        '-P', 'textequiv_level', 'line', '-P', 'overwrite_text', 'true'], cwd=directory))
    skipped = [line for line in stderr.splitlines() if 'WARNING' in line and 'were not read' in line]
    assert len(skipped) == 1 and 'page PHYS_0186: 1 of' in skipped[0] and skipped[0].endswith(': l2'), stderr[-3000:]
    page = parse(str(output_pages(directory, 'OCR-D-OCR')[PAGE_ID]), silence=True).get_Page()
    texts = {line.id: line.get_TextEquiv()[0].Unicode for region in page.get_AllRegions(classes=['Text'])
             for line in region.get_TextLine() if line.get_TextEquiv()}
    assert texts['l1'].startswith('Menschheit'), texts  # the self-intersecting line
    assert texts['l6'].startswith('sich dagegen'), texts  # the nested region's line
    empty = [region for region in page.get_AllRegions(classes=['Text']) if region.id == 'r_empty']
    assert len(empty) == 1 and not empty[0].get_TextLine() and not empty[0].get_TextEquiv()
    assert 'l2' not in texts  # the skipped line keeps no stale text beside ours
    run(VALIDATE + ['--page-coordinate-consistency', 'off', '--page-textequiv-consistency', 'strict',
                    '-q', 'OCR-D-OCR'], cwd=directory)


def test_odd_regions_are_segmented(tmp_path):
    """level=region: a self-intersecting region gets its lines; degenerate,
    point-less and empty regions neither crash nor get lines from nowhere."""
    def odd_regions(page):
        r1, r2, r3 = page.get_TextRegion()
        x0, y0, x1, y1 = bounds(r2)
        r2.get_Coords().set_points(f'{x0},{y0} {x1},{y0} {x1},{y1} {x0 + 300},{y1} {x0 + 150},{y0 - 30}')
        r1.get_Coords().set_points('1581,116 1700,150')
        r3.get_Coords().set_points(None)
        page.add_TextRegion(TextRegionType(id='r_empty',
                                           Coords=CoordsType(points='100,4300 600,4300 600,4400 100,4400')))
    directory = make_workspace(tmp_path, [BEBEL[3]])
    edit_page(directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml', odd_regions)
    stderr = clean(run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG', '-P', 'level', 'region',
                        '-P', 'overwrite_segments', 'true'], cwd=directory))
    assert 'region r3 on page PHYS_0186 has no pixels' in stderr
    page = parse(str(output_pages(directory, 'OCR-D-SEG')[PAGE_ID]), silence=True).get_Page()
    lines = {region.id: len(region.get_TextLine()) for region in page.get_TextRegion()}
    assert lines == {'r1': 0, 'r2': 6, 'r3': 0, 'r_empty': 0}, lines


def test_line_without_points_is_skipped(tmp_path):
    """A TextLine whose Coords lack @points (invalid PAGE): one warning
    naming page and line, the other lines are read."""
    directory = make_workspace(tmp_path, [BEBEL[3]])
    edit_page(directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0186.xml',
              lambda page: page.get_TextRegion()[1].get_TextLine()[2].get_Coords().set_points(None))
    stderr = clean(run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR',
                        '-P', 'textequiv_level', 'line', '-P', 'overwrite_text', 'true'], cwd=directory))
    skipped = [line for line in stderr.splitlines() if 'WARNING' in line and 'were not read' in line]
    assert len(skipped) == 1 and 'page PHYS_0186: 1 of' in skipped[0] and skipped[0].endswith(': l3'), stderr[-3000:]
    texts = {line.id: line.get_TextEquiv()[0].Unicode
             for region in parse(str(output_pages(directory, 'OCR-D-OCR')[PAGE_ID]), silence=True)
             .get_Page().get_AllRegions(classes=['Text']) for line in region.get_TextLine() if line.get_TextEquiv()}
    assert texts['l4'].startswith('keit als Menschen'), texts
    assert 'l3' not in texts  # no stale text beside ours


def test_missing_alternative_image_is_passed_over(tmp_path):
    """An AlternativeImage whose file is gone, of the page or of a region (as
    OCR-D GT repositories name binarised images they do not ship): one
    warning naming the page (and region) and the file, and the page is read
    from the image below it (Coords are absolute: nothing moves)."""
    directory = make_workspace(tmp_path, [('PHYS_0001', IMAGE, GT), ('PHYS_0002', IMAGE, GT), ('PHYS_0003', IMAGE, GT)])
    edit_page(directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0001.xml', lambda page: page.add_AlternativeImage(
        AlternativeImageType(filename='OCR-D-BIN/page-gone.png', comments='binarized')))
    edit_page(directory / 'OCR-D-GT-SEG' / 'OCR-D-GT-SEG_0002.xml', lambda page: page.get_TextRegion()[1]
              .add_AlternativeImage(AlternativeImageType(filename='OCR-D-BIN/region-gone.png', comments='binarized')))
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG', '-P', 'level', 'region',
                  '-P', 'overwrite_segments', 'true'], cwd=directory, env=TOLERANT)
    assert not error_lines(result)
    warnings = [line for line in result.stderr.splitlines() if 'does not exist' in line]
    assert len(warnings) == 2, result.stderr[-3000:]
    assert 'page PHYS_0001: its AlternativeImage OCR-D-BIN/page-gone.png (binarized) does not exist' in warnings[0]
    assert 'page PHYS_0002, region r2: its AlternativeImage OCR-D-BIN/region-gone.png' in warnings[1]
    pages = output_pages(directory, 'OCR-D-SEG')
    assert set(pages) == {'PHYS_0001', 'PHYS_0002', 'PHYS_0003'}
    lines = {page_id: page_polygons(path) for page_id, path in pages.items()}
    assert len(lines['PHYS_0001']) == len(lines['PHYS_0002']) == len(lines['PHYS_0003']) >= 5
    # (ocrd workspace validate would name the dangling filenames, which are the input's)


def test_existing_orientation_and_border_are_kept(tmp_path):
    """A page turned on its side whose PAGE already says so (@orientation,
    and a Border): the orientation classifier sees it upright and leaves it."""
    turned = Image.fromarray(np.rot90(np.asarray(bebel_crop()), k=1))  # counter-clockwise
    turned.save(tmp_path / 'turned.png')
    directory = make_workspace(tmp_path / 'ws', [('PHYS_0001', tmp_path / 'turned.png', None)])
    width, height = turned.size
    (directory / 'OCR-D-CROP').mkdir()
    (directory / 'OCR-D-CROP' / 'OCR-D-CROP_0001.xml').write_text(f'''<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
  <Metadata><Creator>test</Creator><Created>2024-01-01T00:00:00</Created>
    <LastChange>2024-01-01T00:00:00</LastChange></Metadata>
  <Page imageFilename="OCR-D-IMG/OCR-D-IMG_0001.png" imageWidth="{width}" imageHeight="{height}" orientation="90">
    <Border><Coords points="20,20 {width - 20},20 {width - 20},{height - 20} 20,{height - 20}"/></Border>
  </Page>
</PcGts>''')
    run(['ocrd', 'workspace', 'add', '-G', 'OCR-D-CROP', '-i', 'OCR-D-CROP_0001', '-g', 'PHYS_0001',
         '-m', 'application/vnd.prima.page+xml', 'OCR-D-CROP/OCR-D-CROP_0001.xml'], cwd=directory)
    stderr = clean(run(['ocrd-ppocr-orient', '-I', 'OCR-D-CROP', '-O', 'OCR-D-ORIENT'], cwd=directory))
    assert 'left as it is' in stderr
    page = parse(str(output_pages(directory, 'OCR-D-ORIENT')['PHYS_0001']), silence=True).get_Page()
    assert page.get_orientation() == 90 and page.get_Border() is not None and not page.get_AlternativeImage()


# -- usage errors -------------------------------------------------------------

DEFAULT = ['-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG']


@pytest.mark.parametrize('args, words', [
    (DEFAULT + ['-g', 'PHYS_9999'], '-g/--page-id PHYS_9999: no such page in the workspace'),
    (DEFAULT + ['-P', 'thresh', 'abc'], "Invalid parameters: [thresh] 'abc' is not of type 'number'"),
    (DEFAULT + ['-P', 'no_such_parameter', '1'], "'no_such_parameter' was unexpected"),
    (DEFAULT + ['-P', 'level', 'line'], "Invalid parameters: [level] 'line' is not one of ['page', 'region']"),
    (DEFAULT + ['-p', 'no-such-file.json'], "Error parsing 'no-such-file.json'"),
    (DEFAULT + ['-m', 'no-such-mets.xml'], 'no METS file at'),
    (['-I', 'OCR-D-NOPE', '-O', 'OCR-D-SEG'], 'OCR-D-NOPE'),
    (['-I', 'OCR-D-IMG', '-O', 'OCR-D-GT-SEG'], "Output fileGrp[@USE='OCR-D-GT-SEG'] already in METS"),
    (['-I', 'OCR-D-IMG', '-O', 'A,B,C'], 'Unexpected number of output file groups 3'),
    (['-I', 'OCR-D-IMG,OCR-D-GT-SEG', '-O', 'OCR-D-SEG'], 'Unexpected number of input file groups 2'),
    (['-O', 'OCR-D-SEG'], '-I/--input-file-grp is required'),
    (['-I', 'OCR-D-IMG'], '-O/--output-file-grp is required'),
], ids=['unknown-page', 'parameter-type', 'unknown-parameter', 'parameter-enum', 'parameter-file', 'no-mets',
        'no-input-group', 'output-exists', 'output-count', 'input-count', 'no-input', 'no-output'])
def test_usage_errors_are_one_line(tmp_path, args, words):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error(['ocrd-ppocr-detect'] + args, directory)
    assert last.startswith('ocrd-ppocr-detect: error: ') and words in last, last
    assert not output_pages(directory, 'OCR-D-SEG')


def test_unknown_model_lists_installed_ones(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG', '-P', 'model', 'PP-OCRv9_det'],
                         directory)
    assert last.startswith('ocrd-ppocr-detect: error: detection model \'PP-OCRv9_det\' not found')
    assert 'PP-OCRv6_det_tiny.onnx' in last and 'ocrd resmgr download ocrd-ppocr-detect' in last
    assert not (directory / 'OCR-D-SEG').exists()


def test_models_the_user_trained_are_listed_without_their_reports(tmp_path):
    """A recogniser installed under a name ocrd-tool.json does not know (as
    ocrd-ppocr-train installs one: NAME.onnx, NAME.txt, NAME.report.json,
    NAME.cer.png): --list-resources shows the model, not the report and plot;
    an unknown model's error names it among the installed recognisers."""
    resources = tmp_path / 'xdg' / 'ocrd-resources' / 'ocrd-ppocr-recognize'
    resources.mkdir(parents=True)
    tiny = model_path('PP-OCRv6_rec_tiny.onnx', 'ocrd-ppocr-recognize')
    os.symlink(tiny, resources / 'my_reader.onnx')
    os.symlink(tiny[:-len('.onnx')] + '.txt', resources / 'my_reader.txt')
    (resources / 'my_reader.report.json').write_text('{}')
    Image.new('L', (60, 40), 255).save(resources / 'my_reader.cer.png')
    env = {'XDG_DATA_HOME': str(tmp_path / 'xdg')}
    listed = run(['ocrd-ppocr-recognize', '--list-resources'], cwd=tmp_path, env=env).stdout.split()
    assert 'my_reader.onnx' in listed and 'my_reader.txt' in listed
    assert not [name for name in listed if name.endswith(('.png', '.json'))], listed
    directory = make_workspace(tmp_path / 'ws', [BEBEL[3]])
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-IMG', '-O', 'OCR-D-OCR', '-P', 'model', 'my_raeder'],
                 cwd=directory, env=env, check=False)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "recognition model 'my_raeder' not found" in last, last
    installed = last.split('installed: ')[1].split(';')[0].split(', ')
    assert 'my_reader.onnx' in installed and 'my_reader.txt' not in installed, last


def test_wrong_kind_of_model_is_rejected(tmp_path):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG',
                          '-P', 'model', 'PP-OCRv5_rec_mobile.onnx'], directory)
    assert 'is not a text detection model' in last
    (tmp_path / 'not-a-model.onnx').write_text('hello')
    last = startup_error(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG',
                          '-P', 'model', str(tmp_path / 'not-a-model.onnx')], directory)
    assert 'not a loadable ONNX model' in last


@pytest.mark.parametrize('executable', ['ocrd-ppocr-recognize', 'ocrd-ppocr-orient', 'ocrd-ppocr-dewarp'])
def test_every_processor_reports_an_unknown_page_in_one_line(tmp_path, executable):
    directory = make_workspace(tmp_path, [BEBEL[3]])
    last = startup_error([executable, '-I', 'OCR-D-IMG', '-O', 'OCR-D-OUT', '-g', 'PHYS_9999'], directory)
    assert last.startswith(f'{executable}: error: -g/--page-id PHYS_9999: no such page'), last
    assert 'PHYS_0186' in last  # the pages there are
