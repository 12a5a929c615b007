"""Write tpu-mlir's calibration table from our thresholds (run by convert.sh
in tpu-mlir's own Python, standard library only).

Usage: python cali_table.py MODEL.mlir THRESHOLDS.json > MODEL_cali_table
       python cali_table.py --qtable MODEL.mlir FLOAT_LAYERS.txt > MODEL_qtable

MODEL.mlir is model_transform.py's output; THRESHOLDS.json the per-tensor
thresholds the x86 INT8 graph was quantised with (build.py, station_quant.py),
so that the cvimodel quantises with the same scales. tpu-mlir names each op
it imports `<output tensor>_<its op type>` (the input keeps its name; a fused
pattern takes its last tensor, e.g. PP-OCR's Add/Clip/Mul/Div hard-swish
becomes `<Div output>_HardSwish`). Ops it made up itself (the slices,
squeezes and permutes it splits attention heads with) take their input's
threshold: their values are a part of it, and the x86 graph leaves them on
their input's INT8 grid. (Without an entry tpu-mlir quantises them with a
default that ruined the recogniser: 94 % CER.)
"""
import json
import re
import sys

LOC = re.compile(r'^#(loc\d+) = loc\("([^"]*)"\)', re.M)
OP = re.compile(r'^\s*(%[\w.]+) = "top\.(\w+)"\(([^)]*)\).*loc\(#(loc\d+)\)\s*$', re.M)


def tensor_of(op_name, tensors):
    """The ONNX tensor a tpu-mlir op computes, or None."""
    if op_name in tensors:
        return op_name
    stem = op_name.rsplit('_', 1)[0]
    return stem if stem in tensors else None


def quantisation_table(mlir_text, float_tensors):
    """tpu-mlir's quantisation table: every op named after one of
    `float_tensors` (the float layers' output tensors, {det,rec}_float_layers.txt)
    in BF16, nothing else."""
    names = sorted(set(re.findall(r'loc\("([^"]*)"\)', mlir_text)))
    return ''.join(f'{name} BF16\n' for name in names if any(name.startswith(t + '_') for t in float_tensors))


def cali_table(mlir_text, thresholds):
    locs = dict(LOC.findall(mlir_text))
    lines = ['# calibration table of ocrd_ppocr.maixcam: percentile thresholds of the x86 INT8 graph',
             '# op_name    threshold    min    max']
    of_value = {}
    for value, op, operands, loc in OP.findall(mlir_text):
        if op in ('Weight', 'None'):
            continue
        name = locs.get(loc, '')
        tensor = tensor_of(name, thresholds)
        if tensor is not None:
            of_value[value] = thresholds[tensor]
        else:
            inputs = [of_value[operand] for operand in re.findall(r'%[\w.]+', operands) if operand in of_value]
            if not inputs:
                continue
            of_value[value] = inputs[0]
        lines.append(f'{name} {of_value[value]:.7f} {-of_value[value]:.7f} {of_value[value]:.7f}')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    if sys.argv[1] == '--qtable':
        with open(sys.argv[2], encoding='utf-8') as mlir, open(sys.argv[3], encoding='utf-8') as layers:
            sys.stdout.write(quantisation_table(mlir.read(), layers.read().split()))
    else:
        with open(sys.argv[1], encoding='utf-8') as mlir, open(sys.argv[2], encoding='utf-8') as table:
            sys.stdout.write(cali_table(mlir.read(), json.load(table)))
