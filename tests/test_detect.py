"""ocrd-ppocr-detect on real pages with line ground truth (bebel_frau_1879,
kant_aufklaerung_1784), through the real CLI and the real PP-OCR weights."""
import json
from pathlib import Path

import numpy as np
import pytest
from ocrd_models.ocrd_page import parse
from PIL import Image

from conftest import BEBEL, DATA, KANT, make_workspace, model_path, output_pages, run
from scoring import hmean, match, page_polygons

from ocrd_ppocr.engine.dashes import attach_dashes
from ocrd_ppocr.engine.detect import DetectorOptions, TextDetector, resize_shape
from ocrd_ppocr.engine.ink import ink_mask
from ocrd_ppocr.engine.layout import FAINT_LINE_RATIO, Line, layout, merge_fragments, reading_order
from ocrd_ppocr.engine.session import ModelError, choose_providers, load_session
from ocrd_ppocr.processors.detect import OPTION_NAMES


@pytest.mark.parametrize('pages', [BEBEL, KANT], ids=['bebel', 'kant'])
def test_line_detection_matches_ground_truth(bebel_kant_segmented, pages):
    outputs = output_pages(bebel_kant_segmented, 'OCR-D-SEG')
    total = [0, 0, 0]
    for page_id, _, gt in pages:
        gt_lines = page_polygons(gt)
        out_lines = page_polygons(outputs[page_id])
        matched = match(gt_lines, out_lines)
        page_h = hmean(matched, len(gt_lines), len(out_lines))
        assert page_h >= 0.9, f'{page_id}: Hmean {page_h:.3f} ({matched}/{len(gt_lines)} GT lines, {len(out_lines)} found)'
        total = [t + n for t, n in zip(total, (matched, len(gt_lines), len(out_lines)))]
    assert hmean(*total) >= 0.95, f'pooled Hmean {hmean(*total):.3f} from {total}'


def test_text_regions_match_ground_truth_on_bebel(bebel_kant_segmented):
    """Regions from line geometry against the GT TextRegions of bebel (IoU >= 0.5,
    as evaluate.py --regions): paragraphs split at indents, footnotes kept whole
    but split where their spacing opens up, a list with hanging indents kept together
    (measured 0.95 pooled)."""
    outputs = output_pages(bebel_kant_segmented, 'OCR-D-SEG')
    total = [0, 0, 0]
    for page_id, _, gt in BEBEL:
        gt_regions = page_polygons(gt, 'TextRegion')
        out_regions = page_polygons(outputs[page_id], 'TextRegion')
        matched = match(gt_regions, out_regions)
        total = [t + n for t, n in zip(total, (matched, len(gt_regions), len(out_regions)))]
    assert hmean(*total) >= 0.85, f'pooled region Hmean {hmean(*total):.3f} from {total}'


def _box_line(x0, y0, x1, y1):
    return Line(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32), 0.9)


def test_region_rules_on_line_geometry():
    """A paragraph (indented first line, short last line), then a list with
    hanging indents, then small print whose spacing opens up between two notes."""
    rows = [(250, 2790), (250, 2790), (250, 900),  # paragraph end
            (430, 2790), (250, 2790), (250, 1500),  # next paragraph, indented start
            (430, 2790), (540, 2790), (540, 1400),  # list item 1 with hanging indent
            (430, 2790), (540, 2790), (540, 2000)]  # list item 2
    lines = [_box_line(x0, 300 + 88 * i, x1, 372 + 88 * i) for i, (x0, x1) in enumerate(rows)]
    top = 300 + 88 * len(rows) + 100
    notes = [(400, 2790), (250, 2790), (250, 1800), (400, 2790), (250, 2790), (250, 2790)]  # 2 paragraphs
    lines += [_box_line(x0, top + 70 * i, x1, top + 62 + 70 * i) for i, (x0, x1) in enumerate(notes)]
    second = top + 70 * len(notes) + 55  # the next note, after a wider space
    lines += [_box_line(400, second + 70 * i, 2790, second + 62 + 70 * i) for i in range(3)]
    regions = layout(lines, merge=False)
    assert [len(region.lines) for region in regions] == [3, 3, 6, 6, 3]
    outline = regions[0].points
    assert outline.shape[0] == 6  # a staircase around the short last line, not a hull over the empty corner


