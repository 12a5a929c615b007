"""MaixCAM section of the benchmark: `-P preset maixcam` (the station's
pipeline, INT8) against `maixcam-fp32` on sets that neither the INT8
calibration nor the choice of its quantisation saw (the calibration set is
fraktur_lines/train and RapidOCR's test images, the tuning lines other works
of fraktur_lines/train and the GT lines of kant and bebel, see
ocrd_ppocr/maixcam/calibration/calibration.json and research/maixcam/sensitivity.py;
the detector's float blocks come from an earlier scan on bebel).

In `make bench` the cvimodel columns are filled when MAIXCAM_CVIMODELS names
an ocrd-ppocr-maixcam-export output with cvimodels.

    python -m benchmarks.maixcam [--data ../shared/data] [--results results] [--quick]

Sets and scores (evaluate.py, ../shared/eval):
- tesseract_testing (4 pages) and oldbooks_en (10 pages; --quick: 4): page
  CER, the station detecting in frames of the page (tile_scale 0.6 for these
  300 dpi scans: each frame 533x373 page pixels, as a station photographing
  the page piece by piece would see it) and reading its boxes;
- docbank_samples (5 born-digital arXiv pages, 200 dpi: tile_scale 0.9):
  the same; its GT tokens grouped into lines where one token's vertical
  extent no longer overlaps the previous one's;
- fraktur_pages (clauren 9 pages, laube 3): the station reading the GT lines
  (line CER); Fraktur read by the Latin/Chinese v4 dictionary, which has no
  ſ, so FP32 is far from 0: it tells the Latin-script limits, the INT8 gap
  is what counts here.
The station's boxes come per frame, with no reading order: for page CER they
are put into page lines (sorted by their centre's y, boxes whose centres lie
within half a median box height joined left to right with a space), the
same for FP32 and INT8. Beside each INT8 - FP32 gap: its 95 % interval,
bootstrapped over the set's pages (both presets on the same resampled
pages), since a handful of pages decide each set's figure.

cvimodel columns: where `--cvimodels DIR` (ocrd-ppocr-maixcam-export's
output with its INT8 cvimodels) and tpu-mlir (.venv-tpu) are present, the
rec cvimodel reads every CVIMODEL_EVERY-th (--quick: QUICK_CVIMODEL_EVERY-th)
fraktur_pages GT line (its
48x320 pieces) in tpu-mlir's simulator (pyruntime_cvi, as model_runner
runs it; some 5-10 s a piece on 2 cores, hence the sample); reported: its
line CER and the x86 INT8 graph's on the same lines, and how many of the
x86 INT8 text's characters differ from the cvimodel's. On the page sets the
rec cvimodel reads every box the x86 INT8 detector found on the pages
CVIMODEL_PAGES names (the same pieces x86 reads; --quick: the first of
each), scored as the set is scored (page CER). The det cvimodel
maps every DET_FRAME_EVERY-th station frame of tesseract_testing; reported:
the boxes each finds, the share matched one to one (F1 at IoU 0.5) and the
IoU of the binarised maps. Else they are empty.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from research.maixcam.uncertainty import gap_interval

from .datasets import DATA
from .grid import markdown_grid, text_grid
from .machine import provenance, provenance_markdown
from .scores import _evaluate
from .unseen import evaluate_page, oldbooks_en, tesseract_testing

SETS = ('tesseract_testing', 'oldbooks_en', 'docbank_samples', 'fraktur_pages')
TILE_SCALES = {'tesseract_testing': 0.6, 'oldbooks_en': 0.6, 'docbank_samples': 0.9}
FRAKTUR_PAGES = ('clauren_mimil_1815', 'laube_europa0202_1837')
QUICK_OLDBOOKS = 4
CVIMODEL_EVERY = 6  # --quick: QUICK_CVIMODEL_EVERY
QUICK_CVIMODEL_EVERY = 20
DET_FRAME_EVERY = 6  # of tesseract_testing's station frames, for the det cvimodel
# the pages of each page set whose boxes the rec cvimodel reads (--quick: the
# first of each): the smallest, as the simulator takes 5-10 s a piece (79, 90
# and 91 pieces)
CVIMODEL_PAGES = {'tesseract_testing': ('phototest', 'eurotext'), 'oldbooks_en': ('i021',),
                  'docbank_samples': ('173',)}
PRECISIONS = {'maixcam-fp32': 0, 'maixcam': 1}  # index into OUTPUTS[role]


def models():
    """{preset: (det graph, rec graph)} as installed by make maixcam."""
    from ocrd_ppocr.maixcam.build import OUTPUTS
    from ocrd_ppocr.maixcam.export import find_resource
    found = {}
    for preset, index in PRECISIONS.items():
        paths = [find_resource(role, OUTPUTS[role][index]) for role in ('det', 'rec')]
        if None in paths:
            raise SystemExit(f'{preset}: the MaixCAM graphs are not installed (make maixcam)')
        found[preset] = tuple(str(p) for p in paths)
    return found


def bgr(path):
    from PIL import Image
    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert('RGB'))[:, :, ::-1])


def page_boxes(image, detector):
    """(polygon, crop) of each box the station finds on a page, cut as the station cuts it."""
    from ocrd_ppocr.engine.maixcam_pipeline import station_crop
    boxes = []
    for detection in detector.detect(image).detections:
        points = np.asarray(detection.points, dtype=np.float32)
        boxes.append((points, station_crop(image, points).image))
    return boxes


def page_lines(polygons, texts):
    """The boxes' texts as page lines: sorted by the boxes' centre y, joined
    left to right where the centres lie within half a median box height."""
    boxes = sorted((p[:, 1].mean(), p[:, 0].min(), np.ptp(p[:, 1]), t.strip())
                   for p, t in zip(polygons, texts) if t.strip())
    if not boxes:
        return []
    half = np.median([b[2] for b in boxes]) / 2
    lines, current = [], [boxes[0]]
    for box in boxes[1:]:
        if box[0] - current[-1][0] <= half:
            current.append(box)
        else:
            lines.append(current)
            current = [box]
    lines.append(current)
    return [' '.join(b[3] for b in sorted(line, key=lambda b: b[1])) for line in lines]


def docbank_pages(data):
    folder = Path(data) / 'docbank_samples' / 'DocBank_samples'
    pages = []
    for image in sorted(folder.glob('*_ori.jpg')):
        lines, last = [], None
        for row in (folder / image.name.replace('_ori.jpg', '.txt')).read_text(encoding='utf-8').splitlines():
            fields = row.split('\t')
            if len(fields) < 5 or not fields[0].strip():
                continue
            y0, y1 = int(fields[2]), int(fields[4])
            if last is None or y0 > last[1] or y1 < last[0]:
                lines.append([])
            lines[-1].append(fields[0])
            last = (y0, y1)
        pages.append((image.stem.split('.')[0], image, [' '.join(words) for words in lines]))
    return pages


def page_sets(data, quick):
    sets = {}
    for name, make in (('tesseract_testing', tesseract_testing), ('oldbooks_en', oldbooks_en)):
        pages = make(data).pages[:QUICK_OLDBOOKS if quick and name == 'oldbooks_en' else None]
        sets[name] = [(p.page_id, p.image, p.gt.read_text(encoding='utf-8').splitlines()) for p in pages]
    sets['docbank_samples'] = docbank_pages(data)
    return sets


def fraktur_lines(data):
    """[(page, image path, [(polygon, text)])] of the fraktur_pages GT."""
    from ocrd import Resolver
    evaluate = _evaluate()
    pages = []
    for work in FRAKTUR_PAGES:
        folder = Path(data) / 'fraktur_pages' / work
        workspace = Resolver().workspace_from_url(str(folder / 'mets.xml'), download=False)
        for gt in workspace.find_files(file_grp='OCR-D-GT-SEG-LINE'):
            image, = workspace.find_files(file_grp='OCR-D-IMG', page_id=gt.pageId)
            pages.append((f'{work} {gt.pageId}', folder / image.local_filename,
                          evaluate.load(str(folder / gt.local_filename))))
    return pages


def line_pieces(data):
    """{(page, line number): (48x320 pieces, GT text)} of fraktur_pages' GT lines, cut as the station cuts them."""
    from ocrd_ppocr.engine.maixcam_pipeline import rec_pieces, station_crop
    lines = {}
    for page, image_path, gt in fraktur_lines(data):
        image = bgr(image_path)
        for number, (polygon, text) in enumerate(gt):
            lines[(page, number)] = (rec_pieces(station_crop(image, polygon).image)[0], text, polygon)
    return lines


