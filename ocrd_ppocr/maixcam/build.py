"""Derive the MaixCAM station's models from the real PP-OCR weights.

The station (Sophgo cv181x) runs PP-OCRv3 detection at 224x320 and PP-OCRv4
recognition at 48x320 as INT8. Here both graphs are fixed to those shapes
(FP32, also what the station's converter takes) and quantised as tpu-mlir
quantises them for the station (station_quant.py: the same INT8 tensors, QDQ
in ONNX Runtime), calibrated on the committed set of real line crops and page
windows (calibration/), so that x86 can predict what the station reads. Everything is recorded in a manifest with the source
models' sha256, so a build is reproducible.

Usage: python -m ocrd_ppocr.maixcam.build SOURCE_DIR... --out DIR
"""
import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import cv2
import onnx
import onnx.version_converter
import onnxruntime

from ..digest import sha256_of

HERE = Path(__file__).parent
CALIBRATION = HERE / 'calibration'
LOWERING = HERE / 'lowering'
DET_SHAPE = (224, 320)
REC_SHAPE = (48, 320)
SOURCES = {'det': 'PP-OCRv3_det_mobile.onnx', 'rec': 'PP-OCRv4_rec_mobile.onnx'}
OUTPUTS = {
    'det': ('PP-OCRv3_det_maixcam_fp32.onnx', 'PP-OCRv3_det_maixcam_int8.onnx'),
    'rec': ('PP-OCRv4_rec_maixcam_fp32.onnx', 'PP-OCRv4_rec_maixcam_int8.onnx'),
}
# the per-tensor thresholds of each INT8 graph, beside it (export.py hands
# them to tpu-mlir as its calibration table)
THRESHOLDS = {'det': 'PP-OCRv3_det_maixcam_thresholds.json', 'rec': 'PP-OCRv4_rec_maixcam_thresholds.json'}
# The station's quantisation (tpu-mlir 1.30.2 for cv181x), reproduced by
# station_quant.py: INT8 exactly where tpu-mlir's lowering puts it (every
# convolution output, the look-up-table activations, a few shape ops; read
# from tpu-mlir once, committed as lowering/{det,rec}.json), symmetric
# (zero point 0), convolution weights per output channel and matrix-multiply
# weights per tensor, everything else float (BF16 on the station). One
# threshold per tensor: the percentile of |x| over the committed calibration
# set (calibration/: real images no evaluation uses), 99.9, chosen on the
# tuning lines (CER 28.64 % against 31.19 at 99.99 and 41.70 at 99.999; FP32
# 28.38; python -m research.maixcam.sensitivity); the same thresholds go
# into the cvimodel as tpu-mlir's calibration table (export.py, convert.sh),
# instead of tpu-mlir's own (KL divergence, then tuned on a few inputs).
# (An earlier build let ONNX Runtime's quantiser choose the INT8 tensors, the
# inputs of Conv and MatMul: its reading differed from the cvimodel's by
# 19 % of the characters on fraktur_pages lines; docs/details.md.)
# Mixed precision: the layers below stay float here and BF16 on the station.
# This is the ONE place that says which: float_layers() turns it into node
# names, export.py writes them into {det,rec}_float_layers.txt, which
# convert.sh makes tpu-mlir's quantisation table (nothing else goes into
# it); the committed lowering records the list it was made with, and the
# build refuses a lowering made with another list:
# - every node of the op types in keep_float (the output activations);
# - the recogniser: the blocks starting at these Conv nodes of
#   PP-OCRv4_rec_mobile (paddle2onnx names, `p2o.Conv.N`) and, with
#   rec_float_head, the CTC head (the last Transpose and after); chosen on
#   the tuning lines among lists whose cvimodel passes tpu-mlir's checks
#   (python -m research.maixcam.sensitivity --checked; docs/details.md);
# - the detector: [first node, next node) by name of PP-OCRv3_det_mobile.
SETTINGS = {
    'quantiser': 'station_quant (tpu-mlir 1.30.2 lowering)', 'percentile': 99.9,
    'keep_float': ['Softmax', 'Sigmoid'], 'rec_pieces': 220, 'det_frames': 200, 'stride': 10,
    'rec_float_blocks': [2, 3, 4, 8, 14, 18, 19, 21, 27, 30, 32], 'rec_float_head': True,
    'det_float_ranges': [['Conv_16', 'Conv_20'], ['Conv_32', 'Conv_36'], ['Conv_71', None]],
}