def test_output_is_valid_page_with_regions_order_and_metadata(bebel_kant_segmented):
    run(['ocrd', 'workspace', 'validate', '-q', 'OCR-D-SEG', '-s', 'pixel_density'], cwd=bebel_kant_segmented)
    for page_id, path in output_pages(bebel_kant_segmented, 'OCR-D-SEG').items():
        pcgts = parse(str(path), silence=True)
        page = pcgts.get_Page()
        regions = page.get_TextRegion()
        assert regions, page_id
        refs = [ref.regionRef for ref in page.get_ReadingOrder().get_OrderedGroup().get_RegionRefIndexed()]
        assert sorted(refs) == sorted(r.id for r in regions)
        for region in regions:
            for line in region.get_TextLine():
                assert 0 < line.get_Coords().conf <= 1
        items = [item for item in pcgts.get_Metadata().get_MetadataItem()
                 if item.get_value() == 'ocrd-ppocr-detect']
        assert items, 'no MetadataItem for the processing step'
        labels = {label.type_: label.value for labels in items[0].get_Labels() for label in labels.get_Label()}
        assert labels['model'] == 'PP-OCRv6_det_tiny.onnx'


def test_lines_in_reading_order_on_bebel(bebel_kant_segmented):
    """Lines run top to bottom on a single-column page."""
    page = parse(str(output_pages(bebel_kant_segmented, 'OCR-D-SEG')['PHYS_0176']), silence=True).get_Page()
    order = [ref.regionRef for ref in page.get_ReadingOrder().get_OrderedGroup().get_RegionRefIndexed()]
    regions = {r.id: r for r in page.get_TextRegion()}
    tops = [min(p[1] for p in page_polygons_of(line)) for rid in order for line in regions[rid].get_TextLine()]
    assert tops == sorted(tops)


def page_polygons_of(segment):
    return [tuple(map(int, p.split(','))) for p in segment.get_Coords().points.split()]


def test_fragments_are_merged_into_whole_lines():
    """A justified line split by DB at word gaps comes out as one line spanning the text width."""
    detector = TextDetector(model_path('PP-OCRv5_det_mobile.onnx'))
    image = np.asarray(Image.open(BEBEL[2][1]).convert('RGB'))[:, :, ::-1].copy()
    raw = [Line(d.points, d.score) for d in detector.detect(image).detections]
    merged = merge_fragments(raw)
    assert len(merged) < len(raw)
    widths = sorted(line.box[2] - line.box[0] for line in merged)
    # most lines of this page are full-width justified lines of about 2540 px
    assert np.median(widths) > 2300


