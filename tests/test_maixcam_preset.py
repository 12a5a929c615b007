"""The MaixCAM presets through the processors: `maixcam` (the station's
pipeline, MaixCDK's PP_OCR, see test_maixcam_pipeline.py for its steps) and
`maixcam-models` (the station's pairing and geometry through our pipeline),
INT8 (derived at installation) next to FP32 on real pages."""
import json

from lxml import etree

from conftest import BEBEL, make_workspace, model_path, output_pages, run
from scoring import hmean, match, page_polygons
from test_recognize import cer, line_texts


def _recognise(directory, preset, pages=BEBEL):
    """CER pooled over the bebel pages' GT lines, and the processor's log."""
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', f'OCR-D-{preset}', '-P', 'preset', preset,
                  '-P', 'textequiv_level', 'line'], cwd=directory)
    outputs, pairs = output_pages(directory, f'OCR-D-{preset}'), []
    for page_id, _, gt_file in pages:
        gt, out = line_texts(gt_file), line_texts(outputs[page_id])
        pairs += [(gt[k], out[k]) for k in gt]
    return cer(pairs), result.stderr


def test_int8_reads_within_two_points_of_fp32(tmp_path):
    """The station's pairing at 48x320 through our pipeline on all four bebel pages
    (a tuning set). Measured with the station's quantisation (station_quant.py,
    percentile 99.9, 2026-12-01): INT8 5.31 % against FP32 3.25 % (+2.06; with
    ONNX Runtime's own Conv/MatMul placement it was 4.3 %, but that graph did
    not compute what the station computes). A bound against breakage (a
    misplaced or mis-scaled INT8 tensor reads garbage, 90 % and more); the
    2-point goal is judged on unseen sets by `make bench` (section maixcam)."""
    directory = make_workspace(tmp_path, BEBEL)
    fp32, log = _recognise(directory, 'maixcam-models-fp32')
    assert 'PP-OCRv4_rec_maixcam_fp32.onnx' in log
    int8, log = _recognise(directory, 'maixcam-models')
    assert 'PP-OCRv4_rec_maixcam_int8.onnx' in log
    assert fp32 <= 0.045, f'FP32 CER {fp32:.2%}'
    assert int8 <= fp32 + 0.03, f'INT8 CER {int8:.2%} vs FP32 {fp32:.2%}'


def test_station_preset_reads_through_maixcdk_pipeline(tmp_path):
    """`maixcam` reads GT lines as the station would (its crops without margin, cut
    every 320 pixels, no orientation classifier). Measured on bebel 0146 + 0168
    (2026-12-01, the station's quantisation: symmetric activations, per-channel
    weights, calibrated on fraktur_lines/train and RapidOCR images): FP32 6.68 %,
    INT8 6.35 % (before: 10.0 % INT8, calibrated on these very pages)."""
    pages = BEBEL[:2]
    directory = make_workspace(tmp_path, pages)
    fp32, log = _recognise(directory, 'maixcam-fp32', pages)
    assert 'preset maixcam-fp32: textline_orientation=\n' in log  # the station has no classifier
    int8, _ = _recognise(directory, 'maixcam', pages)
    assert fp32 <= 0.075, f'FP32 CER {fp32:.2%}'
    assert int8 <= fp32 + 0.02, f'INT8 CER {int8:.2%} vs FP32 {fp32:.2%}'


def test_station_preset_writes_maixcdk_boxes(tmp_path):
    """`maixcam` detection: box_thresh 0.6 (every line's conf at least that), boxes
    neither merged nor fitted to the ink (four corners each), in station frames of
    320x224 / tile_scale page pixels; an explicit box_thresh wins."""
    directory = make_workspace(tmp_path, BEBEL[3:])
    for grp, extra in (('OCR-D-STATION', []), ('OCR-D-STRICT', ['-P', 'box_thresh', '0.7'])):
        result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', grp, '-P', 'preset', 'maixcam-fp32',
                      '-P', 'tile_scale', '0.3', *extra], cwd=directory)
        assert "the MaixCAM station's pipeline" in result.stderr
        assert 'merge_lines=False' in result.stderr and 'fit_to_ink=False' in result.stderr
        lines = page_lines_with_conf(output_pages(directory, grp)['PHYS_0186'])
        assert len(lines) >= 8  # the page's 8 GT lines, some in pieces at frame borders
        assert all(len(points) == 4 for points, _ in lines)
        assert min(conf for _, conf in lines) >= (0.7 if extra else 0.6)
    assert 'box_thresh=0.7 given explicitly' in result.stderr


