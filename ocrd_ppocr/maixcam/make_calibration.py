"""Build the MaixCAM calibration set from real pages (a developer tool: run
once from a checkout with ../shared/data beside it; its output is committed,
so every installation quantises from the same inputs).

- rec/: every ground-truth line of bebel_frau_1879 (4 pages) and
  kant_aufklaerung_1784 (2 pages), cut out as the processor cuts lines,
  scaled to height 48, greyscale PNG.
- det/: 320x224 windows (the station's detector input) from 24 real images:
  pages scaled to about 960 pixels wide, the windows with the most ink first;
  small images letterboxed into one window.

Usage: python -m ocrd_ppocr.maixcam.make_calibration SHARED_DATA_DIR
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from lxml import etree
from PIL import Image

from ..engine.crop import crop_polygon

OUT = Path(__file__).with_name('calibration')
DET_W, DET_H, REC_H = 320, 224, 48
WINDOWS_PER_PAGE = 15


def page_lines(page_xml):
    tree = etree.parse(str(page_xml))
    ns = {'pc': tree.getroot().nsmap.get(None) or tree.getroot().nsmap.get('pc')}
    for line in tree.iterfind('.//pc:TextLine', ns):
        points = line.find('pc:Coords', ns).get('points')
        yield np.array([[float(v) for v in p.split(',')] for p in points.split()])


def bgr(path):
    return np.ascontiguousarray(np.asarray(Image.open(path).convert('RGB'))[:, :, ::-1])


def rec_sources(data):
    bebel = data / 'bebel_frau_1879' / 'GT-PAGE'
    kant = data / 'kant_aufklaerung_1784' / 'data'
    for n in ('0146', '0168', '0176', '0186'):
        yield f'bebel_{n}', bebel / f'bebel_frau_1879_{n}.tif', bebel / f'bebel_frau_1879_{n}.xml'
    for n in ('0017', '0020'):
        yield f'kant_{n}', kant / 'OCR-D-IMG' / f'INPUT_{n}.tif', kant / 'OCR-D-GT-PAGE' / f'PAGE_{n}_PAGE.xml'


def det_sources(data):
    for name, image, _ in rec_sources(data):
        yield name, image
    for path in sorted((data / 'docbank_samples' / 'DocBank_samples').glob('*_ori.jpg')):
        yield 'docbank_' + path.name.split('.')[0], path
    for name in ('8071_093.3B', '8087_054.3B', 'eurotext', 'phototest'):
        yield 'tesseract_' + name.split('.')[0], data / 'tesseract_testing' / 'testing' / f'{name}.tif'
    for name in ('ch_doc_server.png', 'ch_en_num.jpg', 'empty_black.jpg', 'en.jpg', 'img_exif_orientation.jpg',
                 'latin.jpg', 'text_cls.jpg', 'text_rec.jpg', 'text_vertical_words.png'):
        yield 'rapidocr_' + name.split('.')[0], data / 'rapidocr_test_files' / name


def letterbox(image, width=DET_W, height=DET_H):
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:resized.shape[0], :resized.shape[1]] = resized
    return canvas


def det_windows(image):
    if image.shape[1] < 2 * DET_W and image.shape[0] < 2 * DET_H:
        return [letterbox(image)]
    if image.shape[0] * 960 / image.shape[1] < DET_H:
        # a single long line: letterbox pieces of it, each a few times as wide as high
        step = max(DET_W, int(3 * image.shape[0]))
        return [letterbox(image[:, x:x + step]) for x in range(0, image.shape[1], step)][:WINDOWS_PER_PAGE]
    scale = 960 / image.shape[1]
    scaled = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(scaled, cv2.COLOR_BGR2GRAY)
    ink = grey < 128
    windows = []
    for y in range(0, scaled.shape[0] - DET_H + 1, DET_H):
        for x in range(0, scaled.shape[1] - DET_W + 1, DET_W // 2):
            windows.append((ink[y:y + DET_H, x:x + DET_W].mean(), y, x))
    windows.sort(key=lambda w: (-w[0], w[1], w[2]))
    return [scaled[y:y + DET_H, x:x + DET_W] for _, y, x in windows[:WINDOWS_PER_PAGE]]


def main(data):
    data = Path(data)
    manifest = {'rec': [], 'det': []}
    (OUT / 'rec').mkdir(parents=True, exist_ok=True)
    (OUT / 'det').mkdir(parents=True, exist_ok=True)
    for name, image_path, page_xml in rec_sources(data):
        image = bgr(image_path)
        for number, polygon in enumerate(page_lines(page_xml), 1):
            crop = crop_polygon(image, polygon).image
            width = max(1, round(crop.shape[1] * REC_H / crop.shape[0]))
            line = cv2.cvtColor(cv2.resize(crop, (width, REC_H), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
            target = OUT / 'rec' / f'{name}_l{number:03d}.png'
            cv2.imwrite(str(target), line)
            manifest['rec'].append({'file': f'rec/{target.name}', 'source': name})
    for name, image_path in det_sources(data):
        for number, window in enumerate(det_windows(bgr(image_path)), 1):
            target = OUT / 'det' / f'{name}_w{number:02d}.jpg'
            cv2.imwrite(str(target), window, [cv2.IMWRITE_JPEG_QUALITY, 80])
            manifest['det'].append({'file': f'det/{target.name}', 'source': name})
    (OUT / 'calibration.json').write_text(json.dumps(manifest, indent=1))
    print(f"{len(manifest['rec'])} line crops from {len({e['source'] for e in manifest['rec']})} pages, "
          f"{len(manifest['det'])} windows from {len({e['source'] for e in manifest['det']})} images")


if __name__ == '__main__':
    main(sys.argv[1])