def read_pieces(recognizer, pieces):
    """Greedy CTC text of each piece, concatenated (maix_nn_pp_ocr.cpp L214-228)."""
    from ocrd_ppocr.engine.maixcam_pipeline import rec_blob
    texts = []
    for piece in pieces:
        probs = recognizer.reader.session.run(None, {recognizer.reader.input_name: rec_blob(piece)})[0][0]
        texts.append(greedy(probs, recognizer.labels))
    return ''.join(texts)


def greedy(probs, labels):
    best = probs.argmax(axis=1)
    keep = (best != 0) & np.r_[True, best[1:] != best[:-1]]
    return ''.join(labels[i] for i in best[keep])


def line_cer(lines, texts):
    evaluate = _evaluate()
    gt = [(polygon, text) for _, text, polygon in lines]
    out = [(polygon, evaluate.norm(text)) for (_, _, polygon), text in zip(lines, texts)]
    score = evaluate.score(gt, out)
    return score['line_CER'], score['chars']


def run_cvimodel(role, blobs, cvimodels, tpu_venv, work):
    """The INT8 cvimodel of `role`'s (last) output for each of `blobs` in
    tpu-mlir's simulator, or None where the cvimodel or tpu-mlir is missing."""
    from ocrd_ppocr.maixcam.export import CVIMODELS
    model = Path(cvimodels or '') / CVIMODELS[role]
    python = Path(tpu_venv) / 'bin' / 'python'
    if not cvimodels or not model.is_file() or not python.is_file():
        return None
    import subprocess
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / f'{role}_inputs.npy', np.concatenate(blobs))
    script = Path(__file__).with_name('cvimodel_runner.py')
    subprocess.run([str(python), str(script), str(model), str(work / f'{role}_inputs.npy'),
                    str(work / f'{role}_outputs.npy')],
                   check=True, env=dict(os.environ, PATH=f'{python.parent}{os.pathsep}{os.environ["PATH"]}'))
    return np.load(work / f'{role}_outputs.npy')