def constants_to_initializers(model):
    """paddle2onnx stores the weights as Constant nodes: ONNX Runtime's
    quantiser would treat them as activations (one calibrated range per
    tensor, not per output channel). Turned into initializers, they are
    quantised per channel, as tpu-mlir quantises the station's weights; the
    graph computes the same."""
    constants = [node for node in model.graph.node
                 if node.op_type == 'Constant' and len(node.attribute) == 1 and node.attribute[0].name == 'value']
    for node in constants:
        tensor = onnx.TensorProto()
        tensor.CopyFrom(node.attribute[0].t)
        tensor.name = node.output[0]
        model.graph.initializer.append(tensor)
        model.graph.node.remove(node)
    return len(constants)


def fix_shape(source, target, height, width):
    """Copy of `source` with its input fixed to 1x3xHxW (metadata kept), its
    weights as initializers, all other shapes inferred again from it."""
    model = onnx.load(str(source))
    constants_to_initializers(model)
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, 3, height, width)):
        dim.Clear()
        dim.dim_value = value
    for output in model.graph.output:
        for number, dim in enumerate(output.type.tensor_type.shape.dim):
            dim.Clear()
            dim.dim_param = f'{output.name}_{number}'
    del model.graph.value_info[:]
    onnx.save(onnx.shape_inference.infer_shapes(model), str(target))


