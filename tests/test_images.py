"""One image path (processors/images.py) for recognition, region-level
detection and training: the same pixels for the same PAGE line whatever
AlternativeImages (binarised by OpenCV's Otsu at region or line level, as
ocrd-cis, -olena or -skimage write them), a dewarped page, or AlternativeImage
files that are missing (as OCR-D GT repositories come)."""
from pathlib import Path

import json

import cv2
import numpy as np
import pytest
from ocrd import Resolver
from ocrd_models.ocrd_page import AlternativeImageType, parse, to_xml
from PIL import Image

from conftest import KANT, make_workspace, output_pages, run
from scoring import line_cer, match, page_lines, page_polygons

from ocrd_ppocr.processors.recognize import RecognizeProcessor
from ocrd_ppocr.training.data import GroundTruthError, load_ground_truth, lines_from_workspace

PAGE_ID = KANT[0][0]  # kant 0017: 24 GT lines, 11 in its biggest region
GT_FILE = Path('OCR-D-GT-SEG') / 'OCR-D-GT-SEG_0017.xml'


def biggest_region(page):
    return max(page.get_AllRegions(classes=['Text']), key=lambda region: len(region.get_TextLine()))


def binarise(directory, level):
    """Otsu-binarised AlternativeImages (@comments: the features of the image
    they were made from, plus `binarized`) on the biggest region of kant
    0017 (level 'region') or on each of its lines (level 'line'), written
    into the workspace and its GT PAGE file. Level 'page': the page image.
    Returns the region."""
    workspace = Resolver().workspace_from_url(str(directory / 'mets.xml'))
    path = directory / GT_FILE
    pcgts = parse(str(path), silence=True)
    page = pcgts.get_Page()
    page_pil, page_coords, _ = workspace.image_from_page(page, PAGE_ID)
    region = biggest_region(page)
    region_pil, region_coords = workspace.image_from_segment(region, page_pil, page_coords)
    segments = {'page': [(page, page_pil, page_coords)], 'region': [(region, region_pil, region_coords)],
                'line': [(line, *workspace.image_from_segment(line, region_pil, region_coords))
                         for line in region.get_TextLine()]}[level]
    for segment, pil, coords in segments:
        grey = cv2.cvtColor(np.asarray(pil.convert('RGB')), cv2.COLOR_RGB2GRAY)
        _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        file_id = f'OCR-D-BIN_0017_{getattr(segment, "id", "page")}'
        filename = workspace.save_image_file(Image.fromarray(binary), file_id, 'OCR-D-BIN', page_id=PAGE_ID,
                                             mimetype='image/png')
        segment.add_AlternativeImage(AlternativeImageType(
            filename=filename, comments=','.join(filter(None, [coords['features'], 'binarized']))))
    workspace.save_mets()
    path.write_text(to_xml(pcgts), encoding='utf-8')
    return region


def recognition_crops(directory, file_grp, feature_filter):
    """{line id: crop pixels} that ocrd-ppocr-recognize reads on kant 0017 of
    `file_grp` (its own code, run in this process, the crops caught as they
    go to the recogniser)."""
    processor = RecognizeProcessor(None, parameter={'feature_filter': feature_filter,
                                                    'model': 'PP-OCRv6_rec_tiny'})
    processor.workspace = Resolver().workspace_from_url(str(directory / 'mets.xml'))
    caught = {}

    def catch(jobs):
        caught.update({line.id: crop.image.copy() for line, crop, _, _ in jobs})
        raise StopIteration  # nothing more to learn from this page

    processor.read = catch
    path = next(f for f in processor.workspace.find_files(file_grp=file_grp, page_id=PAGE_ID)
                if f.mimetype == 'application/vnd.prima.page+xml').local_filename
    with pytest.raises(StopIteration):
        processor.process_page_pcgts(parse(str(directory / path), silence=True), page_id=PAGE_ID)
    return caught


def training_crops(directory, file_grp, feature_filter):
    lines, skipped = lines_from_workspace(directory / 'mets.xml', file_grp, feature_filter=feature_filter)
    assert not skipped, skipped
    return {line.source.split('/')[-1]: line.image for line in lines if f'/{PAGE_ID}/' in line.source}


def assert_same_crops(directory, file_grp, feature_filter):
    read, trained = recognition_crops(directory, file_grp, feature_filter), training_crops(directory, file_grp,
                                                                                           feature_filter)
    assert len(trained) == 24 and read.keys() == trained.keys()
    for line_id, pixels in read.items():
        assert pixels.shape == trained[line_id].shape and np.array_equal(pixels, trained[line_id]), line_id
    return read