def cvimodel_texts(pieces_by_line, cvimodels, tpu_venv, work, labels):
    """The INT8 rec cvimodel's reading of the same pieces in tpu-mlir's
    simulator, or None where the cvimodel or tpu-mlir is missing."""
    from ocrd_ppocr.engine.maixcam_pipeline import rec_blob
    keys = list(pieces_by_line)
    probs = run_cvimodel('rec', [rec_blob(piece) for key in keys for piece in pieces_by_line[key][0]],
                         cvimodels, tpu_venv, work)
    if probs is None:
        return None
    texts, index = [], 0
    for key in keys:
        count = len(pieces_by_line[key][0])
        texts.append(''.join(greedy(p, labels) for p in probs[index:index + count]))
        index += count
    return texts


def station_canvases(pages, every=DET_FRAME_EVERY):
    """Every `every`-th station frame of `pages` (tile_scale 0.6), letterboxed
    to the detector's input as the station does it."""
    from ocrd_ppocr.engine.maixcam_pipeline import STATION, letterbox
    step_y, step_x = (round(side / TILE_SCALES['tesseract_testing']) for side in STATION.det_shape)
    canvases = []
    for _, image_path, _ in pages:
        image = bgr(image_path)
        for y in range(0, image.shape[0], step_y):
            for x in range(0, image.shape[1], step_x):
                frame = image[y:y + step_y, x:x + step_x]
                if min(frame.shape[:2]) >= 2:
                    canvases.append(letterbox(frame)[0])
    return canvases[::every]