def det_blobs(limit=None):
    """The committed detector frames (already 224x320, as the station's
    letterbox made them), normalised as pp_ocr.mud says."""
    from ..engine.maixcam_pipeline import det_blob
    entries = _manifest()['det']
    for entry in entries[::max(1, len(entries) // limit) if limit else 1][:limit]:
        yield det_blob(cv2.imread(str(CALIBRATION / entry['file']), cv2.IMREAD_COLOR))


def station_pieces(limit):
    """(entry, piece number, 48x320 BGR piece): the committed line images read
    as the station reads a line (maixcam_pipeline.rec_pieces: resized to
    height 48, cut every 320 pixels, padded black), every k-th piece up to
    `limit`. The ONNX Runtime build and export.py (tpu-mlir) take the same."""
    from ..engine.maixcam_pipeline import rec_pieces
    pieces = []
    for entry in _manifest()['rec']:
        line = cv2.imread(str(CALIBRATION / entry['file']), cv2.IMREAD_COLOR)
        pieces += [(entry, number, piece) for number, piece in enumerate(rec_pieces(line)[0])]
    return pieces[::max(1, len(pieces) // limit)][:limit]


def rec_blobs(limit):
    from ..engine.maixcam_pipeline import rec_blob
    for _, _, piece in station_pieces(limit):
        yield rec_blob(piece)


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


def float_layers(model, role, settings=SETTINGS):
    """Names of the nodes of the `role` ('det' or 'rec') graph that stay float
    (ONNX Runtime) and BF16 (tpu-mlir's quantisation table): the keep_float op
    types, the recogniser's blocks and head, the detector's node ranges."""
    names = [node.name for node in model.graph.node if node.op_type in settings['keep_float']]
    if role == 'rec':
        names += float_nodes(model, set(settings.get('rec_float_blocks', ())), settings.get('rec_float_head'))
    else:
        names += float_ranges(model, settings.get('det_float_ranges', ()))
    return list(dict.fromkeys(names))


def quantize(fp32, int8, blobs, settings=SETTINGS, role='rec', thresholds=None, lowering=None):
    """`fp32` quantised as the station quantises it (station_quant.py) into
    `int8`, calibrated on `blobs`; `thresholds`: the JSON file of the
    per-tensor thresholds, written (or, where it exists, reused: the
    sensitivity scans) there, default beside `int8`; `lowering`: tpu-mlir's
    lowering for `settings`' float layers (default: the committed one)."""
    from . import station_quant
    lowering = lowering or station_quant.load_lowering(role)
    model = onnx.load(str(fp32))
    expected = station_tensors_of_float_layers(model, role, settings)
    if lowering['bf16_layers'] != expected:
        raise ValueError(f'lowering/{role}.json was made with other float layers than build.SETTINGS names: '
                         'convert with tpu-mlir and run `python -m ocrd_ppocr.maixcam.station_quant lowering` again')
    if model.opset_import[0].version < 13:
        # per-channel DequantizeLinear (its axis) needs opset 13; the FP32 graph
        # (which tpu-mlir reads) stays as it is
        model = onnx.version_converter.convert_version(model, 13)
    thresholds = Path(thresholds or Path(int8).with_name(THRESHOLDS[role]))
    with tempfile.TemporaryDirectory() as work:
        if thresholds.is_file():
            values = json.loads(thresholds.read_text())
        else:
            converted = Path(work) / 'fp32.onnx'
            onnx.save(model, str(converted))
            reader = _Reader(model.graph.input[0].name, list(blobs))
            logging.getLogger().setLevel(logging.ERROR)  # the calibrator's per-tensor notes are noise here
            # every float tensor: tpu-mlir's table wants a threshold for each op it imports
            values = station_quant.calibrate(converted, reader, None, settings['percentile'], settings['stride'], work)
            thresholds.write_text(json.dumps(values, indent=0, sort_keys=True) + '\n')
    metadata = {prop.key: prop.value for prop in onnx.load(str(fp32), load_external_data=False).metadata_props}
    quantized = station_quant.quantise_as_station(model, lowering, values)
    onnx.helper.set_model_props(quantized, metadata)  # the recogniser's dictionary
    onnx.save(quantized, str(int8))


def station_tensors_of_float_layers(model, role, settings=SETTINGS):
    """The output tensors of the float layers: what {det,rec}_float_layers.txt lists."""
    names = set(float_layers(model, role, settings))
    return [output for node in model.graph.node if node.name in names for output in node.output]


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
                'lowering_sha256': {role: sha256_of(LOWERING / f'{role}.json') for role in SOURCES},
                'sources': {role: {'name': path.name, 'sha256': sha256_of(path)} for role, path in found.items()}}
    if all(_up_to_date(Path(outs[role]), manifest, role) for role in SOURCES):
        log(f"ok        MaixCAM graphs in {outs['det']} and {outs['rec']} (up to date)")
        return manifest
    manifest.update({'onnxruntime': onnxruntime.__version__, 'onnx': onnx.__version__, 'outputs': {}})
    for role, shape, blobs in (('det', DET_SHAPE, lambda: det_blobs(settings['det_frames'])),
                               ('rec', REC_SHAPE, lambda: rec_blobs(settings['rec_pieces']))):
        out = Path(outs[role])
        out.mkdir(parents=True, exist_ok=True)
        fp32, int8 = (out / name for name in OUTPUTS[role])
        fix_shape(found[role], fp32, *shape)
        if not _same_calibration(out, manifest):
            (out / THRESHOLDS[role]).unlink(missing_ok=True)  # else reused: a new lowering needs no new thresholds
        quantize(fp32, int8, blobs(), settings, role)
        manifest['outputs'][role] = {'input': [1, 3, *shape], fp32.name: sha256_of(fp32), int8.name: sha256_of(int8)}
        log(f'built     {fp32} (derived from {found[role].name})\nbuilt     {int8} (INT8, derived)')
    for role in SOURCES:
        (Path(outs[role]) / 'maixcam_manifest.json').write_text(json.dumps(manifest, indent=1) + '\n')
    return manifest


def _same_calibration(out, manifest):
    """Whether the thresholds in `out` were calibrated on the same images,
    sources and calibration settings as `manifest` asks for."""
    recorded = out / 'maixcam_manifest.json'
    if not recorded.is_file():
        return False
    old, keys = json.loads(recorded.read_text()), ('percentile', 'rec_pieces', 'det_frames', 'stride')
    return (old.get('calibration_sha256') == manifest['calibration_sha256'] and old.get('sources') == manifest['sources']
            and all(old.get('settings', {}).get(key) == manifest['settings'].get(key) for key in keys))


def _up_to_date(out, manifest, role):
    recorded = out / 'maixcam_manifest.json'
    if not recorded.is_file() or not all((out / name).is_file() for name in OUTPUTS[role]):
        return False
    old = json.loads(recorded.read_text())
    return all(old.get(key) == manifest[key]
               for key in ('settings', 'calibration_sha256', 'lowering_sha256', 'sources'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('sources', nargs='+', help='directories holding the source models')
    parser.add_argument('--out', required=True, help='directory for all four graphs')
    args = parser.parse_args(argv)
    build(args.sources, {'det': args.out, 'rec': args.out})
    return 0


if __name__ == '__main__':
    sys.exit(main())
