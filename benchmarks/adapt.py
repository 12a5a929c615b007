"""Adapting to a book with few lines (issue 29's protocol).

For each book: its GT lines are cut as ocrd-ppocr-recognize cuts them
(training.data.lines_from_workspace), shuffled with a fixed seed; the first
60 go to a folder of line images with .gt.txt (the user's transcriptions),
the others are held out. Then, as a user would:

    ocrd-ppocr-train BOOK/train -o NAME -m PP-OCRv6_rec_small_fraktur --install-dir DIR   (tool's defaults)
    ocrd-ppocr-predict -m DIR/NAME BOOK/test

and reports the held-out CER before (the base model), after one model (the
mean over the ensemble's members, each trained on 4/5 of the 60 lines), after
voting, and the training's wall minutes. The held-out lines are never seen
by training, nor by its validation.

    python -m benchmarks.adapt [--quick] [--books clauren,bebel] [--out DIR]

--quick: one book, 40 held-out lines.
"""
import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2

from .datasets import DATA

BASE = 'PP-OCRv6_rec_small_fraktur'
TRAIN_LINES = 60
# books of ../shared/data with more than 60 GT lines: (name, METS, line fileGrp)
BOOKS = {
    'clauren': (DATA / 'fraktur_pages' / 'clauren_mimil_1815' / 'mets.xml', 'OCR-D-GT-SEG-LINE'),
    'bebel': (DATA / 'bebel_frau_1879' / 'mets.xml', 'OCR-D-GT-SEG-LINE'),
}


def book_lines(mets, grp):
    """[(crop, text)] of every GT line of a workspace, cut from the page's
    own image (imageFilename) with the recogniser's cropping (the GT's
    AlternativeImages are not all shipped)."""
    from ocrd_models import OcrdMets
    from ocrd_models.ocrd_page import parse

    from ocrd_ppocr.engine.crop import crop_polygon
    from ocrd_ppocr.training.data import normalise

    folder, lines = Path(mets).parent, []
    files = OcrdMets(filename=str(mets)).find_files(fileGrp=grp, mimetype='application/vnd.prima.page+xml')
    for page_file in sorted(folder / f.local_filename for f in files):
        page = parse(str(page_file), silence=True).get_Page()
        image = cv2.imread(str(folder / page.get_imageFilename()), cv2.IMREAD_COLOR)
        for line in page.get_AllTextLines():
            text = normalise(line.get_TextEquiv()[0].Unicode if line.get_TextEquiv() else '')
            points = [[float(v) for v in point.split(',')] for point in line.get_Coords().points.split()]
            if text and len(points) >= 3:
                lines.append((crop_polygon(image, points).image, text))
    return lines


def export_book(name, folder, seed=1, test_limit=None):
    """Folders `train/` (60 lines) and `test/` (the others) of line images with .gt.txt."""
    mets, grp = BOOKS[name]
    lines = book_lines(mets, grp)
    random.Random(seed).shuffle(lines)
    parts = {'train': lines[:TRAIN_LINES], 'test': lines[TRAIN_LINES:][:test_limit]}
    for part, chosen in parts.items():
        target = Path(folder) / part
        target.mkdir(parents=True, exist_ok=True)
        for number, line in enumerate(chosen):
            cv2.imwrite(str(target / f'{number:04d}.png'), line[0])
            (target / f'{number:04d}.gt.txt').write_text(line[1] + '\n', encoding='utf-8')
    return {part: len(chosen) for part, chosen in parts.items()}


def predict(model, folder, output):
    """Held-out CER (%) of `model` on `folder`, from ocrd-ppocr-predict's summary line."""
    result = subprocess.run([sys.executable, '-m', 'ocrd_ppocr.predict', '-m', str(model), '-o', str(output),
                             '--threads', '2', str(folder)], capture_output=True, text=True, check=True)
    line = next(l for l in result.stdout.splitlines() if l.startswith('CER'))
    return float(line.split()[1])


def adapt(name, out, test_limit=None, train_args=()):
    folder = Path(out) / name
    counts = export_book(name, folder, test_limit=test_limit)
    models = folder / 'models'
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.time()
    with open(folder / 'train.log', 'w') as log:
        subprocess.run(['nice', sys.executable, '-m', 'ocrd_ppocr.training.cli', str(folder / 'train'), '-o', name,
                        '-m', BASE, '--install-dir', str(models), '--overwrite', *train_args], check=True,
                       stdout=log, stderr=subprocess.DEVNULL)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    minutes = (time.time() - started) / 60
    report = json.loads((models / f'{name}.report.json').read_text())
    row = {'book': name, **counts, 'minutes': round(minutes, 2),
           # CPU minutes / 2: the wall time on 2 idle cores (the wall time above counts other load too)
           'cpu_minutes_per_2_cores': round((cpu.ru_utime + cpu.ru_stime - cpu_before) / 120, 2),
           'chosen': report.get('chosen'), 'cross_validation_cer': report.get('cross_validation_cer'),
           'cer_before': predict(BASE, folder / 'test', folder / 'pred_base')}
    members = sorted(models.glob(f'{name}.fold*.onnx'))
    if members:
        cers = [predict(m, folder / 'test', folder / f'pred_{m.stem}') for m in members]
        row['cer_members'] = cers
        row['cer_one_model'] = round(sum(cers) / len(cers), 2)
    row['cer_voted' if members else 'cer_one_model'] = predict(models / name, folder / 'test', folder / 'pred')
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='one book, 40 held-out lines')
    parser.add_argument('--books', default=','.join(BOOKS))
    parser.add_argument('--out', default='/tmp/ocrd-ppocr-adapt')
    parser.add_argument('train_args', nargs='*', help='extra ocrd-ppocr-train options (after --)')
    args = parser.parse_args(argv)
    books = args.books.split(',')[:1] if args.quick else args.books.split(',')
    rows = []
    for book in books:
        row = adapt(book, args.out, 40 if args.quick else None, args.train_args)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    keys = [k for k in ('cer_before', 'cer_one_model', 'cer_voted', 'minutes') if all(k in r for r in rows)]
    print('mean over', ', '.join(books) + ':', ', '.join(f'{k} {sum(r[k] for r in rows) / len(rows):.2f}'
                                                          for k in keys))


if __name__ == '__main__':
    main()
