"""Choosing the INT8 recipe (ocrd_ppocr/engine/int8.py) on lines that no
guard set contains: the 130 TUNING lines of the MaixCAM calibration set
(ocrd_ppocr/maixcam/calibration/calibration.json 'tune': fraktur_lines/train,
works disjoint from the calibration lines), read by both recognisers of
model auto, float32 and each recipe, in one process: line CER against
the GT, CER against the float reading, CPU seconds per line (best of the
rounds, interleaved).

    python -m benchmarks.int8_tuning [--data ../shared/data] [--rounds 2] [--out FILE.json]"""
import argparse
import json
import resource
from pathlib import Path

import cv2

from .datasets import DATA

RECIPES = {
    'minmax': {'method': 'minmax', 'keep_ends': False},
    'minmax+ends-float': {'method': 'minmax', 'keep_ends': True},
    'minmax-conv-only': {'method': 'minmax', 'keep_ends': False, 'ops': ['Conv']},
}
MODELS = ('PP-OCRv6_rec_small', 'PP-OCRv6_rec_small_fraktur')


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    from ocrd_ppocr.cer import cer
    from ocrd_ppocr.engine.int8 import CALIBRATION, int8_model
    from ocrd_ppocr.engine.recognize import TextRecognizer
    from ocrd_ppocr.resources import find_model

    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(DATA))
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--recipes', default=','.join(RECIPES))
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    tune = json.loads((CALIBRATION / 'calibration.json').read_text(encoding='utf-8'))['tune']
    images = [cv2.imread(str(Path(args.data) / entry['source']), cv2.IMREAD_COLOR) for entry in tune]
    truths = [entry['text'] for entry in tune]
    rows = []
    for model in MODELS:
        path = find_model(model)
        readers = {'float32': TextRecognizer(path, top_k=1)}
        for name in args.recipes.split(','):
            readers[name] = TextRecognizer(int8_model(path, 'rec', RECIPES[name]), top_k=1)
        texts, cpu = {}, {name: [] for name in readers}
        for _ in range(args.rounds):
            for name, reader in readers.items():
                start = cpu_seconds()
                texts[name] = [result.text for result in reader.recognize(images)]
                cpu[name].append((cpu_seconds() - start) / len(images))
        for name in readers:
            rows.append({'model': model, 'recipe': name, 'lines': len(images),
                         'line_CER': cer(list(zip(truths, texts[name]))),
                         'CER_vs_float': cer(list(zip(texts['float32'], texts[name]))),
                         'cpu_s_per_line': min(cpu[name]), 'cpu_ratio': min(cpu[name]) / min(cpu['float32'])})
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