def test_cropped_and_rotated_page(tmp_path):
    """Page image turned by 90 degrees (PAGE @orientation) and cropped (Border):
    polygons come back in the coordinates of the original, rotated image."""
    page_id, image_path, gt_path = BEBEL[3]
    upright = Image.open(image_path).convert('L')
    width = upright.width
    turned = Image.fromarray(np.rot90(np.asarray(upright), k=1))  # content turned counter-clockwise
    directory = make_workspace(tmp_path, [(page_id, _save(turned, tmp_path / 'turned.png'), None)])
    gt_lines = [[(y, width - 1 - x) for x, y in polygon] for polygon in page_polygons(gt_path)]
    xs = [x for p in gt_lines for x, _ in p]
    ys = [y for p in gt_lines for _, y in p]
    border = (min(xs) - 40, min(ys) - 40, max(xs) + 40, max(ys) + 40)
    pcgts_xml = f'''<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
  <Metadata><Creator>test</Creator><Created>2024-01-01T00:00:00</Created><LastChange>2024-01-01T00:00:00</LastChange></Metadata>
  <Page imageFilename="OCR-D-IMG/OCR-D-IMG_0186.png" imageWidth="{turned.width}" imageHeight="{turned.height}" orientation="90">
    <Border><Coords points="{border[0]},{border[1]} {border[2]},{border[1]} {border[2]},{border[3]} {border[0]},{border[3]}"/></Border>
  </Page>
</PcGts>'''
    (directory / 'OCR-D-CROP').mkdir()
    (directory / 'OCR-D-CROP' / 'OCR-D-CROP_0186.xml').write_text(pcgts_xml)
    run(['ocrd', 'workspace', 'add', '-G', 'OCR-D-CROP', '-i', 'OCR-D-CROP_0186', '-g', page_id,
         '-m', 'application/vnd.prima.page+xml', 'OCR-D-CROP/OCR-D-CROP_0186.xml'], cwd=directory)
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-CROP', '-O', 'OCR-D-SEG'], cwd=directory)
    out_lines = page_polygons(output_pages(directory, 'OCR-D-SEG')[page_id])
    matched = match(gt_lines, out_lines)
    assert matched >= len(gt_lines) - 1, f'{matched} of {len(gt_lines)} lines found in original coordinates'
    for polygon in out_lines:  # inside the Border, in the turned image's frame
        assert all(border[0] - 1 <= x <= border[2] + 1 and border[1] - 1 <= y <= border[3] + 1
                   for x, y in polygon)


def _save(image, path):
    image.save(path)
    return path


def test_region_level_finds_lines_inside_existing_regions(tmp_path):
    directory = make_workspace(tmp_path, BEBEL[2:3])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG', '-P', 'level', 'region',
         '-P', 'overwrite_segments', 'true'], cwd=directory)
    page_id, _, gt = BEBEL[2]
    page = parse(str(output_pages(directory, 'OCR-D-SEG')[page_id]), silence=True).get_Page()
    gt_page = parse(str(gt), silence=True).get_Page()
    assert [r.id for r in page.get_TextRegion()] == [r.id for r in gt_page.get_TextRegion()]
    for region in page.get_TextRegion():  # every new line lies in its region
        region_box = page_polygons_of(region)
        for line in region.get_TextLine():
            assert line.id.startswith(region.id)
            assert min(x for x, _ in page_polygons_of(line)) >= min(x for x, _ in region_box)
    out_lines = page_polygons(output_pages(directory, 'OCR-D-SEG')[page_id])
    gt_lines = page_polygons(gt)
    assert hmean(match(gt_lines, out_lines), len(gt_lines), len(out_lines)) >= 0.9


def test_existing_regions_kept_without_overwrite(tmp_path):
    directory = make_workspace(tmp_path, BEBEL[3:])
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG'], cwd=directory)
    assert 'left unchanged' in result.stderr
    page_id, _, gt = BEBEL[3]
    assert page_polygons(output_pages(directory, 'OCR-D-SEG')[page_id]) == page_polygons(gt)


def test_overlay_in_second_file_group(tmp_path):
    directory = make_workspace(tmp_path, BEBEL[3:])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG,OCR-D-OVERLAY'], cwd=directory)
    overlays = sorted((directory / 'OCR-D-OVERLAY').glob('*.png'))
    assert len(overlays) == 1
    picture = np.asarray(Image.open(overlays[0]).convert('RGB'))
    red = (picture[:, :, 0] > 200) & (picture[:, :, 1] < 60) & (picture[:, :, 2] < 60)
    assert red.sum() > 1000  # line outlines drawn


# -- engine -------------------------------------------------------------------

def test_resize_rules_follow_paddleocr():
    assert resize_shape(4660, 3068, DetectorOptions(limit_side_len=1600, limit_type='max')) == (1600, 1056)
    assert resize_shape(4660, 3068, DetectorOptions()) == (2048, 1344)
    assert resize_shape(100, 200, DetectorOptions(limit_side_len=736, limit_type='min')) == (736, 1472)
    assert resize_shape(100, 2000, DetectorOptions(limit_side_len=736, limit_type='min', max_side_len=4000)) == (192, 4000)
    assert resize_shape(10, 10, DetectorOptions()) == (32, 32)


