"""The station's INT8 arithmetic, reproduced in ONNX Runtime.

tpu-mlir (1.30.2, cv181x) does not quantise the tensors ONNX Runtime's
quantiser would choose: it keeps an INT8 copy of every convolution's output,
of every look-up-table activation (hard-swish, the learnable scale that
follows it, sigmoid) and of a few shape ops, while the scalar additions of
PP-LCNetV3's learnable affine blocks, the layer norms and softmax run in BF16
(converted back to INT8 only for the op that needs it). Which tensors are
INT8 on the station is read once from tpu-mlir's lowered INT8 graph
(`*_cv181x_int8_sym_tpu.mlir`) and committed as lowering/{det,rec}.json
(`python -m ocrd_ppocr.maixcam.station_quant lowering ...`); the x86 INT8
graph quantises exactly those (QuantizeLinear + DequantizeLinear, symmetric,
zero point 0), convolution weights per output channel and matrix-multiply
weights per tensor, as tpu-mlir does for cv181x.

The thresholds are ours, one per tensor (percentile of |x| over the committed
calibration set): the same numbers go into the x86 graph and, as tpu-mlir's
calibration table (cali_table), into the cvimodel, so both quantise with the
same scales.
"""
import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .tpu_mlir.cali_table import tensor_of

LOWERING = Path(__file__).parent / 'lowering'


# -- which tensors are INT8 on the station (read from tpu-mlir) -------------------

_OP = re.compile(r'^\s*(%[\w.]+)(?::\d+)? = "(tpu|top)\.(\w+)"\(([^)]*)\).*?->\s*(.*?)\s*loc\(#(loc\d+)\)\s*$', re.M)
_LOC = re.compile(r'^#(loc\d+) = loc\("([^"]*)"\)', re.M)


def _tensors(model):
    return {output for node in model.graph.node for output in node.output} | {i.name for i in model.graph.input}


def fused_tensor(model, tensor):
    """The tensor tpu-mlir's op named after `tensor` really computes: a
    convolution whose only reader is a BatchNormalization is folded into
    one convolution that keeps the convolution's name but outputs the batch
    norm's result (its threshold and its INT8 grid are the batch norm's)."""
    readers = [node for node in model.graph.node if tensor in node.input]
    producer = next((node for node in model.graph.node if tensor in node.output), None)
    if producer is not None and producer.op_type == 'Conv' and len(readers) == 1 \
            and readers[0].op_type == 'BatchNormalization':
        return readers[0].output[0]
    return tensor


def tpu_mlir_thresholds(model, thresholds):
    """`thresholds` as tpu-mlir's ops need them: each convolution folded
    with its batch norm (fused_tensor) gets the batch norm's threshold."""
    mapped = dict(thresholds)
    for node in model.graph.node:
        if node.op_type == 'Conv':
            fused = fused_tensor(model, node.output[0])
            if fused != node.output[0] and fused in thresholds:
                mapped[node.output[0]] = thresholds[fused]
    return mapped


def lowering_from_mlir(text, model):
    """{'tensors': ONNX tensors that are INT8 for all their consumers,
    'edges': [[tensor, consumer node]] INT8 only on the way into that node,
    'weights': {node: 'channel' | 'tensor'}} of tpu-mlir's lowered INT8 graph
    `text` (its tpu.mlir) of the ONNX graph `model`. Ops tpu-mlir added
    itself (reshapes, permutes of split heads) carry their input's INT8 values
    unchanged and need nothing."""
    locs = dict(_LOC.findall(text))
    names = _tensors(model)

    def computed_tensor(op_name):
        tensor = tensor_of(op_name, names)
        return fused_tensor(model, tensor) if tensor else None
    producer_node = {output: node.name for node in model.graph.node for output in node.output}
    by_value, users = {}, {}
    for value, dialect, op, operands, result, loc in _OP.findall(text):
        entry = {'op': op, 'operands': re.findall(r'%[\w.]+', operands), 'name': locs.get(loc, ''),
                 'int8': 'quant.uniform<i8' in result}
        by_value[value] = entry
        for operand in entry['operands']:
            users.setdefault(operand, []).append(entry)
    tensors, edges, weights = set(), set(), {}
    for value, entry in by_value.items():
        if not entry['int8']:
            continue
        if entry['op'] in ('Cast', 'GenericCpu'):
            # a conversion to INT8 for the ops that read it: the tensor it converts
            source = by_value.get(entry['operands'][0]) if entry['operands'] else None
            while source and source['op'] == 'Cast' and source['operands']:
                source = by_value.get(source['operands'][0])
            tensor = computed_tensor(source['name']) if source else None
            for user in users.get(value, []):
                target = tensor_of(user['name'], names)
                if tensor and target in producer_node:
                    edges.update((tensor, reader) for reader in _readers_towards(model, tensor, target))
            continue
        tensor = computed_tensor(entry['name'])
        if tensor is None:
            continue
        tensors.add(tensor)
        if entry['op'] in ('Conv2D', 'MatMul'):
            node = _weighted_node(model, tensor, 'Conv' if entry['op'] == 'Conv2D' else 'MatMul')
            if node is not None:
                weights[node] = 'channel' if entry['op'] == 'Conv2D' else 'tensor'
    edges = {(tensor, node) for tensor, node in edges if tensor not in tensors}
    return {'tensors': sorted(tensors), 'edges': sorted(map(list, edges)), 'weights': dict(sorted(weights.items()))}