def page_lines_with_conf(path):
    """(points, Coords/@conf) of every TextLine of a PAGE file."""
    tree = etree.parse(str(path))
    ns = {'pc': tree.getroot().nsmap.get(None) or tree.getroot().nsmap.get('pc')}
    return [(coords.get('points').split(), float(coords.get('conf')))
            for coords in tree.iterfind('.//pc:TextLine/pc:Coords', ns)]


def test_explicit_parameter_wins_over_the_preset(tmp_path):
    directory = make_workspace(tmp_path, BEBEL[3:])
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'preset', 'maixcam',
                  '-P', 'model', 'PP-OCRv4_rec_mobile'], cwd=directory)
    assert 'model=PP-OCRv4_rec_mobile given explicitly' in result.stderr


def test_station_detector_on_tiles_of_a_page_scan(tmp_path):
    """A 224x320 detector letterboxing a whole 600 dpi page loses its text;
    with tile_scale it reads the page in windows and finds the lines."""
    directory = make_workspace(tmp_path, BEBEL[3:])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-WHOLE', '-P', 'preset', 'maixcam-models-fp32'],
        cwd=directory)
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-TILES', '-P', 'preset', 'maixcam-models-fp32',
         '-P', 'tile_scale', '0.3'], cwd=directory)
    gt = page_polygons(BEBEL[3][2])
    whole = page_polygons(output_pages(directory, 'OCR-D-WHOLE')['PHYS_0186'])
    tiles = page_polygons(output_pages(directory, 'OCR-D-TILES')['PHYS_0186'])
    assert hmean(match(gt, tiles), len(gt), len(tiles)) >= 0.8
    assert hmean(match(gt, whole), len(gt), len(whole)) < hmean(match(gt, tiles), len(gt), len(tiles))


def test_int8_detector_finds_the_lines_fp32_finds(tmp_path):
    """Mixed-precision INT8 detection in 224x320 windows of the four bebel pages,
    our pipeline (measured: P/R 1.000/0.970 against FP32's 0.988/0.970)."""
    directory = make_workspace(tmp_path, BEBEL)
    scores = {}
    for preset in ('maixcam-models-fp32', 'maixcam-models'):
        run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', f'OCR-D-{preset}', '-P', 'preset', preset,
             '-P', 'tile_scale', '0.3'], cwd=directory)
        outputs, total = output_pages(directory, f'OCR-D-{preset}'), [0, 0, 0]
        for page_id, _, gt_file in BEBEL:
            gt, found = page_polygons(gt_file), page_polygons(outputs[page_id])
            total = [t + n for t, n in zip(total, (match(gt, found), len(gt), len(found)))]
        scores[preset] = hmean(*total)
    assert scores['maixcam-models-fp32'] >= 0.95, scores
    assert scores['maixcam-models'] >= scores['maixcam-models-fp32'] - 0.02, scores


def test_derived_graphs_are_recorded_in_a_manifest():
    manifest = json.load(open(model_path('maixcam_manifest.json')))
    assert manifest['sources']['det']['name'] == 'PP-OCRv3_det_mobile.onnx'
    assert manifest['sources']['rec']['name'] == 'PP-OCRv4_rec_mobile.onnx'
    assert manifest['settings']['quantiser'].startswith('station_quant')
    assert set(manifest['lowering_sha256']) == {'det', 'rec'}
    with open(model_path('PP-OCRv3_det_mobile.onnx'), 'rb') as source:
        import hashlib
        assert manifest['sources']['det']['sha256'] == hashlib.sha256(source.read()).hexdigest()


def test_preset_graphs_are_built_on_first_use_or_named_as_missing(tmp_path):
    """Without the derived graphs and without the models they are derived
    from, the preset says so in one line at start-up: it would otherwise
    build them (`make maixcam` builds them ahead)."""
    directory = make_workspace(tmp_path / 'ws', BEBEL[3:])
    empty = tmp_path / 'no-models'
    empty.mkdir()
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'preset', 'maixcam'],
                 cwd=directory, env={'XDG_DATA_HOME': str(empty)}, check=False)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert 'building them now' in result.stderr
    assert 'preset maixcam cannot be built' in result.stderr.strip().splitlines()[-1]
