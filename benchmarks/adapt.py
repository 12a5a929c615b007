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

    python -m benchmarks.adapt [--quick] [--dev] [--books clauren,bebel] [--out DIR]

--quick: one book, 40 held-out lines.

--dev (the development protocol, for choosing training's defaults): the two
books plus WORKS, four works of ../shared/data/fraktur_lines/train (1801-1827,
the oldest with 46-50 lines among the works the base model never trained
on: its validation works, `val_groups` in
ocrd_ppocr/patches/PP-OCRv6_rec_small_fraktur.report.json); of each work's
lines, shuffled with the same seed, the first WORK_TRAIN_LINES (35) are
trained on, the other 11-15 held out. fraktur_lines/val is never used.
The works start from WORK_BASE, PP-OCRv6_rec_small (no Fraktur training,
6-10 % CER on them): PP-OCRv6_rec_small_fraktur reads them with 0-2 % CER
already, too close to tell settings apart, while the books that matter
(early prints, 12-18 % before) are far from any base model.
"""
import argparse
import json
import random
import resource
import shutil
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
# fraktur_lines/train works for --dev (see above): the base model's validation works, never its training
FRAKTUR_LINES = DATA / 'fraktur_lines' / 'train'
WORKS = ['1801-bub_gb_R-4TAAAAQAAJ', '1804-bub_gb_ZrE5AAAAcAAJ', '1815-allgemeineliter20unkngoog',
         '1827-heine_lieder']
WORK_TRAIN_LINES = 35
WORK_BASE = 'PP-OCRv6_rec_small'  # a base model far from the works (see above)


def book_lines(mets, grp):
    """[(crop, text)] of every GT line of a workspace, cut as
    ocrd-ppocr-recognize and ocrd-ppocr-train cut them for BASE (the one
    image path: AlternativeImages the GT names but does not ship are passed
    over; BASE's reading margin, 0.1 line heights: tight line images, as
    fraktur_lines and the books that judge the protocol come)."""
    from ocrd_ppocr.engine.recognize import reading_margin
    from ocrd_ppocr.training.data import lines_from_workspace

    from .models import model_file

    lines, _ = lines_from_workspace(mets, grp, margin=reading_margin(str(model_file(BASE))))
    return [(line.image, line.text) for line in lines]


def work_lines(work):
    """[(image path, text)] of a fraktur_lines work, in file order."""
    return [(image, image.with_suffix('').with_suffix('.gt.txt').read_text(encoding='utf-8').strip())
            for image in sorted((FRAKTUR_LINES / work).glob('*.jpg'))]


def export_book(name, folder, seed=1, test_limit=None):
    """Folders `train/` (60 lines of a book, 35 of a work) and `test/` (the
    others) of line images with .gt.txt."""
    if name in BOOKS:
        lines, count = book_lines(*BOOKS[name]), TRAIN_LINES
    else:
        lines, count = work_lines(name), WORK_TRAIN_LINES
        if not lines:
            raise SystemExit(f'{name}: neither a book ({", ".join(BOOKS)}) nor a work of {FRAKTUR_LINES}')
    random.Random(seed).shuffle(lines)
    parts = {'train': lines[:count], 'test': lines[count:][:test_limit]}
    for part, chosen in parts.items():
        target = Path(folder) / part
        shutil.rmtree(target, ignore_errors=True)  # no lines of an earlier export left
        target.mkdir(parents=True)
        for number, (image, text) in enumerate(chosen):
            if isinstance(image, Path):  # a work's line image, as it is
                shutil.copyfile(image, target / f'{number:04d}{image.suffix}')
            else:
                cv2.imwrite(str(target / f'{number:04d}.png'), image)
            (target / f'{number:04d}.gt.txt').write_text(text + '\n', encoding='utf-8')
    return {part: len(chosen) for part, chosen in parts.items()}


def predict(model, folder, output, threads=0):
    """(held-out CER %, [CER % of each voter alone]) of `model` on `folder`,
    from ocrd-ppocr-predict's summary lines."""
    result = subprocess.run([sys.executable, '-m', 'ocrd_ppocr.predict', '-m', str(model), '-o', str(output),
                             '--threads', str(threads), str(folder)], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    cer = float(next(l for l in lines if l.startswith('CER ')).split()[1])
    alone = next((l for l in lines if l.startswith('CER of each model alone')), None)
    members = [float(v) for v in alone.split(':')[1].replace('%', '').split('/')] if alone else [cer]
    return cer, members


def adapt(name, out, test_limit=None, train_args=(), reuse=False, with_base=False, before=True, threads=0):
    folder = Path(out) / name
    counts = export_book(name, folder, test_limit=test_limit)
    models = folder / 'models'
    base = BASE if name in BOOKS else WORK_BASE
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.time()
    if not (reuse and (models / f'{name}.report.json').is_file()):
        with open(folder / 'train.log', 'w') as log:
            subprocess.run([sys.executable, '-m', 'ocrd_ppocr.training.cli', str(folder / 'train'), '-o',
                            name, '-m', base, '--install-dir', str(models), '--overwrite',
                            *(['--threads', str(threads)] if threads else []), *train_args],
                           check=True, stdout=log, stderr=subprocess.DEVNULL)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads((models / f'{name}.report.json').read_text())
    row = {'book': name, 'base': base, **counts, 'training_minutes': round(report['training_seconds'] / 60, 2),
           'chosen': report.get('chosen'), 'cross_validation_cer': report.get('cross_validation_cer')}
    if time.time() - started > report['training_seconds']:  # trained here: its CPU time too
        # CPU minutes / 2: about the wall time on 2 idle cores (the wall time counts other load too)
        row['cpu_minutes_per_2_cores'] = round((usage.ru_utime + usage.ru_stime - cpu_before) / 120, 2)
    if before:
        row['cer_before'], _ = predict(base, folder / 'test', folder / 'pred_base', threads)
    row['cer_voted'], members = predict(models / name, folder / 'test', folder / 'pred', threads)
    row['cer_members'] = members
    row['cer_one_model'] = round(sum(members) / len(members), 2)
    if with_base:  # the base model as one more voter
        from ocrd_ppocr.engine.ensemble import read_ensemble
        voters = [model for model, _ in read_ensemble(models / f'{name}.ensemble.json')] + [base]
        row['cer_voted_with_base'], _ = predict(','.join(voters), folder / 'test', folder / 'pred_with_base', threads)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='one book, 40 held-out lines')
    parser.add_argument('--books', default=','.join(BOOKS),
                        help=f'books ({", ".join(BOOKS)}) or works of fraktur_lines/train, comma-separated')
    parser.add_argument('--dev', action='store_true',
                        help='the development protocol: the books and ' + ', '.join(WORKS))
    parser.add_argument('--out', default='/tmp/ocrd-ppocr-adapt')
    parser.add_argument('--reuse', action='store_true', help='models trained by an earlier run: recognition only')
    parser.add_argument('--no-before', action='store_true', help="not the base model's CER (known from another run)")
    parser.add_argument('--threads', type=int, default=0,
                        help="CPU threads of training and recognition (0: each tool's own default)")
    parser.add_argument('--with-base', action='store_true', help='also the vote with the base model as a voter')
    parser.add_argument('train_args', nargs='*', help='extra ocrd-ppocr-train options (after --)')
    args = parser.parse_args(argv)
    books = args.books.split(',')[:1] if args.quick else args.books.split(',')
    if args.dev:
        books = list(BOOKS) + WORKS
    rows = []
    for book in books:
        row = adapt(book, args.out, 40 if args.quick else None, args.train_args, args.reuse, args.with_base,
                    not args.no_before, args.threads)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    keys = [k for k in ('cer_before', 'cer_one_model', 'cer_voted', 'cer_voted_with_base', 'training_minutes',
                        'cpu_minutes_per_2_cores')
            if all(k in r for r in rows)]
    print('mean over', ', '.join(books) + ':', ', '.join(f'{k} {sum(r[k] for r in rows) / len(rows):.2f}'
                                                          for k in keys))


if __name__ == '__main__':
    main()
