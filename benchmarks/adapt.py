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
    """[(crop, text)] of every GT line of a workspace, cut as
    ocrd-ppocr-recognize and ocrd-ppocr-train cut them (the one image path:
    AlternativeImages the GT names but does not ship are passed over)."""
    from ocrd_ppocr.training.data import lines_from_workspace

    lines, _ = lines_from_workspace(mets, grp)
    return [(line.image, line.text) for line in lines]


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
    """(held-out CER %, [CER % of each voter alone]) of `model` on `folder`,
    from ocrd-ppocr-predict's summary lines."""
    result = subprocess.run([sys.executable, '-m', 'ocrd_ppocr.predict', '-m', str(model), '-o', str(output),
                             '--threads', '2', str(folder)], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    cer = float(next(l for l in lines if l.startswith('CER ')).split()[1])
    alone = next((l for l in lines if l.startswith('CER of each model alone')), None)
    members = [float(v) for v in alone.split(':')[1].replace('%', '').split('/')] if alone else [cer]
    return cer, members


def adapt(name, out, test_limit=None, train_args=(), reuse=False):
    folder = Path(out) / name
    counts = export_book(name, folder, test_limit=test_limit)
    models = folder / 'models'
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.time()
    if not (reuse and (models / f'{name}.report.json').is_file()):
        with open(folder / 'train.log', 'w') as log:
            subprocess.run([sys.executable, '-m', 'ocrd_ppocr.training.cli', str(folder / 'train'), '-o',
                            name, '-m', BASE, '--install-dir', str(models), '--overwrite', *train_args],
                           check=True, stdout=log, stderr=subprocess.DEVNULL)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads((models / f'{name}.report.json').read_text())
    row = {'book': name, **counts, 'training_minutes': round(report['training_seconds'] / 60, 2),
           'chosen': report.get('chosen'), 'cross_validation_cer': report.get('cross_validation_cer')}
    if time.time() - started > report['training_seconds']:  # trained here: its CPU time too
        # CPU minutes / 2: about the wall time on 2 idle cores (the wall time counts other load too)
        row['cpu_minutes_per_2_cores'] = round((usage.ru_utime + usage.ru_stime - cpu_before) / 120, 2)
    row['cer_before'], _ = predict(BASE, folder / 'test', folder / 'pred_base')
    row['cer_voted'], members = predict(models / name, folder / 'test', folder / 'pred')
    row['cer_members'] = members
    row['cer_one_model'] = round(sum(members) / len(members), 2)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='one book, 40 held-out lines')
    parser.add_argument('--books', default=','.join(BOOKS))
    parser.add_argument('--out', default='/tmp/ocrd-ppocr-adapt')
    parser.add_argument('--reuse', action='store_true', help='models trained by an earlier run: recognition only')
    parser.add_argument('train_args', nargs='*', help='extra ocrd-ppocr-train options (after --)')
    args = parser.parse_args(argv)
    books = args.books.split(',')[:1] if args.quick else args.books.split(',')
    rows = []
    for book in books:
        row = adapt(book, args.out, 40 if args.quick else None, args.train_args, args.reuse)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    keys = [k for k in ('cer_before', 'cer_one_model', 'cer_voted', 'training_minutes', 'cpu_minutes_per_2_cores')
            if all(k in r for r in rows)]
    print('mean over', ', '.join(books) + ':', ', '.join(f'{k} {sum(r[k] for r in rows) / len(rows):.2f}'
                                                          for k in keys))


if __name__ == '__main__':
    main()