@pytest.mark.parametrize('name', ['PP-OCRv3_det_mobile.onnx', 'PP-OCRv4_det_mobile.onnx', 'PP-OCRv5_det_mobile.onnx',
                                  'PP-OCRv6_det_small.onnx', 'PP-OCRv6_det_tiny.onnx'])
def test_every_detector_finds_the_lines_of_a_page(name):
    detector = TextDetector(model_path(name))
    page_id, image_path, gt = BEBEL[3]
    image = np.asarray(Image.open(image_path).convert('RGB'))[:, :, ::-1].copy()
    lines = [line for region in layout([Line(d.points, d.score) for d in detector.detect(image).detections],
                                       ink=ink_mask(image))
             for line in region.lines]
    gt_lines = page_polygons(gt)
    assert match(gt_lines, [l.points.tolist() for l in lines]) >= len(gt_lines) - 2


def test_grey_page_is_detected_as_its_bgr_copy():
    """Bilevel and grey pages reach the detector and the ink mask as one
    channel (a third of the memory and resizing): same boxes, same mask."""
    detector = TextDetector(model_path('PP-OCRv6_det_tiny.onnx'))
    grey = np.asarray(Image.open(BEBEL[0][1]).convert('L'))
    bgr = np.repeat(grey[:, :, None], 3, axis=2)
    from_grey, from_bgr = detector.detect(grey).detections, detector.detect(bgr).detections
    assert len(from_grey) == len(from_bgr) > 40
    for a, b in zip(from_grey, from_bgr):
        assert np.array_equal(a.points, b.points) and a.score == b.score
    assert np.array_equal(ink_mask(grey), ink_mask(bgr))


@pytest.mark.parametrize('box_type', ['quad', 'poly'])
def test_boxes_are_clipped_to_the_image(box_type):
    detector = TextDetector(model_path('PP-OCRv5_det_mobile.onnx'), DetectorOptions(box_type=box_type, unclip_ratio=3.0))
    image = np.asarray(Image.open(BEBEL[3][1]).convert('RGB'))[:, :, ::-1].copy()
    detections = detector.detect(image).detections
    assert detections
    for detection in detections:
        assert detection.points[:, 0].min() >= 0 and detection.points[:, 0].max() <= image.shape[1]
        assert detection.points[:, 1].min() >= 0 and detection.points[:, 1].max() <= image.shape[0]


def test_sessions_are_built_once_per_model():
    path = model_path('PP-OCRv5_det_mobile.onnx')
    assert load_session(path) is load_session(path)
    assert load_session(path, threads=1) is not load_session(path)


def test_provider_choice():
    assert choose_providers('cpu', ['CPUExecutionProvider']) == ['CPUExecutionProvider']
    assert choose_providers('cuda', ['CUDAExecutionProvider', 'CPUExecutionProvider']) == \
        ['CUDAExecutionProvider', 'CPUExecutionProvider']
    with pytest.raises(ModelError, match='onnxruntime-gpu'):
        choose_providers('cuda', ['CPUExecutionProvider'])


def test_recognition_model_is_not_a_detector():
    with pytest.raises(ModelError, match='not a text detection model'):
        TextDetector(model_path('PP-OCRv5_rec_mobile.onnx', 'ocrd-ppocr-recognize'))


def test_ocrd_tool_json_is_valid():
    result = run(['ocrd', 'ocrd-tool', 'ocrd-tool.json', 'validate'], cwd=_repo())
    assert '<report valid="true">' in result.stdout


def test_detector_parameter_defaults_are_the_engine_defaults():
    """ocrd-ppocr-detect's parameter defaults and the engine's DetectorOptions
    (which ocrd-ppocr-recognize's segmentation uses as they are) must agree."""
    tool = json.loads((_repo() / 'ocrd_ppocr' / 'ocrd-tool.json').read_text())
    parameters = tool['tools']['ocrd-ppocr-detect']['parameters']
    engine = DetectorOptions()
    for name in OPTION_NAMES:
        assert parameters[name]['default'] == getattr(engine, name), name