def box_agreement(maps, reference_maps):
    """How far the detector's boxes on `maps` agree with those on
    `reference_maps` (the cvimodel's): the share of boxes matched one to one
    at IoU >= 0.5 of their bounding rectangles (F1), and the IoU of the
    binarised maps."""
    from ocrd_ppocr.engine.maixcam_pipeline import bitmap_of, boxes_from_bitmap

    def rects(pred):
        found = boxes_from_bitmap(pred, bitmap_of(pred))
        return [(c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max()) for c, _ in found]

    def iou(a, b):
        w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union if union > 0 else 0.0

    matched = ours = theirs = 0
    inter = union = 0
    for pred, reference in zip(maps, reference_maps):
        mine, station = rects(pred), rects(reference)
        ours, theirs = ours + len(mine), theirs + len(station)
        free = list(station)
        for rect in mine:
            best = max(free, key=lambda other: iou(rect, other), default=None)
            if best is not None and iou(rect, best) >= 0.5:
                matched += 1
                free.remove(best)
        a, b = bitmap_of(pred), bitmap_of(reference)
        inter, union = inter + (a & b).sum(), union + (a | b).sum()
    return {'frames': len(maps), 'boxes_x86': ours, 'boxes_cvimodel': theirs,
            'box_F1': 100 * 2 * matched / max(1, ours + theirs), 'map_IoU': float(100 * inter / max(1, union))}


def detector_agreement(pages, det_graph, cvimodels, tpu_venv, work):
    """The x86 INT8 detector against the det cvimodel on the same frames, or None."""
    from ocrd_ppocr.engine.maixcam_pipeline import det_blob
    from ocrd_ppocr.engine.session import load_session
    canvases = station_canvases(pages)
    blobs = [det_blob(canvas) for canvas in canvases]
    simulated = run_cvimodel('det', blobs, cvimodels, tpu_venv, work)
    if simulated is None:
        return None
    session = load_session(det_graph, 1, 'cpu')
    name = session.get_inputs()[0].name
    maps = [session.run(None, {name: blob})[0][0, 0] for blob in blobs]
    return box_agreement(maps, [out.reshape(maps[0].shape) for out in simulated])