def binary_share(crop):
    """Share of the crop's pixels that are black or white (give or take the
    crop's interpolation): 0.93 to 1.0 on Otsu-binarised kant lines, 0.39 to
    0.58 on the colour scan."""
    return float(((crop < 40) | (crop > 215)).mean())


@pytest.fixture(scope='module')
def kant_page(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp('kant_plain'), KANT[:1])


def test_same_crops_on_plain_page(kant_page):
    crops = assert_same_crops(kant_page, 'OCR-D-GT-SEG', 'binarized')
    assert all(binary_share(crop) < 0.7 for crop in crops.values())


@pytest.mark.parametrize('level', ['page', 'region', 'line'])
def test_same_crops_on_binarised_segments(tmp_path, level):
    directory = make_workspace(tmp_path, KANT[:1])
    region = binarise(directory, level)
    ids = {line.id for line in region.get_TextLine()}
    plain = assert_same_crops(directory, 'OCR-D-GT-SEG', 'binarized')  # the default: the originals
    # ... the same pixels as without the binarised images
    original = training_crops(make_workspace(tmp_path / 'plain', KANT[:1]), 'OCR-D-GT-SEG', 'binarized')
    assert all(np.array_equal(plain[line_id], original[line_id]) for line_id in plain)
    # without the filter both read the binarised images, for that region's (or page's) lines only
    binarised = assert_same_crops(directory, 'OCR-D-GT-SEG', '')
    if level == 'page':
        ids = set(binarised)
    assert all(binary_share(binarised[line_id]) > 0.9 for line_id in ids)
    assert all(binary_share(binarised[line_id]) < 0.7 for line_id in binarised.keys() - ids)


def test_same_crops_on_dewarped_page(tmp_path):
    """ocrd-ppocr-dewarp forced on the flat kant page (a real UVDoc grid):
    both cut the GT lines out of the dewarped image through the grid."""
    directory = make_workspace(tmp_path, KANT[:1])
    run(['ocrd-ppocr-dewarp', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-DEWARP', '-P', 'skip_flat_below', '0'],
        cwd=directory)
    dewarped = assert_same_crops(directory, 'OCR-D-DEWARP', 'binarized')
    plain = training_crops(directory, 'OCR-D-GT-SEG', 'binarized')
    # the dewarped image was read, not the original
    assert sum(dewarped[i].shape != plain[i].shape or not np.array_equal(dewarped[i], plain[i])
               for i in plain) > 20


def recognised_cer(directory, in_grp='OCR-D-GT-SEG', out_grp='OCR-D-OCR'):
    """(line CER against kant 0017's GT, [(polygon, text)]) of ocrd-ppocr-recognize with defaults."""
    run(['ocrd-ppocr-recognize', '-I', in_grp, '-O', out_grp], cwd=directory)
    out = page_lines(output_pages(directory, out_grp)[PAGE_ID])
    return line_cer(page_lines(KANT[0][2]), out), out


@pytest.fixture(scope='module')
def plain_reading(kant_page):
    return recognised_cer(kant_page)


@pytest.mark.parametrize('level', ['region', 'line'])
def test_binarised_segments_read_as_without(tmp_path, plain_reading, level):
    """With default parameters: binarised images of one region (or of its
    lines) change nothing: all its lines are read, within 0.5 points."""
    directory = make_workspace(tmp_path, KANT[:1])
    binarise(directory, level)
    rate, lines = recognised_cer(directory)
    print(f'kant 0017, binarised {level}: line CER {rate:.2%} (without: {plain_reading[0]:.2%})')
    assert all(text for _, text in lines)
    assert abs(rate - plain_reading[0]) <= 0.005


def test_region_level_detection_on_binarised_region(tmp_path, kant_page):
    """detect level=region then recognize: a binarised region reads as without."""
    rates = {}
    for name, level in (('plain', None), ('binarised', 'region')):
        directory = make_workspace(tmp_path / name, KANT[:1])
        if level:
            binarise(directory, level)
        run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG', '-P', 'level', 'region',
             '-P', 'overwrite_segments', 'true'], cwd=directory)
        rates[name], _ = recognised_cer(directory, 'OCR-D-SEG')
    print(f'kant 0017, detect level=region + recognize: line CER {rates}')
    assert rates['plain'] < 0.35  # (the detector's lines against GT lines; 0.31 measured)
    assert abs(rates['binarised'] - rates['plain']) <= 0.005