def _repo():
    from pathlib import Path
    return Path(__file__).parent.parent


def test_dump_json_and_module_dir(tmp_path):
    tool = json.loads(run(['ocrd-ppocr-detect', '--dump-json'], cwd=tmp_path).stdout)
    assert tool['executable'] == 'ocrd-ppocr-detect'
    assert {r['name'] for r in tool['resources']} >= {'PP-OCRv5_det_mobile.onnx', 'PP-OCRv3_det_mobile.onnx'}
    module_dir = run(['ocrd-ppocr-detect', '--dump-module-dir'], cwd=tmp_path).stdout.strip()
    assert (_repo() / 'ocrd_ppocr').resolve() == __import__('pathlib').Path(module_dir).resolve()
    assert 'limit_side_len' in run(['ocrd-ppocr-detect', '--help'], cwd=tmp_path).stdout


def test_list_and_show_resources(tmp_path):
    listed = run(['ocrd-ppocr-detect', '--list-resources'], cwd=tmp_path).stdout.split()
    assert 'PP-OCRv5_det_mobile.onnx' in listed
    assert not [name for name in listed if name.endswith('.json')], listed  # models only, no manifests
    shown = run(['ocrd-ppocr-detect', '--show-resource', 'PP-OCRv3_det_mobile.onnx'], cwd=tmp_path, text=False)
    with open(model_path('PP-OCRv3_det_mobile.onnx'), 'rb') as fobj:
        assert shown.stdout == fobj.read()
    resolved = run(['ocrd-ppocr-detect', '--resolve-resource', 'PP-OCRv3_det_mobile.onnx'], cwd=tmp_path)
    assert resolved.stdout.strip() == model_path('PP-OCRv3_det_mobile.onnx')


def test_page_selection_overwrite_and_model_path(tmp_path):
    directory = make_workspace(tmp_path, BEBEL[2:4])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG', '-g', 'PHYS_0186'], cwd=directory)
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0186'}
    again = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG', '-g', 'PHYS_0186'],
                cwd=directory, check=False)
    assert again.returncode != 0 and 'OCR-D-SEG' in again.stderr
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG', '--overwrite',
         '-P', 'model', model_path('PP-OCRv5_det_mobile.onnx')], cwd=directory)
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0176', 'PHYS_0186'}
    run(['ocrd', 'workspace', 'validate', '-q', 'OCR-D-SEG', '-s', 'pixel_density'], cwd=directory)


def test_column_gutter_is_not_merged_but_a_word_gap_is():
    """Two columns 0.9 line heights apart (a magazine page) stay apart; the same
    gap in one line whose neighbours run across it is a wide word gap."""
    height, pitch = 40, 50
    ragged = (1000, 1005, 990, 1000, 1006, 996)  # line ends reaching into the gutter
    columns = [_box_line(x0, 100 + k * pitch, x1, 100 + k * pitch + height)
               for k in range(6) for x0, x1 in ((0, ragged[k]), (1036, 2036))]
    assert len(merge_fragments(columns)) == 12
    justified = [_box_line(0, 100 + k * pitch, 2036, 100 + k * pitch + height) for k in (0, 2)]
    justified += [_box_line(0, 150, 1000, 190), _box_line(1036, 150, 2036, 190)]
    merged = merge_fragments(justified)
    assert len(merged) == 3 and max(line.box[2] - line.box[0] for line in merged) == 2036


