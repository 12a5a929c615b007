"""Choose the MaixCAM recogniser's float (BF16 on the station) layers on
TUNING material only (a developer tool, run from a checkout with
../shared/data beside it).

The tuning material: calibration.json's `tune` entries (fraktur_lines/train
lines of the works not used for calibration: clean line images) and, with
--pages, the GT lines of the project's tuning workspaces cut from their page
scans as the station cuts them (kant_aufklaerung_1784, Fraktur;
bebel_frau_1879, Antiqua): line images from whole-page scans, as the
station meets them, which the clean lines do not represent (at percentile
99.9 they showed INT8 0.3 points from FP32 where scanned pages showed more).
No evaluation set of the MaixCAM bench is among them. Each line is read as
the station reads it (maixcam_pipeline.StationRecognizer) by the FP32 graph and by INT8
graphs quantised with build.SETTINGS and another float layer list; reported:
CER against the lines' text (the v4 dictionary has no ſ: FP32 is far from
0 on Fraktur, only the difference counts) with the 95 % interval of the
pooled INT8 - FP32 gap (lines resampled; gap_95), the share of characters in
which INT8's text differs from FP32's, and the variant's cost on the station
(float_macs: the share of multiply-accumulates kept float, BF16 there, which
runs slower than INT8). The thresholds are computed once per
percentile and cached, so that each variant takes seconds. Since the INT8
graphs follow tpu-mlir's lowering (station_quant.py), a variant with other
float layers needs tpu-mlir's lowering for its list: with --tpu-mlir WORK
(the work/ folder of an ocrd-ppocr-maixcam-export conversion, which holds
the recogniser's top-level .mlir, its weights and calibration table) each
variant is lowered there (model_deploy.py --not_gen_bmodel with the
variant's quantisation table, made as convert.sh makes it: a few seconds)
and its INT8 graph quantised by that lowering.

    python -m research.maixcam.sensitivity SHARED_DATA_DIR --out DIR [--pages]
        [--scan [--from-settings] --tpu-mlir WORK [--checked]]

Without --scan: FP32, INT8 with SETTINGS' list, and INT8 with nothing float
but keep_float. With --scan: also each backbone block alone float (on top
of keep_float and the head; with --from-settings, on top of SETTINGS' list),
then blocks added greedily by their gain. With --checked, a variant whose
cvimodel fails one of tpu-mlir's checks is skipped (results.json says why):
SETTINGS' list must pass them, since convert.sh runs them for the station.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime
from rapidfuzz.distance import Levenshtein

from ocrd_ppocr.engine.maixcam_pipeline import StationRecognizer, station_crop
from ocrd_ppocr.maixcam import station_quant
from ocrd_ppocr.maixcam.build import (
    CALIBRATION,
    OUTPUTS,
    REC_SHAPE,
    SETTINGS,
    SOURCES,
    fix_shape,
    float_layers,
    quantize,
    rec_blobs,
    station_tensors_of_float_layers,
)
from ocrd_ppocr.maixcam.export import find_resource, similarities
from ocrd_ppocr.maixcam.tpu_mlir.cali_table import quantisation_table
from .uncertainty import gap_interval

REC_NAME = 'PP-OCRv4_rec_maixcam'  # the name convert.sh gives the recogniser in tpu-mlir


def tuning_lines(data):
    entries = json.loads((CALIBRATION / 'calibration.json').read_text(encoding='utf-8'))['tune']
    return [(cv2.imread(str(Path(data) / e['source']), cv2.IMREAD_COLOR), e['text']) for e in entries]


# tuning workspaces: (name, folder of PAGE files with GT lines, workspace folder their imageFilename is relative to)
TUNING_PAGES = (
    ('kant', 'kant_aufklaerung_1784/data/OCR-D-GT-PAGE', 'kant_aufklaerung_1784/data'),
    ('bebel', 'bebel_frau_1879/GT-PAGE', 'bebel_frau_1879'),
)


def tuning_page_lines(data):
    """{name: [(line crop, GT text)]} of TUNING_PAGES, cut by their GT polygons as the station cuts."""
    from ocrd_models.ocrd_page import parse
    sets = {}
    for name, pages, workspace in TUNING_PAGES:
        lines = sets.setdefault(name, [])
        for xml in sorted((Path(data) / pages).glob('*.xml')):
            pcgts = parse(str(xml), silence=True)
            page = pcgts.get_Page()
            image = cv2.imread(str(Path(data) / workspace / page.imageFilename), cv2.IMREAD_COLOR)
            for region in page.get_AllRegions(classes=['Text']):
                for line in region.get_TextLine():
                    texts = [equiv.Unicode for equiv in line.get_TextEquiv() if equiv.Unicode]
                    if not texts:
                        continue
                    points = [[float(v) for v in pair.split(',')] for pair in line.get_Coords().points.split()]
                    lines.append((station_crop(image, points).image, texts[0]))
    return sets


class Rejected(Exception):
    """A variant whose cvimodel fails one of tpu-mlir's checks (--checked)."""