def test_missing_alternative_images_train(tmp_path):
    """A kant page whose PAGE names a binarised page image and a region
    image that the workspace lacks (as OCR-D GT repositories come) gives all
    its lines, cut from the original; the trainer runs on it."""
    directory = make_workspace(tmp_path / 'kant', KANT)
    for number in ('0017', '0020'):
        path = directory / 'OCR-D-GT-SEG' / f'OCR-D-GT-SEG_{number}.xml'
        pcgts = parse(str(path), silence=True)
        page = pcgts.get_Page()
        page.add_AlternativeImage(AlternativeImageType(filename=f'GT-PAGE/kant_{number}_B.tif', comments='binarized'))
        biggest_region(page).add_AlternativeImage(AlternativeImageType(
            filename=f'GT-PAGE/kant_{number}_region.png', comments='despeckled'))
        if number == '0020':  # and one line without text: skipped, and said so
            untold = page.get_AllTextLines()[3]
            untold.set_TextEquiv([])
        path.write_text(to_xml(pcgts), encoding='utf-8')
    lines, skipped = load_ground_truth([directory / 'mets.xml'], 'OCR-D-GT-SEG', split_by='page', log=print)
    reason = f'kant/PHYS_0020/{untold.id}: empty text'
    assert len(lines) == 24 + 30 and [f'{source}: {why}' for source, why in skipped] == [reason]
    plain = training_crops(make_workspace(tmp_path / 'plain', KANT[:1]), 'OCR-D-GT-SEG', 'binarized')
    assert all(np.array_equal(line.image, plain[line.source.split('/')[-1]])
               for line in lines if f'/{PAGE_ID}/' in line.source)
    result = run(['ocrd-ppocr-train', str(directory), '--file-grp', 'OCR-D-GT-SEG', '--split-by', 'page',
                  '--val-fraction', '0.5', '-m', 'PP-OCRv6_rec_tiny', '-o', 'kant_tiny', '--install-dir',
                  str(tmp_path / 'out'), '--epochs', '1', '--max-steps', '2', '--threads', '2'], cwd=tmp_path)
    assert 'kant/mets.xml: 54 lines, 1 skipped' in result.stdout and f'skipped {reason}' in result.stdout
    assert 'kant_0017_region.png (despeckled) does not exist' in result.stderr
    assert (tmp_path / 'out' / 'kant_tiny.onnx').is_file()
    report = json.loads((tmp_path / 'out' / 'kant_tiny.report.json').read_text(encoding='utf-8'))
    assert report['skipped_lines'] == [reason]


def test_no_usable_line_names_the_reasons(tmp_path):
    directory = make_workspace(tmp_path, KANT[:1])
    path = directory / GT_FILE
    pcgts = parse(str(path), silence=True)
    for line in pcgts.get_Page().get_AllTextLines():
        line.set_TextEquiv([])
    path.write_text(to_xml(pcgts), encoding='utf-8')
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth([directory / 'mets.xml'], 'OCR-D-GT-SEG', log=print)
    assert f'skipped {directory.name}/{PAGE_ID}/' in str(error.value) and ': empty text' in str(error.value)
    assert '(and 19 more)' in str(error.value)


def test_region_level_detection_on_dewarped_page(tmp_path):
    """detect level=region on a dewarped page reads each region's area of
    the dewarped image and maps its lines back through the grid: they lie
    on the GT lines of the original as well as those found without dewarping."""
    directory = make_workspace(tmp_path, KANT[:1])
    run(['ocrd-ppocr-dewarp', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-DEWARP', '-P', 'skip_flat_below', '0'],
        cwd=directory)
    found = {}
    for grp in ('OCR-D-GT-SEG', 'OCR-D-DEWARP'):
        run(['ocrd-ppocr-detect', '-I', grp, '-O', f'{grp}-REGION', '-P', 'level', 'region',
             '-P', 'overwrite_segments', 'true'], cwd=directory)
        found[grp] = page_polygons(output_pages(directory, f'{grp}-REGION')[PAGE_ID])
    gt = page_polygons(KANT[0][2])
    matched = {grp: match(gt, lines) for grp, lines in found.items()}
    print(f'kant 0017, detect level=region: GT lines {len(gt)}, matched {matched}, '
          f'found {({grp: len(lines) for grp, lines in found.items()})}')
    assert matched['OCR-D-DEWARP'] >= matched['OCR-D-GT-SEG'] - 2 and matched['OCR-D-DEWARP'] >= 0.7 * len(gt)