def maixcam_section(data=DATA, out=Path('results/maixcam'), quick=False, cvimodels=None, tpu_venv='.venv-tpu',
                    log=print, sets=SETS, cvimodel_every=None):
    from ocrd_ppocr.engine.maixcam_pipeline import StationDetector, StationRecognizer
    out = Path(out)
    graphs = models()
    rows = []
    for name, pages in (page_sets(data, quick) if set(sets) - {'fraktur_pages'} else {}).items():
        if name not in sets:
            continue
        row = {'set': name, 'unit': f'{len(pages)} pages', 'measure': 'page CER (in GT order; running text)'}
        sampled = []  # (GT, the INT8 preset's boxes) of the pages the rec cvimodel reads
        chosen = CVIMODEL_PAGES[name][:1 if quick else None]
        for preset, (det, rec) in graphs.items():
            detector = StationDetector(det, threads=1, tile_scale=TILE_SCALES[name])
            recognizer = StationRecognizer(rec, threads=1)
            started, scores = time.time(), []
            for page_id, image, gt in pages:
                gt = [line for line in (' '.join(t.split()) for t in gt) if line]
                boxes = page_boxes(bgr(image), detector)
                texts = [recognizer.read_line(crop).text for _, crop in boxes]
                scores.append(evaluate_page(gt, page_lines([polygon for polygon, _ in boxes], texts)))
                if preset == 'maixcam' and page_id in chosen:
                    sampled.append((gt, boxes))
            chars = sum(s['gt_chars'] for s in scores)
            row[preset] = {key: 100 * sum(s[key] * s['gt_chars'] for s in scores) / chars
                           for key in ('page_CER', 'page_CER_gt_order', 'page_CER_running')}
            row[preset]['seconds'] = round(time.time() - started, 1)
            row[f'{preset}_units'] = [(s['page_CER'] * s['gt_chars'], s['gt_chars']) for s in scores]
            if preset == 'maixcam':
                station = recognizer
        row['cvimodel'] = cvimodel_pages(sampled, station, cvimodels, tpu_venv, out / 'cvimodel')
        if name == 'tesseract_testing':
            row['det_cvimodel'] = detector_agreement(pages, graphs['maixcam'][0], cvimodels, tpu_venv,
                                                     out / 'cvimodel')
        rows.append(finish(row, 'page_CER'))
        log(summary(rows[-1]))
    if 'fraktur_pages' not in sets:
        return _written(rows, out)
    lines = line_pieces(data)
    values = list(lines.values())
    row = {'set': 'fraktur_pages', 'unit': f'{len(lines)} GT lines', 'measure': 'line CER (GT lines)'}
    labels = None
    for preset, (_, rec) in graphs.items():
        recognizer = StationRecognizer(rec, threads=1)
        labels = recognizer.labels
        started = time.time()
        texts = [read_pieces(recognizer, pieces) for pieces, _, _ in values]
        cer, chars = line_cer(values, texts)
        row[preset] = {'line_CER': 100 * cer, 'seconds': round(time.time() - started, 1)}
        row[f'{preset}_texts'] = texts
        row[f'{preset}_units'] = per_page_errors(list(lines), values, texts)
    every = cvimodel_every or (QUICK_CVIMODEL_EVERY if quick else CVIMODEL_EVERY)
    sample = list(range(0, len(values), every))
    simulated = cvimodel_texts({key: lines[key] for key in list(lines)[::every]}, cvimodels, tpu_venv,
                               out / 'cvimodel', labels)
    if simulated is not None:
        chosen = [values[i] for i in sample]
        x86 = [row['maixcam_texts'][i] for i in sample]
        row['cvimodel'] = {'sample': f'{len(sample)} lines', 'CER': 100 * line_cer(chosen, simulated)[0],
                           'x86_CER': 100 * line_cer(chosen, x86)[0], 'x86_differs': differs(x86, simulated)}
    row.pop('maixcam-fp32_texts'), row.pop('maixcam_texts')
    rows.append(finish(row, 'line_CER'))
    log(summary(rows[-1]))
    return _written(rows, out)


def cvimodel_pages(pages, recognizer, cvimodels, tpu_venv, work):
    """The rec cvimodel reading the pieces of every box of `pages` ([(GT
    lines, [(polygon, crop)])], the x86 INT8 detector's boxes) against the x86
    INT8 `recognizer` reading the same pieces: {'sample', 'CER': the
    cvimodel's page CER, 'x86_CER', 'x86_differs'}, or None where there is
    no page (--quick reads only some of oldbooks_en's) or the cvimodel or
    tpu-mlir is missing."""
    from ocrd_ppocr.engine.maixcam_pipeline import rec_pieces
    if not pages:
        return None
    boxes = {(page, number): (rec_pieces(crop)[0],) for page, (_, found) in enumerate(pages)
             for number, (_, crop) in enumerate(found)}
    simulated = cvimodel_texts(boxes, cvimodels, tpu_venv, work, recognizer.labels)
    if simulated is None:
        return None
    x86 = [read_pieces(recognizer, pieces) for pieces, in boxes.values()]
    scores = {'CER': [], 'x86_CER': []}
    start = 0
    for gt, found in pages:
        polygons = [polygon for polygon, _ in found]
        for key, texts in (('CER', simulated), ('x86_CER', x86)):
            score = evaluate_page(gt, page_lines(polygons, texts[start:start + len(found)]))
            scores[key].append((score['page_CER'] * score['gt_chars'], score['gt_chars']))
        start += len(found)
    chars = sum(n for _, n in scores['CER'])
    return {'sample': '{} pages, {} boxes, {} pieces'.format(
                len(pages), len(boxes), sum(len(pieces) for pieces, in boxes.values())),
            'CER': 100 * sum(e for e, _ in scores['CER']) / chars,
            'x86_CER': 100 * sum(e for e, _ in scores['x86_CER']) / chars, 'x86_differs': differs(x86, simulated)}