def test_faint_watermark_is_not_a_text_line():
    """The foot of a Google Books scan (tests/data/watermark): the printed
    lines and the signature mark are found, the light grey "Digitalisiert von
    Google" in the lower right corner is dropped as faint (min_contrast) and
    kept with the filter off."""
    image = np.asarray(Image.open(DATA / 'watermark' / 'laube_europa0202_1837_0105_foot.jpg').convert('RGB'))[..., ::-1]
    detector = TextDetector(model_path('PP-OCRv6_det_tiny.onnx'), DetectorOptions())
    lines = [Line(d.points, d.score) for d in detector.detect(image).detections]
    grey = image.mean(axis=2).astype(np.uint8)

    def boxes(min_contrast):
        return [line.box for region in layout(lines, ink=ink_mask(image), grey=grey, min_contrast=min_contrast)
                for line in region.lines]

    def in_watermark(box):  # the watermark's place in the crop, by eye: x 985-1265, y 490-535
        return box[0] > 900 and box[1] > 450
    kept = boxes(0.0)
    assert sum(in_watermark(box) for box in kept) == 1, kept
    filtered = boxes(FAINT_LINE_RATIO)
    assert not any(in_watermark(box) for box in filtered), filtered
    assert len(filtered) == len(kept) - 1 >= 3, (kept, filtered)


def test_min_contrast_default_is_the_engine_default():
    tool = json.loads((Path(__file__).parents[1] / 'ocrd-tool.json').read_text())
    assert tool['tools']['ocrd-ppocr-detect']['parameters']['min_contrast']['default'] == FAINT_LINE_RATIO


def test_reading_order_follows_columns_past_a_caption_across_the_gutter():
    """The region boxes our detector finds on a UNLV magazine page
    (tesseract's testing/8087_054.3B): a head, two columns whose paragraphs
    happen to end at the same height (a 4-pixel white stripe across both),
    a caption set across the gutter, a footer. Columns are read one after
    the other, the caption after them (as the page's GT zones order it)."""
    head = [(1114, 367, 1436, 378), (1111, 386, 1434, 426)]
    left = [(282, 598, 1235, 730), (282, 743, 1236, 1401), (282, 1414, 801, 2362), (281, 2374, 1235, 2754),
            (281, 2771, 1236, 3138), (217, 3195, 1053, 3226)]  # the footer is under the left column
    right = [(1311, 600, 2264, 691), (1311, 697, 2266, 1362), (1750, 1369, 2262, 1410), (1546, 1417, 2266, 2511),
             (1311, 2520, 2267, 3139)]
    caption = [(1082, 2316, 1462, 2365), (1096, 2384, 1447, 2613)]
    boxes = head + left + right + caption
    shuffled = list(np.random.default_rng(1).permutation(len(boxes)))
    order = reading_order([boxes[k] for k in shuffled])
    assert [boxes[shuffled[k]] for k in order] == boxes


def test_reading_order_of_a_single_column_page_is_top_to_bottom():
    """Paragraphs, a centred heading and a page number beside a running head."""
    boxes = [(300, 100, 900, 140), (1500, 100, 1600, 140),  # running head, page number
             (700, 300, 1300, 360), (200, 420, 1800, 460), (200, 470, 1800, 510), (200, 520, 1000, 560),
             (260, 600, 1800, 640), (200, 650, 1800, 690)]
    assert reading_order(boxes) == list(range(len(boxes)))


def test_narrow_gutter_after_a_short_line_keeps_columns_apart():
    """Detector boxes of four lines in two magazine columns a line height
    apart (tesseract's testing/8071_093.3B): the second line of the left
    column ends a paragraph early, so its neighbours fill most of the gap to
    the right column's line; the gutter running through them keeps the two
    apart. A wide word gap under a whole line above and below is still one line."""
    rows = [((1752, 390, 2379, 439), (2424, 396, 3050, 440)), ((1751, 435, 2076, 483), (2422, 442, 3051, 489)),
            ((1793, 481, 2377, 528), (2420, 489, 3048, 533)), ((1751, 530, 2375, 572), (2420, 535, 3048, 578))]
    lines = [_box_line(*box) for row in rows for box in row]
    assert sorted(tuple(int(v) for v in line.box) for line in merge_fragments(lines)) == \
        sorted(box for row in rows for box in row)
    justified = [_box_line(100, 100, 2000, 145), _box_line(100, 150, 900, 195), _box_line(1000, 152, 2000, 195),
                 _box_line(100, 200, 2000, 245)]
    assert len(merge_fragments(justified)) == 3


