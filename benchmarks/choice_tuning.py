"""How the rule of engine/model_choice.py was tuned: every line our detector
finds on a set is read once by both recognisers (the general one decoded
over all and over Latin characters), then ModelChooser is replayed on those
readings with other parameters, for page CER and extra reading cost in
seconds, not hours.

    python -m benchmarks.choice_tuning [--data ../shared/data] [--results results] [--sets kant,bebel]

Sets: those of benchmarks/choice.py (bebel, kant, clauren, laube,
oldbooks_en), all tuning sets; fraktur_lines/val is never read. Prints, per
set, the page CER of each fixed reading and of the rule with the module's
parameters and a few variations, `+N %` the pixels read beyond one model's
reading of every line (the cost), and the primary model of each page
(g general, f Fraktur).
"""
import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from .choice import PAGE_SETS, run_timed, workspace_of
from .datasets import DATA
from .fraktur import page_files
from .scores import _evaluate
from .unseen import evaluate_page, oldbooks_en, text_lines

LATIN = object()  # the Latin class set's stand-in in the replay


def read_set(name, data, out, env):
    """[{polys, widths, readings: {role: [LineResult]}, gt}] per page of a set."""
    from ocrd_models.ocrd_page import parse
    from ocrd_ppocr.engine.charset import allowed_classes
    from ocrd_ppocr.engine.crop import crop_polygon
    from ocrd_ppocr.engine.recognize import TextRecognizer
    from ocrd_ppocr.processors.base import pil_to_pixels
    from ocrd_ppocr.training.cli import dictionary_beside, find_model

    models = {role: find_model(name_) for role, name_ in (('general', 'PP-OCRv6_rec_small'),
                                                         ('fraktur', 'PP-OCRv6_rec_small_fraktur'))}
    general, fraktur = (TextRecognizer(path, dictionary_beside(path), top_k=1) for path in models.values())
    latin = allowed_classes(general.labels, 'latin')
    evaluate = _evaluate()
    directory = workspace_of(name, data, out)
    run_timed(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'BENCH-SEG'], directory, env)
    folder, gt_grp = PAGE_SETS[name]
    if folder is None:
        gts = {f'PHYS_{p.page_id}': text_lines(p.gt.read_text(encoding='utf-8').splitlines())
               for p in oldbooks_en(data).pages}
    else:
        gts = {page: evaluate.load(str(path)) for page, path in page_files(directory, gt_grp).items()}
    pages = []
    for page_id, path in sorted(page_files(directory, 'BENCH-SEG').items()):
        page = parse(str(path), silence=True).get_Page()
        image = pil_to_pixels(Image.open(directory / page.imageFilename))
        polys = [np.array([[int(v) for v in xy.split(',')] for xy in line.get_Coords().points.split()])
                 for region in page.get_AllRegions(classes=['Text'], order='reading-order')
                 for line in region.get_TextLine()]
        crops = [crop_polygon(image, poly) for poly in polys]  # each recogniser reads them with its margin
        as_any, as_latin = general.recognize(crops, [None, latin])
        pages.append({'polys': polys, 'widths': [c.image.shape[1] * 48 / max(c.image.shape[0], 1) for c in crops],
                      'readings': {'any': as_any, 'latin': as_latin, 'fraktur': fraktur.recognize(crops)},
                      'gt': gts[page_id], 'page_id': page_id})
    return pages


class _Crop:
    def __init__(self, index, width):
        self.index, self.shape = index, (48, int(width), 3)


class _Replay:
    """A recogniser that hands out readings made before, counting the pixels asked for."""
    def __init__(self, readings, cost):
        self.readings, self.classes, self.cost = readings, None, cost

    def recognize(self, crops, class_sets=None):
        self.cost[0] += sum(crop.shape[1] for crop in crops)
        sets = [None] if class_sets is None else class_sets
        out = [[self.readings['latin' if s is LATIN else 'any'][crop.index] for crop in crops] for s in sets]
        return out[0] if class_sets is None else out


def replay(pages, name, system, **options):
    """(page CER pooled, extra cost, primaries) of one system on one set."""
    from ocrd_ppocr.engine.model_choice import ModelChooser
    from ocrd_ppocr.engine.orthography import line_end_hyphen

    evaluate = _evaluate()
    errors = chars = extra = width = 0
    primaries = ''
    for page in pages:
        if system == 'auto':
            general, fraktur = [0], [0]
            chooser = ModelChooser(_Replay({'any': page['readings']['any'], 'latin': page['readings']['latin']},
                                           general),
                                   _Replay({'any': page['readings']['fraktur']}, fraktur),
                                   {'general': 'G', 'fraktur': 'F'}, LATIN, **options)
            lines, choice = chooser.read_page([_Crop(i, w) for i, w in enumerate(page['widths'])])
            extra += general[0] + fraktur[0] - sum(page['widths'])
            primaries += choice.primary[0]
        else:
            lines = page['readings'][system]
        width += sum(page['widths'])
        texts = [line_end_hyphen(line, '-').text for line in lines]
        if PAGE_SETS[name][0] is None:
            result = evaluate_page(page['gt'], text_lines(texts))
            cer, n = result['page_CER'], result['gt_chars']
        else:
            cer = evaluate.score(page['gt'], [(p.tolist(), evaluate.norm(t)) for p, t in zip(page['polys'], texts)])
            cer, n = cer['page_CER'], len('\n'.join(t for _, t in page['gt']))
        errors, chars = errors + cer * n, chars + n
    return errors / max(chars, 1), extra / max(width, 1), primaries


def main(argv=None):
    from ocrd_ppocr.engine import model_choice as mc

    parser = argparse.ArgumentParser(prog='python -m benchmarks.choice_tuning', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    parser.add_argument('--sets', default=','.join(PAGE_SETS))
    args = parser.parse_args(argv)
    out = Path(args.results).resolve() / (time.strftime('%Y%m%d-%H%M%S') + '-choice-tuning')
    env = dict(os.environ)
    module = dict(sample=mc.SAMPLE, recheck_below=mc.RECHECK_BELOW, margin=mc.MARGIN, trust=mc.TRUST)
    variants = [('module', module),
                ('Fraktur trusted from 0.7', {**module, 'trust': {**mc.TRUST, 'fraktur': 0.7}}),
                ('Fraktur trusted from 0.8', {**module, 'trust': {**mc.TRUST, 'fraktur': 0.8}}),
                ('Fraktur trusted from 0.9', {**module, 'trust': {**mc.TRUST, 'fraktur': 0.9}}),
                ('margin 0 on Fraktur pages', {**module, 'margin': {**mc.MARGIN, 'fraktur': 0.0}}),
                ('re-read below 0.9 on Fraktur pages', {**module, 'recheck_below': {**mc.RECHECK_BELOW,
                                                                                    'fraktur': 0.9}}),
                ('no line re-read', {**module, 'recheck_below': {'general': 0.0, 'fraktur': 0.0}}),
                ('sample 2', {**module, 'sample': 2}), ('sample 5', {**module, 'sample': 5})]
    for name in [s for s in args.sets.split(',') if s]:
        pages = read_set(name, args.data, out, env)
        for system in ('any', 'latin', 'fraktur'):
            cer, _, _ = replay(pages, name, system)
            print(f'{name:12s} {system:38s} page CER {100 * cer:6.2f} %', flush=True)
        for label, options in variants:
            cer, cost, primaries = replay(pages, name, 'auto', **options)
            print(f'{name:12s} auto, {label:32s} page CER {100 * cer:6.2f} %  +{100 * cost:3.0f} %  {primaries}',
                  flush=True)


if __name__ == '__main__':
    main()