def differs(texts, reference):
    """The share (%) of `reference`'s characters in which `texts` differ from it."""
    from rapidfuzz.distance import Levenshtein
    return 100 * sum(Levenshtein.distance(a, b) for a, b in zip(texts, reference)) / max(1, sum(map(len, reference)))


def per_page_errors(keys, values, texts):
    """[(line CER x characters, characters)] per fraktur_pages page (keys: (page, line number))."""
    pages = {}
    for (page, _), value, text in zip(keys, values, texts):
        pages.setdefault(page, []).append((value, text))
    scores = [line_cer(*zip(*read)) for read in pages.values()]
    return [(cer * chars, chars) for cer, chars in scores]


def _written(rows, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / 'maixcam.json').write_text(json.dumps(rows, indent=1) + '\n')
    return rows


def finish(row, key):
    row['key'] = key
    row['fp32'], row['int8'] = row['maixcam-fp32'][key], row['maixcam'][key]
    row['gap'] = row['int8'] - row['fp32']
    # pages, not lines, are resampled: a page's lines share its print and scan
    fp32_units, int8_units = row.pop('maixcam-fp32_units', None), row.pop('maixcam_units', None)
    if fp32_units and len(fp32_units) > 1:
        row['gap_95'] = gap_interval(fp32_units, int8_units)
        row['pages'] = len(fp32_units)
    cvimodel, det, agreement = row.get('cvimodel'), row.get('det_cvimodel'), []
    if cvimodel:
        agreement.append('rec, {}: {:.2f} / {:.2f} ({:+.2f}); x86 differs {:.2f}'.format(
            cvimodel['sample'], cvimodel['CER'], cvimodel['x86_CER'], cvimodel['x86_CER'] - cvimodel['CER'],
            cvimodel['x86_differs']))
    if det:
        agreement.append('det, {} frames: {} / {} boxes, box F1 {:.1f}, map IoU {:.1f}'.format(
            det['frames'], det['boxes_cvimodel'], det['boxes_x86'], det['box_F1'], det['map_IoU']))
    row['cvimodel_vs_x86'] = '; '.join(agreement) or None
    return row


def summary(row):
    extra = ''
    if 'page_CER_gt_order' in row['maixcam']:
        extra = '; in GT order {:.2f} / {:.2f}; running text {:.2f} / {:.2f}'.format(
            row['maixcam-fp32']['page_CER_gt_order'], row['maixcam']['page_CER_gt_order'],
            row['maixcam-fp32']['page_CER_running'], row['maixcam']['page_CER_running'])
    return (f"  {row['set']} ({row['unit']}): {row['measure'].split(' (')[0]} FP32 {row['fp32']:.2f} %, "
            f"INT8 {row['int8']:.2f} % (gap {row['gap']:+.2f}{interval(row)}){extra}"
            + (f"\n    cvimodel INT8 / x86 INT8: {row['cvimodel_vs_x86']}" if row.get('cvimodel_vs_x86') else ''))


def interval(row):
    return ', 95 % [{:+.2f}, {:+.2f}] over {} pages'.format(*row['gap_95'], row['pages']) if row.get('gap_95') else ''


COLUMNS = [('set', 'set', '{}'), ('unit', 'what', '{}'), ('measure', 'score (evaluate.py)', '{}'),
           ('fp32', '`maixcam-fp32` %', '{:.2f}'), ('int8', '`maixcam` (INT8) %', '{:.2f}'),
           ('gap', 'INT8 - FP32', '{:+.2f}'), ('gap_interval', '95 % interval (pages resampled)', '{}'),
           ('cvimodel_vs_x86', 'sample: cvimodel INT8 (tpu-mlir sim.) / x86 INT8; how far x86 agrees', '{}'),
           ('order', 'in GT order FP32 / INT8 %', '{}'), ('running', 'running text FP32 / INT8 %', '{}')]


