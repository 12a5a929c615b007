"""Build the MaixCAM calibration set from real images that no evaluation
uses (a developer tool: run once from a checkout with ../shared/data beside
it; its output is committed, so every installation quantises from the same
inputs).

Sources (../shared/data/README.md; none of them is read by a benchmark or a
test as evaluation material):
- fraktur_lines/train: line images of 19th-century print (archiscribe corpus
  and GT4HistOCR dta19, CC-BY 4.0), training material only. Its 130 works,
  sorted by name, are split in two: the even-numbered ones give the
  calibration lines and page-like frames, the odd-numbered ones are the
  TUNING lines (listed in calibration.json with their text, not copied: read
  from ../shared/data by python -m research.maixcam.sensitivity), so that
  a layer list is never chosen on the lines it was calibrated with.
- rapidocr_test_files (RapidAI/RapidOCR test images, Apache-2.0), all but
  text_rec.jpg and text_cls.jpg, which tests/test_engine_recognize.py reads.

- rec/: REC_PER_WORK line images of each calibration work, copied unchanged
  (grey JPEG, 48 px high), and the lines the station's FP32 detector finds in
  the RapidOCR images, cut out as the station cuts them (engine.
  maixcam_pipeline.station_crop), scaled to height 48, grey PNG. The build
  reads them as the station does: cut every 320 pixels, padded black.
- det/: 320x224 frames as the station's detector sees them (letterboxed
  centred on black, nearest neighbour: maixcam_pipeline.letterbox): each
  RapidOCR image whole; and for each calibration work, its lines stacked into
  a column on their own paper (a page made of real lines), framed three ways:
  whole, a 640x448 and a 320x224 piece of its top left.

Usage: python -m research.maixcam.make_calibration SHARED_DATA_DIR
"""
import csv
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from ocrd_ppocr.engine.maixcam_pipeline import StationDetector, letterbox, station_crop
from ocrd_ppocr.engine.presets import STATION

OUT = Path(__file__).with_name('calibration')
REC_H = STATION.rec_shape[0]
DET_H, DET_W = STATION.det_shape
REC_PER_WORK = 3
TUNE_PER_WORK = 2
COLUMN_LINES = 12
FRAME_SCALES = (0.5, 1.0)  # frames of (224, 320) / scale column pixels, besides the whole column
JPEG = [cv2.IMWRITE_JPEG_QUALITY, 90]
RAPIDOCR_SKIP = ('text_rec.jpg', 'text_cls.jpg')  # read by tests/test_engine_recognize.py
LICENCES = {
    'fraktur_lines/train': 'CC-BY 4.0: archiscribe corpus (Johannes Baiter) and GT4HistOCR dta19 (Springmann, '
                           'Reul, Dipper, Baiter 2018), as converted in ../shared/data/fraktur_lines',
    'rapidocr_test_files': 'Apache-2.0: RapidAI/RapidOCR @ 9ceb3420, python/tests/test_files',
}


def fraktur_works(data):
    """{work: [(file relative to data, text)]} of fraktur_lines/train, lines sorted by file."""
    works = {}
    with open(Path(data) / 'fraktur_lines' / 'lines.tsv', encoding='utf-8') as table:
        for row in csv.DictReader(table, delimiter='\t'):
            if row['split'] == 'train':
                works.setdefault(row['work'], []).append((f"fraktur_lines/{row['file']}", row['text']))
    return {work: sorted(lines) for work, lines in sorted(works.items())}


def spread(items, count):
    """`count` items spread evenly over `items` (all if fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else [items[0]]


def split_works(works):
    names = list(works)
    return names[0::2], names[1::2]


def paper(grey):
    """The line image's paper grey: the median of its border pixels."""
    return int(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))


def column(data, lines):
    """The lines (grey images) stacked top to bottom, left aligned, on the first line's paper."""
    images = [cv2.imread(str(Path(data) / file), cv2.IMREAD_GRAYSCALE) for file, _ in lines]
    background = paper(images[0])
    width = max(image.shape[1] for image in images) + 20
    gap = 6
    height = sum(image.shape[0] + gap for image in images) + 20
    page = np.full((height, width), background, dtype=np.uint8)
    y = 10
    for image in images:
        page[y:y + image.shape[0], 10:10 + image.shape[1]] = image
        y += image.shape[0] + gap
    return cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)


def column_frames(page):
    frames = [letterbox(page)[0]]
    for scale in FRAME_SCALES:
        frames.append(letterbox(page[:round(DET_H / scale), :round(DET_W / scale)])[0])
    return frames


def main(data, detector_path=None):
    data = Path(data)
    if OUT.exists():
        for sub in ('rec', 'det'):
            shutil.rmtree(OUT / sub, ignore_errors=True)
    (OUT / 'rec').mkdir(parents=True, exist_ok=True)
    (OUT / 'det').mkdir(parents=True, exist_ok=True)
    manifest = {'about': __doc__.split('\n\n')[1], 'licences': LICENCES, 'rec': [], 'det': [], 'tune': []}
    works = fraktur_works(data)
    calibration, tuning = split_works(works)
    for work in calibration:
        for file, _ in spread(works[work], REC_PER_WORK):
            target = OUT / 'rec' / Path(file).name
            shutil.copyfile(data / file, target)
            manifest['rec'].append({'file': f'rec/{target.name}', 'source': file})
        for number, frame in enumerate(column_frames(column(data, works[work][:COLUMN_LINES])), 1):
            target = OUT / 'det' / f'fraktur_{work}_f{number}.jpg'
            cv2.imwrite(str(target), frame, JPEG)
            manifest['det'].append({'file': f'det/{target.name}', 'source': f'fraktur_lines/train/{work}'})
    for work in tuning:
        manifest['tune'] += [{'source': file, 'text': text} for file, text in spread(works[work], TUNE_PER_WORK)]
    detector = StationDetector(detector_path or _fp32_detector())
    for path in sorted((data / 'rapidocr_test_files').glob('*.*')):
        if path.suffix not in ('.jpg', '.png') or path.name in RAPIDOCR_SKIP:
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        source = f'rapidocr_test_files/{path.name}'
        target = OUT / 'det' / f'rapidocr_{path.stem}.jpg'
        cv2.imwrite(str(target), letterbox(image)[0], JPEG)
        manifest['det'].append({'file': f'det/{target.name}', 'source': source})
        for number, detection in enumerate(detector.detect(image).detections, 1):
            crop = station_crop(image, detection.points).image
            width = max(1, round(crop.shape[1] * REC_H / crop.shape[0]))
            line = cv2.cvtColor(cv2.resize(crop, (width, REC_H), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2GRAY)
            target = OUT / 'rec' / f'rapidocr_{path.stem}_l{number:02d}.png'
            cv2.imwrite(str(target), line)
            manifest['rec'].append({'file': f'rec/{target.name}', 'source': source})
    (OUT / 'calibration.json').write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    print(f"{len(manifest['rec'])} line images, {len(manifest['det'])} detector frames, "
          f"{len(manifest['tune'])} tuning lines ({len(tuning)} works)")


def _fp32_detector():
    from ocrd_ppocr.maixcam.build import OUTPUTS
    from ocrd_ppocr.maixcam.export import find_resource
    path = find_resource('det', OUTPUTS['det'][0])
    if path is None:
        raise FileNotFoundError(f"{OUTPUTS['det'][0]} is not installed: run `make maixcam`")
    return path


if __name__ == '__main__':
    main(*sys.argv[1:])