class VariantLowering:
    """tpu-mlir's lowering of the recogniser for other float layers than the
    committed lowering's, made in a copy of an export's work/ folder. With
    `checked`, each variant is converted in full (a cvimodel, about 20 s) with
    model_deploy.py's two checks at their default tolerances, as convert.sh
    runs them (tpu-mlir's INT8 against ONNX Runtime, the cvimodel against
    tpu-mlir's own interpreter), and a variant that fails one is Rejected."""

    def __init__(self, export_work, out, tpu_venv, checked=False):
        self.work = Path(out) / 'tpu-mlir'
        self.work.mkdir(parents=True, exist_ok=True)
        names = [f'{REC_NAME}.mlir', f'{REC_NAME}_cali_table', f'{REC_NAME.lower()}_top_f32_all_weight.npz']
        if checked:
            names += [f'{REC_NAME}_in_f32.npz', f'{REC_NAME}_top_outputs.npz']
        for name in names:
            shutil.copy(Path(export_work) / name, self.work / name)
        self.mlir = (self.work / f'{REC_NAME}.mlir').read_text()
        self.bin = Path(tpu_venv).resolve() / 'bin'
        self.checked = checked
        self.checks = None  # the last variant's check lines

    def __call__(self, model, settings):
        tensors = station_tensors_of_float_layers(model, 'rec', settings)
        committed = station_quant.load_lowering('rec')
        self.checks = None
        if tensors == committed['bf16_layers']:
            return committed
        (self.work / 'qtable').write_text(quantisation_table(self.mlir, tensors))  # as convert.sh makes it
        lowered = self.work / f'{REC_NAME}_cv181x_int8_sym_tpu.mlir'
        lowered.unlink(missing_ok=True)
        command = [str(self.bin / 'python'), str(self.bin / 'model_deploy.py'), '--mlir', f'{REC_NAME}.mlir',
                   '--processor', 'cv181x', '--quantize', 'INT8', '--calibration_table', f'{REC_NAME}_cali_table',
                   '--quantize_table', 'qtable', '--model', 'variant.cvimodel']
        command += (['--test_input', f'{REC_NAME}_in_f32.npz', '--test_reference', f'{REC_NAME}_top_outputs.npz']
                    if self.checked else ['--not_gen_bmodel'])
        run = subprocess.run(command, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=dict(os.environ, PATH=f'{self.bin}{os.pathsep}{os.environ["PATH"]}'))
        if self.checked:
            self.checks = [line for line in similarities(run.stdout) if 'int8_sym' in line]
            if run.returncode != 0:
                raise Rejected('; '.join(self.checks) or run.stdout[-500:])
        elif run.returncode != 0:
            raise RuntimeError(f'model_deploy.py failed:\n{run.stdout[-2000:]}')
        return {'bf16_layers': tensors, **station_quant.lowering_from_mlir(lowered.read_text(), model)}


