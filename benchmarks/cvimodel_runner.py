"""Run a cvimodel in tpu-mlir's simulator on a stack of inputs, as
model_runner.py runs a cvimodel (pyruntime_cvi; the input quantised with the
model's own input scale), the model loaded once. Runs in tpu-mlir's own
Python 3.10 environment (.venv-tpu); called by benchmarks.maixcam.

Usage: .venv-tpu/bin/python benchmarks/cvimodel_runner.py MODEL.cvimodel INPUTS.npy OUTPUTS.npy
INPUTS: N x C x H x W float32, normalised as the model's ONNX input;
OUTPUTS: the model's (last) output for each input, stacked, as float32.
"""
import importlib
import sys

import numpy as np
from tpu_mlir.python.utils.lowering import bf16_to_fp32, lowering


def outputs_of(net):
    """The last output as float32, dequantised as model_runner does it."""
    out = net.outputs[-1]
    if out.data.dtype in (np.int8, np.uint8) and out.qscale != 0:
        return (out.data.astype(np.float32) - out.qzero_point) * np.float32(out.qscale)
    if out.dtype == 'bf16':
        return bf16_to_fp32(out.data)
    return np.asarray(out.data, dtype=np.float32)


def main(model, inputs, outputs):
    net = importlib.import_module('pyruntime_cvi').Model(model, output_all_tensors=False)
    results = []
    for blob in np.load(inputs):
        data = net.inputs[0]
        data.data.reshape(-1)[:blob.size] = lowering(blob[np.newaxis], pdtype=data.dtype, pshape=blob.shape,
                                                     pzero_point=data.qzero_point, pscale=data.qscale).flatten()
        net.forward()
        results.append(np.array(outputs_of(net), dtype=np.float32).reshape(net.outputs[-1].data.shape[1], -1))
    np.save(outputs, np.stack(results))


if __name__ == '__main__':
    main(*sys.argv[1:4])