def cells(row):
    row = dict(row)
    if row.get('gap_95'):
        row['gap_interval'] = '[{:+.2f}, {:+.2f}]'.format(*row['gap_95'])
    if 'page_CER_gt_order' in row['maixcam']:
        row['order'] = '{:.2f} / {:.2f}'.format(row['maixcam-fp32']['page_CER_gt_order'],
                                                row['maixcam']['page_CER_gt_order'])
        row['running'] = '{:.2f} / {:.2f}'.format(row['maixcam-fp32']['page_CER_running'],
                                                  row['maixcam']['page_CER_running'])
    return ['' if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]


def markdown(rows):
    return markdown_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


def table(rows):
    return text_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


NOTE = ("`-P preset maixcam` (the station's pipeline, MaixCDK's PP_OCR; INT8 graphs quantised where and as "
        "tpu-mlir quantises the station's cvimodels (ocrd_ppocr/maixcam/station_quant.py: its INT8 tensors, "
        "symmetric, per-channel convolution weights, the float/BF16 layers of ocrd_ppocr/maixcam/build.py "
        "SETTINGS), with the thresholds the cvimodels get as their calibration table) against "
        "`maixcam-fp32`, on sets used neither for its calibration (fraktur_lines/train, RapidOCR's test images) "
        "nor for choosing its quantisation (the tuning lines: other works of fraktur_lines/train and the GT lines "
        "of kant_aufklaerung_1784 and bebel_frau_1879; the detector's float blocks from an earlier scan on "
        "bebel). Pages: the station detecting in "
        "frames of the page (tile_scale 0.6 at 300 dpi, 0.9 for DocBank's 200 dpi), its boxes put into page "
        "lines by position; fraktur_pages: the station reading the GT lines (the v4 dictionary has no ſ). "
        "cvimodel column: ocrd-ppocr-maixcam-export's INT8 cvimodels in tpu-mlir's cv181x simulator, the rec "
        "cvimodel on a sample of the fraktur_pages lines and on every box of a sample of each page set's pages "
        "(the pieces x86 INT8 reads), the det cvimodel on station frames of tesseract_testing.")


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.maixcam', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    parser.add_argument('--quick', action='store_true', help=f'oldbooks_en: the first {QUICK_OLDBOOKS} pages')
    parser.add_argument('--cvimodels', help='ocrd-ppocr-maixcam-export output with the cvimodels')
    parser.add_argument('--tpu-venv', default='.venv-tpu')
    parser.add_argument('--sets', default=','.join(SETS), help='comma-separated, of: ' + ', '.join(SETS))
    parser.add_argument('--cvimodel-every', type=int,
                        help=f'the rec cvimodel reads every N-th fraktur_pages line (default {CVIMODEL_EVERY}, '
                             f'--quick {QUICK_CVIMODEL_EVERY}; 1: all 249 lines, 680 pieces, 1-2 hours on 2 cores)')
    args = parser.parse_args(argv)
    unknown = set(args.sets.split(',')) - set(SETS)
    if unknown:
        parser.error(f"unknown set(s) {', '.join(sorted(unknown))}; known: {', '.join(SETS)}")
    report = provenance(' '.join(['python -m benchmarks.maixcam', *(sys.argv[1:] if argv is None else argv)]))
    out = Path(args.results).resolve() / time.strftime('%Y%m%d-%H%M%S') / 'maixcam'
    rows = maixcam_section(args.data, out, args.quick, args.cvimodels, args.tpu_venv, sets=args.sets.split(','),
                           cvimodel_every=args.cvimodel_every)
    print(table(rows))
    (out / 'report.json').write_text(json.dumps({**report, 'rows': rows}, indent=1, default=str) + '\n')
    (out / 'report.md').write_text('## MaixCAM preset: INT8 against FP32 on sets its calibration and quantisation '
                                   'did not use\n\n' + '\n'.join(provenance_markdown(report)) + markdown(rows)
                                   + '\n\n' + NOTE + '\n', encoding='utf-8')
    print(f'\nReport: {out}/report.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