def _readers_towards(model, tensor, target, depth=6):
    """The nodes reading `tensor` on a path to `target` (within `depth`
    nodes): where tpu-mlir fused a pattern into one op (PP-OCR's hard-swish:
    Add, Clip, Mul, Div, read at its Add and its Mul) its INT8 input reaches
    every node of the pattern that reads it."""
    producers = {output: node for node in model.graph.node for output in node.output}
    ancestors, frontier = set(), [target]
    for _ in range(depth):
        frontier = [name for out in frontier if out in producers
                    for name in producers[out].input if name and name != tensor]
        nodes = [producers[out].name for out in frontier if out in producers]
        ancestors.update(nodes)
    ancestors.add(producers[target].name)
    return [node.name for node in model.graph.node if tensor in node.input and node.name in ancestors]


def _weighted_node(model, tensor, op_type):
    """The `op_type` node with an initializer weight whose output reaches
    `tensor` through a ReLU or ops with constant operands only (tpu-mlir
    fuses a batch norm (or its scale and shift), a bias or a ReLU into the
    convolution or matrix multiply and names the fused op after the last of
    them), or None."""
    initializers = {init.name for init in model.graph.initializer}
    producers = {output: node for node in model.graph.node for output in node.output}
    node = producers.get(tensor)
    while node is not None and node.op_type != op_type:
        # the data: the first input that is no initializer (a second one may be a reshaped constant)
        variable = [name for name in node.input if name and name not in initializers]
        if node.op_type not in ('Mul', 'Add', 'BatchNormalization', 'Relu') or not variable:
            return None
        node = producers.get(variable[0])
    if node is None or len(node.input) < 2 or node.input[1] not in initializers:
        return None
    return node.name


def load_lowering(role):
    return json.loads((LOWERING / f'{role}.json').read_text())


def quantised_tensors(lowering):
    """Every tensor that needs a threshold: INT8 for all or for some consumers."""
    return sorted(set(lowering['tensors']) | {tensor for tensor, _ in lowering['edges']})


# -- thresholds ----------------------------------------------------------------------

def calibrate(fp32, reader, tensors, percentile, stride, work):
    """{tensor: threshold}: the `percentile` of |x| of each of `tensors` (None:
    every float tensor, as tpu-mlir's table needs one for each op, INT8 or
    not) over the inputs of `reader` (onnxruntime's PercentileCalibrater,
    symmetric, histograms collected `stride` inputs at a time)."""
    from onnxruntime.quantization.calibrate import PercentileCalibrater

    class Selected(PercentileCalibrater):
        def select_tensors_to_calibrate(self, model):
            found, infos = super().select_tensors_to_calibrate(model)
            return (found if tensors is None else found & set(tensors)), infos

    typed = Path(work) / 'typed.onnx'
    onnx.save(_typed(onnx.load(str(fp32))), str(typed))
    calibrator = Selected(str(typed), None, str(Path(work) / 'augmented.onnx'), symmetric=True,
                          num_bins=2048, percentile=percentile)
    calibrator.augment_graph()
    calibrator.create_inference_session()
    # the calibrator prints a line per stride and per step: not for our users' logs
    with contextlib.redirect_stdout(io.StringIO()):
        for start in range(0, len(reader), stride):
            reader.set_range(start, min(start + stride, len(reader)))
            calibrator.collect_data(reader)
        ranges = calibrator.compute_data()
    return {name: float(max(abs(float(np.asarray(ranges[name].range_value[0]).item())),
                            abs(float(np.asarray(ranges[name].range_value[1]).item()))))
            for name in ranges}


def _typed(model):
    """`model` with a float type for every node output that shape inference
    left untyped (the calibrator only sees typed tensors: HardSwish and
    LayerNormalization outputs of the PP-OCR graphs are not)."""
    typed = {info.name for info in model.graph.value_info} | {out.name for out in model.graph.output}
    for node in model.graph.node:
        for output in node.output:
            if output and output not in typed and node.op_type not in ('Shape', 'Constant'):
                model.graph.value_info.append(helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, None))
    return model


# -- the INT8 graph --------------------------------------------------------------------

def _qdq(graph, tensor, scale_name, zero_name, suffix, axis=None):
    """Q + DQ nodes after `tensor`; returns the dequantised tensor's name."""
    quantised, restored = f'{tensor}_{suffix}_q', f'{tensor}_{suffix}_dq'
    extra = {'axis': axis} if axis is not None else {}
    graph.node.append(helper.make_node('QuantizeLinear', [tensor, scale_name, zero_name], [quantised],
                                       name=f'{tensor}_{suffix}_Quantize', **extra))
    graph.node.append(helper.make_node('DequantizeLinear', [quantised, scale_name, zero_name], [restored],
                                       name=f'{tensor}_{suffix}_Dequantize', **extra))
    return restored