def test_running_head_and_page_number_stay_apart_from_the_text_below():
    """Detector boxes of the top of a book page (oldbooks_en's b017, unseen):
    a centred running head, the page number at the right margin on the same
    row, a paragraph below. The paragraph's first line runs under both, so it
    joins neither (it joined the page number, and the running head came after
    the whole paragraph): head, page number, paragraph."""
    head, number = (889, 449, 1468, 482), (2151, 444, 2174, 482)
    paragraph = [(273, 537, 2172, 585), (173, 607, 2170, 655), (173, 677, 2171, 725), (173, 747, 2170, 795),
                 (173, 817, 1629, 867)]
    regions = layout([_box_line(*box) for box in [number, head] + paragraph], merge=False)
    assert [[tuple(int(v) for v in line.box) for line in region.lines] for region in regions] == \
        [[head], [number], paragraph]


def test_dashes_beside_a_page_number_belong_to_its_line(bebel_kant_segmented):
    """bebel 0146 prints its page number "— 140 —" with the dashes far from
    the number, which the detector alone leaves out (1458-1578 px); the line
    spans them as the GT line does (1274-1755 px)."""
    page = parse(str(output_pages(bebel_kant_segmented, 'OCR-D-SEG')['PHYS_0146']), silence=True).get_Page()
    tops = [line for region in page.get_TextRegion() for line in region.get_TextLine()
            if _bounds(line)[3] < 200]
    assert len(tops) == 1
    x0, _, x1, _ = _bounds(tops[0])
    assert abs(x0 - 1274) < 20 and abs(x1 - 1755) < 20, (x0, x1)


def _bounds(segment):
    points = np.array([[int(v) for v in point.split(',')] for point in segment.get_Coords().points.split()])
    return (*points.min(0), *points.max(0))


def test_dash_rules_on_synthetic_ink():
    """Only thin strokes on the middle of a short line's band, with paper
    between, no farther than five line heights, and held by no other line."""
    ink = np.zeros((200, 1000), np.uint8)
    ink[100:130, 480:520] = 1  # the number, 30 px high
    ink[112:117, 380:430] = 1  # a dash 50 px left of it
    ink[113:118, 570:620] = 1  # and one 50 px right
    number = _box_line(480, 100, 520, 130)
    (line,) = attach_dashes([number], ink)
    assert line.box == (380, 100, 620, 130)
    ink[100:130, 540:550] = 1  # a letter between the number and the right dash stops the search there
    assert attach_dashes([number], ink)[0].box == (380, 100, 520, 130)
    ink[100:130, 540:550] = 0
    ink[112:117, 150:200] = 1  # a dash 280 px (over 5 heights) off: not the line's
    ink[112:117, 380:430] = 0
    assert attach_dashes([number], ink)[0].box == (480, 100, 620, 130)
    held = _box_line(560, 105, 640, 125)  # a dash inside another line's box stays there
    assert attach_dashes([number, held], ink)[0].box == (480, 100, 520, 130)
    long_line = _box_line(100, 100, 520, 130)  # a full text line (14 heights wide) is left alone
    assert attach_dashes([long_line], ink)[0].box == (100, 100, 520, 130)


def test_dashes_inside_a_drawing_are_left_alone():
    """A dimension line '— 3 —' in the middle of a page (between text lines)
    is not a page number: only lines heading or footing the page get dashes."""
    ink = np.zeros((400, 1000), np.uint8)
    ink[200:230, 480:520] = 1
    ink[212:217, 380:430] = 1
    ink[213:218, 570:620] = 1
    number = _box_line(480, 200, 520, 230)
    above, below = _box_line(100, 50, 900, 80), _box_line(100, 320, 900, 350)
    assert attach_dashes([above, number, below], ink)[1].box == (480, 200, 520, 230)
    assert attach_dashes([number, below], ink)[0].box == (380, 200, 620, 230)
