"""Choose the MaixCAM recogniser's float (BF16 on the station) layers on
TUNING material only (a developer tool, run from a checkout with
../shared/data beside it).

The tuning lines are calibration.json's `tune` entries: fraktur_lines/train
lines of the works not used for calibration. Each is read as the station
reads it (maixcam_pipeline.StationRecognizer) by the FP32 graph and by INT8
graphs quantised with build.SETTINGS and another float layer list; reported:
CER against the lines' text (the v4 dictionary has no ſ: FP32 is far from
0 on Fraktur, only the difference counts) and the share of characters in
which INT8's text differs from FP32's. The thresholds are computed once per
percentile and cached, so that each variant takes seconds. Since the INT8
graphs follow tpu-mlir's lowering (station_quant.py), a variant with other
float layers needs that lowering first: convert with tpu-mlir (convert.sh,
its quantisation table from the variant's list) and write lowering/rec.json
with `python -m ocrd_ppocr.maixcam.station_quant lowering`; the block scan
that chose SETTINGS' list ran with the earlier quantiser (INT8 inputs of
Conv and MatMul only).

    python -m ocrd_ppocr.maixcam.sensitivity SHARED_DATA_DIR --out DIR [--scan]

Without --scan: FP32, INT8 with SETTINGS' list, and INT8 with nothing float
but keep_float. With --scan: also each backbone block alone float (on top
of keep_float and the head), then blocks added greedily by their gain.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import onnx
from rapidfuzz.distance import Levenshtein

from ..engine.maixcam_pipeline import StationRecognizer
from .build import (
    CALIBRATION,
    OUTPUTS,
    REC_SHAPE,
    SETTINGS,
    SOURCES,
    fix_shape,
    quantize,
    rec_blobs,
)
from .export import find_resource


def tuning_lines(data):
    entries = json.loads((CALIBRATION / 'calibration.json').read_text(encoding='utf-8'))['tune']
    return [(cv2.imread(str(Path(data) / e['source']), cv2.IMREAD_COLOR), e['text']) for e in entries]


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data', help='../shared/data')
    parser.add_argument('--out', required=True, help='work directory (graphs, cache, results.json)')
    parser.add_argument('--scan', action='store_true', help='per-block scan and greedy selection')
    parser.add_argument('--blocks', help='comma-separated block numbers to try (default: all)')
    parser.add_argument('--variants', help='JSON {name: settings overrides} to measure besides the defaults')
    parser.add_argument('--variants-only', action='store_true', help='only FP32 and the --variants')
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / OUTPUTS['rec'][0]
    if not fp32.is_file():
        fix_shape(find_resource('rec', SOURCES['rec']), fp32, *REC_SHAPE)
    lines = tuning_lines(args.data)
    results = {}
    reference = read(fp32, lines)
    results['fp32'] = scores(reference, lines)
    print('fp32', results['fp32'], flush=True)
    def measure(name, **overrides):
        started = time.time()
        settings = dict(SETTINGS, **overrides)
        # thresholds per percentile (reused); other float layers than SETTINGS'
        # need tpu-mlir's lowering for them first (station_quant.py), else quantize() says so
        cache = out / f"thresholds_{settings['percentile']}.json"
        int8 = out / f'{name}.onnx'
        quantize(fp32, int8, rec_blobs(settings['rec_pieces']) if not cache.exists() else [], settings, 'rec',
                 thresholds=str(cache))
        results[name] = dict(scores(read(int8, lines), lines, reference), seconds=round(time.time() - started))
        print(name, results[name], flush=True)
        (out / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
        return results[name]

    if not args.variants_only:
        measure('int8_settings')
        measure('int8_all', rec_float_blocks=[], rec_float_head=False)
        measure('int8_head', rec_float_blocks=[], rec_float_head=True)
    for name, overrides in json.loads(args.variants or '{}').items():
        measure(name, **overrides)
    if args.scan:
        model = onnx.load(str(fp32))
        numbers = sorted({int(n.name.rsplit('.', 1)[1]) for n in model.graph.node if n.name.startswith('p2o.Conv.')})
        numbers = [int(b) for b in args.blocks.split(',')] if args.blocks else numbers
        gains = {}
        for block in numbers:
            gains[block] = measure(f'block_{block}', rec_float_blocks=[block], rec_float_head=True)['differs']
        chosen, best = [], results['int8_head']['differs']
        for block in sorted(gains, key=gains.get):
            trial = measure(f'greedy_{"_".join(map(str, chosen + [block]))}', rec_float_blocks=chosen + [block],
                            rec_float_head=True)['differs']
            if trial < best - 0.1:
                chosen, best = chosen + [block], trial
            if len(chosen) >= 8:
                break
        results['chosen'] = chosen
        (out / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
        print('chosen', chosen, best)
    return 0


if __name__ == '__main__':
    sys.exit(main())
