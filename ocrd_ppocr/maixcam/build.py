"""Derive the MaixCAM station's models from the real PP-OCR weights.

The station (Sophgo cv181x) runs PP-OCRv3 detection at 224x320 and PP-OCRv4
recognition at 48x320 as INT8. Here both graphs are fixed to those shapes
(FP32, also what the station's converter takes) and statically quantised with
ONNX Runtime (QDQ, per-channel weights), calibrated on the committed set of
real line crops and page windows (calibration/), so that x86 can predict what
the station reads. Everything is recorded in a manifest with the source
models' sha256, so a build is reproducible.

Usage: python -m ocrd_ppocr.maixcam.build SOURCE_DIR... --out DIR
"""
import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime

from ..engine.detect import MEAN, STD

HERE = Path(__file__).parent
CALIBRATION = HERE / 'calibration'
DET_SHAPE = (224, 320)
REC_SHAPE = (48, 320)
SOURCES = {'det': 'PP-OCRv3_det_mobile.onnx', 'rec': 'PP-OCRv4_rec_mobile.onnx'}
OUTPUTS = {
    'det': ('PP-OCRv3_det_maixcam_fp32.onnx', 'PP-OCRv3_det_maixcam_int8.onnx'),
    'rec': ('PP-OCRv4_rec_maixcam_fp32.onnx', 'PP-OCRv4_rec_maixcam_int8.onnx'),
}
# Chosen by measurement (see README, MaixCAM section): percentile calibration
# keeps the rare large activations from stretching the INT8 range, and the
# final softmax/sigmoid stays float, as the cv181x flow keeps it in higher precision.
# Mixed precision for the recogniser, from a per-block sensitivity scan (keep
# one backbone block float at a time, CER on bebel 0146 + 0176, then checked on
# 0168 + 0186; README): the blocks starting at these Conv nodes of
# PP-OCRv4_rec_mobile (paddle2onnx names) and the CTC head stay float, as
# tpu-mlir's quantisation table keeps sensitive layers in BF16 on the station.
SETTINGS = {
    'quant_format': 'QDQ', 'per_channel': True, 'activation_type': 'QUInt8', 'weight_type': 'QInt8',
    'calibrate_method': 'Percentile', 'percentile': 99.999, 'keep_float': ['Softmax', 'Sigmoid'],
    'rec_pieces': 220, 'stride': 20,
    'rec_float_blocks': [2, 3, 4, 14, 18, 19, 30, 32], 'rec_float_head': True,
    # detector: greedy forward selection over 16 node groups (line P/R on the
    # bebel pages in 224x320 windows; kant checked after): two backbone
    # stretches and the DB head stay float, [first node, next node) by name
    'det_float_ranges': [['Conv_16', 'Conv_20'], ['Conv_32', 'Conv_36'], ['Conv_71', None]],
}


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fix_shape(source, target, height, width):
    """Copy of `source` with its input fixed to 1x3xHxW (metadata kept), all
    other shapes inferred again from it."""
    model = onnx.load(str(source))
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, 3, height, width)):
        dim.Clear()
        dim.dim_value = value
    for output in model.graph.output:
        for number, dim in enumerate(output.type.tensor_type.shape.dim):
            dim.Clear()
            dim.dim_param = f'{output.name}_{number}'
    del model.graph.value_info[:]
    onnx.save(onnx.shape_inference.infer_shapes(model), str(target))


def det_blobs():
    for entry in _manifest()['det']:
        image = cv2.imread(str(CALIBRATION / entry['file']))
        blob = (image.astype(np.float32) - MEAN) / STD
        yield blob.transpose(2, 0, 1)[np.newaxis]