def _weight_qdq(graph, weight, per_channel):
    """The initializer `weight` as INT8 (symmetric, per output channel for
    convolutions, per tensor for matrix multiplies) + DequantizeLinear."""
    values = numpy_helper.to_array(weight).astype(np.float32)
    if per_channel:
        peak = np.abs(values.reshape(values.shape[0], -1)).max(axis=1)
    else:
        peak = np.array(np.abs(values).max())
    scale = np.where(peak > 0, peak / 127, 1.0).astype(np.float32)
    shaped = scale.reshape((-1,) + (1,) * (values.ndim - 1)) if per_channel else scale
    quantised = np.clip(np.round(values / shaped), -127, 127).astype(np.int8)
    name = weight.name
    graph.initializer.extend([
        numpy_helper.from_array(quantised, f'{name}_int8'),
        numpy_helper.from_array(scale, f'{name}_scale'),
        numpy_helper.from_array(np.zeros(scale.shape, np.int8), f'{name}_zero')])
    restored = f'{name}_dequantized'
    graph.node.append(helper.make_node('DequantizeLinear', [f'{name}_int8', f'{name}_scale', f'{name}_zero'],
                                       [restored], name=f'{name}_Dequantize', **({'axis': 0} if per_channel else {})))
    return restored


def quantise_as_station(model, lowering, thresholds):
    """The ONNX graph `model` (opset >= 13) with the station's INT8 tensors
    (`lowering`) quantised at `thresholds` and its weights as the station's."""
    graph = model.graph
    original = list(graph.node)
    initializers = {init.name: init for init in graph.initializer}
    for node in original:
        granularity = lowering['weights'].get(node.name)
        if granularity and len(node.input) > 1 and node.input[1] in initializers:
            node.input[1] = _weight_qdq(graph, initializers[node.input[1]], granularity == 'channel')
    zero = 'station_zero_point'
    graph.initializer.append(numpy_helper.from_array(np.array(0, np.int8), zero))

    scales = {}

    def scale_of(tensor):
        if tensor not in scales:
            value = thresholds.get(tensor)
            if value is None:
                raise KeyError(f'no calibrated threshold for INT8 tensor {tensor}')
            scales[tensor] = f'{tensor}_station_scale'
            graph.initializer.append(numpy_helper.from_array(np.array(max(value, 1e-8) / 127, np.float32),
                                                             scales[tensor]))
        return scales[tensor]

    for tensor in lowering['tensors']:
        restored = _qdq(graph, tensor, scale_of(tensor), zero, 'station')
        for node in original:
            for index, name in enumerate(node.input):
                if name == tensor:
                    node.input[index] = restored
    for tensor, consumer in lowering['edges']:
        node = next(node for node in original if node.name == consumer)
        restored = _qdq(graph, tensor, scale_of(tensor), zero, f'for_{consumer}')
        for index, name in enumerate(node.input):
            if name == tensor:
                node.input[index] = restored
    _sort_topologically(graph)
    return model


def _sort_topologically(graph):
    available = {init.name for init in graph.initializer} | {i.name for i in graph.input} | {''}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [node for node in pending if all(name in available for name in node.input)]
        if not ready:
            raise ValueError('graph has a cycle or a missing input after quantisation')
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        pending = [node for node in pending if node not in ready]
    del graph.node[:]
    graph.node.extend(ordered)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write lowering/ROLE.json from tpu-mlir\'s INT8 tpu.mlir.')
    parser.add_argument('command', choices=['lowering'])
    parser.add_argument('role', choices=['det', 'rec'])
    parser.add_argument('tpu_mlir', help="tpu-mlir's *_cv181x_int8_sym_tpu.mlir")
    parser.add_argument('onnx', help='the FP32 graph it was converted from')
    parser.add_argument('float_layers', help='the {det,rec}_float_layers.txt its quantisation table came from')
    parser.add_argument('--note', default='', help='what produced it (tpu-mlir version)')
    args = parser.parse_args(argv)
    lowering = lowering_from_mlir(Path(args.tpu_mlir).read_text(), onnx.load(args.onnx, load_external_data=False))
    lowering = {'note': args.note, 'bf16_layers': Path(args.float_layers).read_text().split(), **lowering}
    LOWERING.mkdir(exist_ok=True)
    (LOWERING / f'{args.role}.json').write_text(json.dumps(lowering, indent=1) + '\n')
    print(f"{args.role}: {len(lowering['tensors'])} INT8 tensors, {len(lowering['edges'])} INT8 edges, "
          f"{len(lowering['weights'])} INT8 weights")
    return 0


if __name__ == '__main__':
    sys.exit(main())