def multiply_accumulates(model):
    """{node name: multiply-accumulates} of the Conv and MatMul/Gemm nodes of
    `model` (fixed input shape) for one input, the shapes read from one run
    of ONNX Runtime with every tensor exposed."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    del exposed.graph.output[:]
    exposed.graph.output.extend(onnx.helper.make_empty_tensor_value_info(out)
                                for node in model.graph.node for out in node.output)
    session = onnxruntime.InferenceSession(exposed.SerializeToString(), providers=['CPUExecutionProvider'])
    feed = {i.name: np.zeros(i.shape, np.float32) for i in session.get_inputs()}
    shapes = {o.name: v.shape for o, v in zip(session.get_outputs(), session.run(None, feed))}
    shapes.update({i.name: tuple(i.dims) for i in model.graph.initializer})
    counts = {}
    for node in model.graph.node:
        if node.op_type == 'Conv':  # every weight once per output pixel
            out = shapes[node.output[0]]
            counts[node.name] = int(np.prod(shapes[node.input[1]])) * out[2] * out[3]
        elif node.op_type in ('MatMul', 'Gemm'):
            rows, inner = shapes[node.input[0]], shapes[node.input[1]]
            counts[node.name] = int(np.prod(rows[:-1])) * rows[-1] * inner[-1]
    return counts


def float_share(counts, model, settings):
    """Percentage of the multiply-accumulates that `settings` keep float (BF16
    on the station, where the TPU is several times slower than in INT8): the
    cost of a float layer list, which no device here can time."""
    kept = set(float_layers(model, 'rec', settings))
    return round(100 * sum(n for name, n in counts.items() if name in kept) / sum(counts.values()), 1)


def read(graph, lines):
    reader = StationRecognizer(str(graph), threads=1)
    return [reader.read_line(image).text for image, _ in lines]


def scores(texts, lines, reference=None):
    chars = sum(len(text) for _, text in lines)
    cer = sum(Levenshtein.distance(t, text) for t, (_, text) in zip(texts, lines)) / chars
    result = {'CER': round(100 * cer, 2)}
    if reference is not None:
        total = sum(len(r) for r in reference) or 1
        result['differs'] = round(100 * sum(Levenshtein.distance(t, r) for t, r in zip(texts, reference)) / total, 2)
    return result


def line_gap_interval(texts, lines, reference):
    """95 % interval of the CER of `texts` minus that of `reference` (FP32's
    reading), lines resampled (uncertainty.gap_interval): how large a
    difference between two variants the tuning lines can tell at all."""
    def units(read):
        return [(Levenshtein.distance(t, text), len(text)) for t, (_, text) in zip(read, lines)]
    return [round(value, 2) for value in gap_interval(units(reference), units(texts))]


def scores_by_set(texts, sets, reference=None):
    """scores() pooled over all `sets` ({name: lines}; `texts` in their order), and per set when there are several."""
    pooled = [line for lines in sets.values() for line in lines]
    result = scores(texts, pooled, reference)
    if reference is not None:
        result['gap_95'] = line_gap_interval(texts, pooled, reference)
    if len(sets) > 1:
        start = 0
        for name, lines in sets.items():
            end = start + len(lines)
            result[name] = scores(texts[start:end], lines, reference[start:end] if reference else None)
            start = end
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data', help='../shared/data')
    parser.add_argument('--out', required=True, help='work directory (graphs, cache, results.json)')
    parser.add_argument('--scan', action='store_true', help='per-block scan and greedy selection')
    parser.add_argument('--blocks', help='comma-separated block numbers to try (default: all)')
    parser.add_argument('--from-settings', action='store_true',
                        help="--scan: add blocks to SETTINGS' list instead of starting from none")
    parser.add_argument('--greedy-top', type=int, default=10,
                        help='the greedy selection tries the blocks with the N best single-block gains (default 10)')
    parser.add_argument('--variants', help='JSON {name: settings overrides} to measure besides the defaults')
    parser.add_argument('--variants-only', action='store_true', help='only FP32 and the --variants')
    parser.add_argument('--pages', action='store_true', help='also the GT lines of the tuning workspaces (kant, bebel)')
    parser.add_argument('--tpu-mlir', help="an export's work/ folder: lower variants with other float layers there")
    parser.add_argument('--checked', action='store_true',
                        help="with --tpu-mlir: convert each variant in full and skip those failing tpu-mlir's checks")
    parser.add_argument('--tpu-venv', default='.venv-tpu', help="tpu-mlir's virtual environment")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / OUTPUTS['rec'][0]
    if not fp32.is_file():
        fix_shape(find_resource('rec', SOURCES['rec']), fp32, *REC_SHAPE)
    sets = {'lines': tuning_lines(args.data)}
    if args.pages:
        sets.update(tuning_page_lines(args.data))
    lines = [line for chosen in sets.values() for line in chosen]
    lowering_for = VariantLowering(args.tpu_mlir, out, args.tpu_venv, args.checked) if args.tpu_mlir else None
    model = onnx.load(str(fp32))
    counts = multiply_accumulates(model)
    results = {}

    def record(name, result):
        results[name] = result
        print(name, result, flush=True)
        (out / 'results.json').write_text(json.dumps(results, indent=1) + '\n')

    reference = read(fp32, lines)
    record('fp32', scores_by_set(reference, sets))

    def measure(name, **overrides):
        started = time.time()
        settings = dict(SETTINGS, **overrides)
        # thresholds per percentile (reused); other float layers than the committed
        # lowering's need tpu-mlir's lowering for them (--tpu-mlir), else quantize() says so
        cache = out / f"thresholds_{settings['percentile']}.json"
        int8 = out / f'{name}.onnx'
        try:
            lowering = lowering_for(model, settings) if lowering_for else None
        except Rejected as failed:
            record(name, {'rejected': str(failed)})
            return None
        quantize(fp32, int8, rec_blobs(settings['rec_pieces']) if not cache.exists() else [], settings, 'rec',
                 thresholds=str(cache), lowering=lowering)
        result = dict(scores_by_set(read(int8, lines), sets, reference), seconds=round(time.time() - started),
                      float_macs=float_share(counts, model, settings))
        if lowering_for and lowering_for.checks:
            result['tpu_mlir_checks'] = lowering_for.checks
        record(name, result)
        return result

    if not args.variants_only:
        measure('int8_settings')
        measure('int8_all', rec_float_blocks=[], rec_float_head=False)
        measure('int8_head', rec_float_blocks=[], rec_float_head=True)
    for name, overrides in json.loads(args.variants or '{}').items():
        measure(name, **overrides)
    if args.scan:
        numbers = sorted({int(n.name.rsplit('.', 1)[1]) for n in model.graph.node if n.name.startswith('p2o.Conv.')})
        numbers = [int(b) for b in args.blocks.split(',')] if args.blocks else numbers
        gains = {}
        start = list(SETTINGS['rec_float_blocks']) if args.from_settings else []
        for block in (b for b in numbers if b not in start):
            scored = measure(f'block_{block}', rec_float_blocks=start + [block], rec_float_head=True)
            if scored:
                gains[block] = scored['differs']
        chosen, best = start, results.get('int8_settings' if start else 'int8_head', {}).get('differs', 100.0)
        for block in sorted(gains, key=gains.get)[:args.greedy_top]:
            scored = measure(f'greedy_{"_".join(map(str, chosen + [block]))}', rec_float_blocks=chosen + [block],
                             rec_float_head=True)
            trial = scored['differs'] if scored else best
            if trial < best - 0.1:
                chosen, best = chosen + [block], trial
            if len(chosen) >= len(start) + 8:
                break
        results['chosen'] = chosen
        (out / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
        print('chosen', chosen, best)
    return 0


if __name__ == '__main__':
    sys.exit(main())