def rec_blobs(limit):
    """Line crops cut into 320-wide pieces at blank columns, as the recogniser reads them."""
    from ..engine.recognize import find_cuts
    pieces = []
    for entry in _manifest()['rec']:
        grey = cv2.imread(str(CALIBRATION / entry['file']), cv2.IMREAD_GRAYSCALE)
        line = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
        bounds = [0] + [cut for cut, _ in find_cuts(line, REC_SHAPE[1])] + [line.shape[1]]
        pieces += [line[:, a:b] for a, b in zip(bounds, bounds[1:]) if b - a > 4]
    step = max(1, len(pieces) // limit)
    for piece in pieces[::step][:limit]:
        width = min(REC_SHAPE[1], piece.shape[1])
        blob = np.zeros((1, 3) + REC_SHAPE, dtype=np.float32)
        resized = cv2.resize(piece, (width, REC_SHAPE[0]), interpolation=cv2.INTER_LINEAR)
        blob[0, :, :, :width] = (resized.astype(np.float32).transpose(2, 0, 1) / 255 - 0.5) / 0.5
        yield blob


def _manifest():
    return json.loads((CALIBRATION / 'calibration.json').read_text())


class _Reader:
    """onnxruntime.quantization CalibrationDataReader over a list of blobs,
    read in strides (see quantize) so histograms are built chunk by chunk."""

    def __init__(self, name, blobs):
        self.name, self.blobs = name, list(blobs)
        self.set_range(0, len(self.blobs))

    def __len__(self):
        return len(self.blobs)

    def set_range(self, start_index, end_index):
        self.position, self.end = start_index, end_index

    def get_next(self):
        if self.position >= self.end:
            return None
        self.position += 1
        return {self.name: self.blobs[self.position - 1]}


def float_nodes(model, blocks, head):
    """Names of the nodes kept float: each block runs from Conv node
    `p2o.Conv.N` (N in `blocks`) up to the next Conv; the head is the last
    Transpose and everything after it (the CTC classifier)."""
    nodes = [node for node in model.graph.node if node.name and node.op_type != 'Constant']
    names, block = [], None
    for node in nodes:
        if node.op_type == 'Conv':
            block = int(node.name.rsplit('.', 1)[1]) if node.name.startswith('p2o.Conv.') else None
        if block in blocks:
            names.append(node.name)
    if head:
        last = max((i for i, node in enumerate(nodes) if node.op_type == 'Transpose'), default=len(nodes))
        names += [node.name for node in nodes[last:]]
    return names


def float_ranges(model, ranges):
    """Names of the named, non-Constant nodes from node `start` up to (not
    including) node `stop` (None: the end of the graph), for each range."""
    nodes = [node.name for node in model.graph.node if node.name and node.op_type != 'Constant']
    names = []
    for start, stop in ranges:
        first = nodes.index(start)
        names += nodes[first:nodes.index(stop) if stop else len(nodes)]
    return names


def mixed_precision_nodes(model, role, settings=SETTINGS):
    """Names of the nodes of the `role` ('det' or 'rec') graph that stay float
    besides the `keep_float` op types: the recogniser's blocks and head, the
    detector's node ranges (the station's BF16 layers are the same)."""
    if role == 'rec':
        return float_nodes(model, set(settings.get('rec_float_blocks', ())), settings.get('rec_float_head'))
    return float_ranges(model, settings.get('det_float_ranges', ()))


def quantize(fp32, int8, blobs, settings=SETTINGS, role='rec'):
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    model = onnx.load(str(fp32))
    keep = [node.name for node in model.graph.node if node.op_type in settings['keep_float']]
    keep += mixed_precision_nodes(model, role, settings)
    blobs = list(blobs)
    stride = settings['stride']
    # histogram calibration keeps every activation of a chunk in memory (some
    # 20 GB for 220 line pieces at once): collect in strides of `stride` inputs
    reader = _Reader(model.graph.input[0].name, blobs[:len(blobs) // stride * stride])
    logging.getLogger().setLevel(logging.ERROR)  # its per-tensor warnings are noise here
    quantize_static(
        str(fp32), str(int8), reader, op_types_to_quantize=settings.get('op_types'),
        quant_format=QuantFormat[settings['quant_format']], per_channel=settings['per_channel'],
        activation_type=QuantType[settings['activation_type']], weight_type=QuantType[settings['weight_type']],
        calibrate_method=CalibrationMethod[settings['calibrate_method']], nodes_to_exclude=keep,
        extra_options={'CalibPercentile': settings['percentile'], 'CalibStridedMinMax': stride})
    quantized = onnx.load(str(int8))  # quantize_static drops the metadata (the dictionary)
    onnx.helper.set_model_props(quantized, {p.key: p.value for p in model.metadata_props})
    onnx.save(quantized, str(int8))


def build(sources, outs, settings=SETTINGS, log=print):
    """Build the four graphs from the source models found in the directories
    `sources`: the detector's into outs['det'], the recogniser's into
    outs['rec'] (each with the manifest). Skipped when the manifest there
    already records the same sources, calibration set and settings."""
    found = {role: next((Path(d) / name for d in sources if (Path(d) / name).is_file()), None)
             for role, name in SOURCES.items()}
    for role, path in found.items():
        if path is None:
            raise FileNotFoundError(f'{SOURCES[role]} not found in {", ".join(map(str, sources))}')
    manifest = {'settings': settings, 'calibration_sha256': sha256_of(CALIBRATION / 'calibration.json'),
                'sources': {role: {'name': path.name, 'sha256': sha256_of(path)} for role, path in found.items()}}
    if all(_up_to_date(Path(outs[role]), manifest, role) for role in SOURCES):
        log(f"ok        MaixCAM graphs in {outs['det']} and {outs['rec']} (up to date)")
        return manifest
    manifest.update({'onnxruntime': onnxruntime.__version__, 'onnx': onnx.__version__, 'outputs': {}})
    for role, shape, blobs in (('det', DET_SHAPE, det_blobs),
                               ('rec', REC_SHAPE, lambda: rec_blobs(settings['rec_pieces']))):
        out = Path(outs[role])
        out.mkdir(parents=True, exist_ok=True)
        fp32, int8 = (out / name for name in OUTPUTS[role])
        fix_shape(found[role], fp32, *shape)
        quantize(fp32, int8, blobs(), settings, role)
        manifest['outputs'][role] = {'input': [1, 3, *shape], fp32.name: sha256_of(fp32), int8.name: sha256_of(int8)}
        log(f'built     {fp32} (derived from {found[role].name})\nbuilt     {int8} (INT8, derived)')
    for role in SOURCES:
        (Path(outs[role]) / 'maixcam_manifest.json').write_text(json.dumps(manifest, indent=1) + '\n')
    return manifest


def _up_to_date(out, manifest, role):
    recorded = out / 'maixcam_manifest.json'
    if not recorded.is_file() or not all((out / name).is_file() for name in OUTPUTS[role]):
        return False
    old = json.loads(recorded.read_text())
    return all(old.get(key) == manifest[key] for key in ('settings', 'calibration_sha256', 'sources'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('sources', nargs='+', help='directories holding the source models')
    parser.add_argument('--out', required=True, help='directory for all four graphs')
    args = parser.parse_args(argv)
    build(args.sources, {'det': args.out, 'rec': args.out})
    return 0


if __name__ == '__main__':
    sys.exit(main())
