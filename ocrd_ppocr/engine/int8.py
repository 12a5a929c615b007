"""INT8 versions of the installed float recognisers, for x86 CPUs (`precision int8`).

Static quantisation by ONNX Runtime (QDQ format): the weights of every Conv
and MatMul INT8 per output channel, their inputs UINT8 with ranges
calibrated on the line images committed for the MaixCAM build
(maixcam/calibration/rec: training lines of fraktur_lines/train, which no
evaluation reads). ONNX Runtime runs such a graph with integer kernels (VNNI
where the CPU has it): PP-OCRv6_rec_small in about half its float CPU time.
Dynamic quantisation, which needs no calibration, left the convolutions,
three quarters of the recogniser's time, as slow as in float; the detector
(PP-OCRv6_det_tiny) quantised the same way was no faster than in float, so
it stays float (benchmarks/levers.py, issue 31).

The INT8 graph is derived from the installed float file on first use (about
15 s for a recogniser) and cached under $XDG_CACHE_HOME/ocrd-ppocr/int8
(default ~/.cache), keyed by the float file's and the calibration set's
contents: never downloaded, rebuilt when either changes."""
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .session import ModelError
from ..digest import sha256_of

PRECISIONS = ('float32', 'int8')
CALIBRATION = Path(__file__).resolve().parent.parent / 'maixcam' / 'calibration'
# Calibration images per role, every k-th of the committed ones (more adds
# build time, not accuracy: min/max ranges); the recipe's version is part of
# the cache key, so a changed recipe rebuilds.
SAMPLES = {'rec': 64}
OP_TYPES = ['Conv', 'MatMul']
# How the graph is quantised: `method` of calibration ('minmax'; ONNX
# Runtime's percentile calibration needs inputs of one shape, lines are not),
# `keep_ends`: the first Conv (it sees the raw pixels) and the last MatMul
# (the recogniser's classifier over all characters) stay float; `ops`: the
# operator types quantised.
RECIPE = {'method': 'minmax', 'keep_ends': False, 'ops': OP_TYPES}


def cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'ocrd-ppocr' / 'int8'


def calibration_images(role):
    """The committed calibration images of `role` ('rec': line images),
    every k-th up to SAMPLES[role], as uint8 BGR."""
    entries = json.loads((CALIBRATION / 'calibration.json').read_text(encoding='utf-8'))[role]
    step = max(1, len(entries) // SAMPLES[role])
    return [cv2.imread(str(CALIBRATION / entry['file']), cv2.IMREAD_COLOR) for entry in entries[::step]][:SAMPLES[role]]


def calibration_blobs(role):
    """Network inputs built from the calibration images as the engine builds
    them for that role (recognize.line_blob)."""
    if role == 'rec':
        from .recognize import MIN_WIDTH, input_width, line_blob
        blobs = []
        for image in calibration_images(role):
            width = input_width(*image.shape[:2])
            blobs.append(line_blob([image], [width], max(MIN_WIDTH, width)))
        return blobs
    raise ValueError(f'no INT8 calibration for role {role!r}')


def int8_path(model_path, role, recipe=None):
    """Where the INT8 graph of the float model at `model_path` is cached."""
    recipe = json.dumps(recipe or RECIPE, sort_keys=True)
    key = hashlib.sha256('\n'.join([sha256_of(model_path), sha256_of(CALIBRATION / 'calibration.json'),
                                    recipe, role, str(SAMPLES[role]), 'qdq-u8s8-perchannel']).encode()).hexdigest()[:16]
    return cache_dir() / f'{Path(model_path).stem}.{key}.int8.onnx'


def int8_model(model_path, role, recipe=None):
    """The INT8 graph of the float model at `model_path` (role 'rec'),
    derived and cached on first use; returns its path. `recipe`:
    RECIPE's keys (benchmarks/int8_tuning.py tries others)."""
    recipe = dict(RECIPE, **(recipe or {}))
    target = int8_path(model_path, role, recipe)
    if target.is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger('ocrd_ppocr.int8').info('deriving the INT8 graph of %s (once, cached as %s)',
                                             model_path, target)
    try:
        _quantise(model_path, target, role, recipe)
    except ModelError:
        raise
    except Exception as err:  # onnx / onnxruntime.quantization raise their own types
        raise ModelError(f'{model_path}: could not derive an INT8 graph: {str(err).splitlines()[0]}') from None
    return str(target)


def _quantise(model_path, target, role, recipe):
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(model_path))
    metadata = {prop.key: prop.value for prop in model.metadata_props}  # a recogniser's dictionary
    if model.opset_import[0].version < 13:  # per-channel DequantizeLinear (its axis) needs opset 13
        model = onnx.version_converter.convert_version(model, 13)
    input_name = model.graph.input[0].name
    reader = _Reader(input_name, calibration_blobs(role))
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        source, quantised = Path(work) / 'float.onnx', Path(work) / 'int8.onnx'
        onnx.save(model, str(source))
        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice on pre-processing is noise here
        try:
            method = {'minmax': CalibrationMethod.MinMax, 'percentile': CalibrationMethod.Percentile}[recipe['method']]
            quantize_static(str(source), str(quantised), reader, quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=recipe['ops'], per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=method,
                            nodes_to_exclude=_ends(model) if recipe['keep_ends'] else [],
                            extra_options={'CalibPercentile': 99.999})
        finally:
            logging.getLogger().setLevel(level)
        result = onnx.load(str(quantised))
        onnx.helper.set_model_props(result, metadata)
        onnx.save(result, str(quantised))
        os.replace(quantised, target)  # atomic: parallel workers never read half a file


def _ends(model):
    """Names of the first Conv and the last MatMul of the graph."""
    convs = [node.name for node in model.graph.node if node.op_type == 'Conv']
    matmuls = [node.name for node in model.graph.node if node.op_type == 'MatMul']
    return convs[:1] + matmuls[-1:]


class _Reader:
    """onnxruntime.quantization's CalibrationDataReader over a list of blobs."""

    def __init__(self, name, blobs):
        self.name, self.blobs = name, list(blobs)
        self.position = 0

    def get_next(self):
        if self.position >= len(self.blobs):
            return None
        self.position += 1
        return {self.name: np.ascontiguousarray(self.blobs[self.position - 1])}

    def rewind(self):
        self.position = 0


def with_precision(model_path, precision, role):
    """The model file to load for `precision` ('float32': `model_path` itself)."""
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == 'float32':
        return model_path
    return int8_model(model_path, role)
