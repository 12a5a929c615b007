"""The MaixCAM INT8 graphs quantise as tpu-mlir quantises the station's
cvimodels: the INT8 tensors read from tpu-mlir's lowering, the same
thresholds handed to tpu-mlir as its calibration table."""
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ocrd_ppocr.maixcam.build import THRESHOLDS, station_tensors_of_float_layers
from ocrd_ppocr.maixcam.station_quant import load_lowering, lowering_from_mlir, quantised_tensors, tpu_mlir_thresholds
from ocrd_ppocr.maixcam.tpu_mlir.cali_table import cali_table

from conftest import model_path

GRAPHS = {'det': ('PP-OCRv3_det_maixcam_fp32.onnx', 'PP-OCRv3_det_maixcam_int8.onnx', 'ocrd-ppocr-detect'),
          'rec': ('PP-OCRv4_rec_maixcam_fp32.onnx', 'PP-OCRv4_rec_maixcam_int8.onnx', 'ocrd-ppocr-recognize')}

# The first ops of the recogniser as tpu-mlir 1.30.2 lowers it for cv181x
# (PP-OCRv4_rec_maixcam_cv181x_int8_sym_tpu.mlir, attributes left out): the
# input quantised for the first convolution, the second convolution fused
# with its batch-norm scale, the learnable bias added in BF16 and converted
# back to INT8 only for the hard-swish, two look-up tables.
TPU_MLIR = '''
    %1 = "top.Input"(%arg0)  : (tensor<1x3x48x320xf32>) -> tensor<1x3x48x320x!quant.calibrated<f32<-0.99:0.99>>> loc(#loc1)
    %2 = "tpu.GenericCpu"(%1) : (tensor<1x3x48x320xf32>) -> tensor<1x3x48x320x!quant.uniform<i8:f32, 0.0078>> loc(#loc2)
    %5 = "tpu.Conv2D"(%2, %3, %4)  : (tensor<1x3x48x320x!quant.uniform<i8:f32, 0.0078>>, tensor<16x3x3x3xsi8>, tensor<1x16x1x1xi32>) -> tensor<1x16x24x160x!quant.uniform<i8:f32, 0.0196>> loc(#loc5)
    %8 = "tpu.Conv2D"(%5, %6, %7)  : (tensor<1x16x24x160x!quant.uniform<i8:f32, 0.0196>>, tensor<16x1x3x3xsi8>, tensor<1x16x1x1xi32>) -> tensor<1x16x24x160x!quant.uniform<i8:f32, 0.1265>> loc(#loc8)
    %9 = "tpu.Cast"(%8)  : (tensor<1x16x24x160x!quant.uniform<i8:f32, 0.1265>>) -> tensor<1x16x24x160xbf16> loc(#loc9)
    %10 = "top.Weight"() : () -> tensor<1xbf16> loc(#loc10)
    %11 = "tpu.Add"(%9, %10)  : (tensor<1x16x24x160xbf16>, tensor<1xbf16>) -> tensor<1x16x24x160x!quant.calibrated<bf16<-16.5:16.5>>> loc(#loc11)
    %12 = "tpu.Cast"(%11)  : (tensor<1x16x24x160x!quant.calibrated<bf16<-16.5:16.5>>>) -> tensor<1x16x24x160x!quant.uniform<i8:bf16, 0.1306>> loc(#loc12)
    %14 = "tpu.Lut"(%12, %13) : (tensor<1x16x24x160x!quant.uniform<i8:bf16, 0.1306>>, tensor<1x1x1x256xsi8>) -> tensor<1x16x24x160x!quant.uniform<i8:f32, 0.1293>> loc(#loc14)
    %16 = "tpu.Lut"(%14, %15) : (tensor<1x16x24x160x!quant.uniform<i8:f32, 0.1293>>, tensor<1x1x1x256xsi8>) -> tensor<1x16x24x160x!quant.uniform<i8:f32, 0.0216>> loc(#loc16)
    %17 = "tpu.Cast"(%16)  : (tensor<1x16x24x160x!quant.uniform<i8:f32, 0.0216>>) -> tensor<1x16x24x160xbf16> loc(#loc17)
#loc1 = loc("x")
#loc2 = loc("xconv2d_185.tmp_0_Conv_si8")
#loc5 = loc("conv2d_185.tmp_0_Conv")
#loc8 = loc("p2o.Mul.1_Mul")
#loc9 = loc("p2o.Mul.1_Mulp2o.Add.3_Add_bf16")
#loc10 = loc("p2o.Add.3_Add_p2o.Add.3_Add_const_val_bf16")
#loc11 = loc("p2o.Add.3_Add")
#loc12 = loc("p2o.Add.3_Addhardswish_30.tmp_0_HardSwish_si8")
#loc14 = loc("hardswish_30.tmp_0_HardSwish")
#loc16 = loc("p2o.Mul.5_Mul")
#loc17 = loc("p2o.Mul.5_Mulp2o.Add.7_Add_bf16")
'''


def graph(role, which=0):
    return onnx.load(model_path(GRAPHS[role][which], GRAPHS[role][2]))


def producer(model, tensor):
    return next(node for node in model.graph.node if tensor in node.output)


def test_lowering_read_from_tpu_mlir():
    model = graph('rec')
    lowering = lowering_from_mlir(TPU_MLIR, model)
    # INT8 for every reader: the convolutions' outputs and the look-up tables'
    # (the fused Add/Clip/Mul/Div hard-swish); the first convolution is named
    # after its own output, but tpu-mlir folded its batch norm into it: INT8 is
    # the batch norm's output
    first_norm = next(node for node in model.graph.node if 'conv2d_185.tmp_0' in node.input)
    assert first_norm.op_type == 'BatchNormalization'
    assert lowering['tensors'] == sorted([first_norm.output[0], 'hardswish_30.tmp_0', 'p2o.Mul.1', 'p2o.Mul.5'])
    # INT8 only on the way into one op: the input into the first convolution,
    # the BF16 sum into the hard-swish
    first_conv = producer(model, 'conv2d_185.tmp_0').name
    # the hard-swish pattern reads its input at its Add (+3) and its Mul
    readers = sorted(node.name for node in model.graph.node if 'p2o.Add.3' in node.input)
    assert len(readers) == 2
    assert lowering['edges'] == sorted([['p2o.Add.3', name] for name in readers] + [['x', first_conv]])
    # weights INT8 per output channel: both convolutions (the second found
    # behind the learnable scale that tpu-mlir fused into it)
    scale = producer(model, 'p2o.Mul.1')
    second_conv = producer(model, next(name for name in scale.input if name.startswith('depthwise_conv2d')))
    assert second_conv.op_type == 'Conv'
    assert lowering['weights'] == {first_conv: 'channel', second_conv.name: 'channel'}


def test_committed_lowering_fits_the_graphs_and_the_float_layers():
    for role in GRAPHS:
        model, lowering = graph(role), load_lowering(role)
        tensors = {out for node in model.graph.node for out in node.output} | {i.name for i in model.graph.input}
        nodes = {node.name for node in model.graph.node}
        assert set(quantised_tensors(lowering)) <= tensors, role
        assert {node for _, node in lowering['edges']} <= nodes and set(lowering['weights']) <= nodes, role
        # made with the float (BF16) layers build.SETTINGS names: none of them INT8
        assert lowering['bf16_layers'] == station_tensors_of_float_layers(model, role), role
        assert not set(lowering['tensors']) & set(lowering['bf16_layers']), role
        assert len(lowering['tensors']) > 80 and len(lowering['weights']) > 30, role


def test_int8_graphs_quantise_exactly_the_station_tensors_at_the_recorded_thresholds():
    for role in GRAPHS:
        model, lowering = graph(role, 1), load_lowering(role)
        thresholds = json.loads(Path(model_path(THRESHOLDS[role], GRAPHS[role][2])).read_text())
        initializers = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        quantised = {node.input[0]: float(initializers[node.input[1]])
                     for node in model.graph.node if node.op_type == 'QuantizeLinear'}
        assert set(quantised) == set(quantised_tensors(lowering)), role
        for tensor, scale in quantised.items():
            assert scale == np.float32(thresholds[tensor] / 127), (role, tensor)
        # weights: stored INT8, per output channel for every convolution the station runs in INT8
        weights = [node for node in model.graph.node if node.op_type == 'DequantizeLinear'
                   and node.input[0] in initializers and initializers[node.input[0]].dtype == np.int8]
        assert len(weights) == len(lowering['weights']), role
        assert all(initializers[node.input[1]].size > 1 for node in weights
                   if initializers[node.input[0]].ndim == 4), role


# Ops of the recogniser as model_transform.py imports it (rec.mlir, attributes
# left out): the attention's qkv projection (MatMul + bias Add, named after the
# Add), its reshape, and the slice and squeeze tpu-mlir made up to split the heads.
TOP_MLIR = '''
    %0 = "top.None"() : () -> none loc(#loc)
    %1 = "top.Input"(%arg0)  : (tensor<1x3x48x320xf32>) -> tensor<1x3x48x320xf32> loc(#loc1)
    %4 = "top.Conv"(%1, %2, %3)  : (tensor<1x3x48x320xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x24x160xf32> loc(#loc4)
    %9 = "top.HardSwish"(%4) : (tensor<1x16x24x160xf32>) -> tensor<1x16x24x160xf32> loc(#loc9)
    %233 = "top.Weight"() : () -> tensor<120x360xf32> loc(#loc233)
    %235 = "top.MatMul"(%232, %233, %234)  : (tensor<1x40x120xf32>, tensor<120x360xf32>, tensor<1x1x360xf32>) -> tensor<1x40x360xf32> loc(#loc235)
    %236 = "top.Reshape"(%235)  : (tensor<1x40x360xf32>) -> tensor<1x40x3x8x15xf32> loc(#loc236)
    %237 = "top.Slice"(%236, %0, %0, %0)  : (tensor<1x40x3x8x15xf32>, none, none, none) -> tensor<1x40x1x8x15xf32> loc(#loc237)
    %238 = "top.Squeeze"(%237)  : (tensor<1x40x1x8x15xf32>) -> tensor<1x40x8x15xf32> loc(#loc238)
#loc1 = loc("x")
#loc4 = loc("conv2d_185.tmp_0_Conv")
#loc9 = loc("hardswish_30.tmp_0_HardSwish")
#loc233 = loc("linear_77.w_0")
#loc235 = loc("p2o.Add.237_Add")
#loc236 = loc("reshape2_25.tmp_0_Reshape")
#loc237 = loc("p2o.Slice.5_Slice_r_new")
#loc238 = loc("transpose_44.tmp_0_slice_0_Squeeze_r_new")
'''


def test_calibration_table_uses_tpu_mlirs_op_names():
    thresholds = {'x': 0.99, 'conv2d_185.tmp_0': 2.5, 'hardswish_30.tmp_0': 16.4, 'p2o.Add.237': 4.0,
                  'reshape2_25.tmp_0': 4.0, 'p2o.Slice.5': 3.0}
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in cali_table(TOP_MLIR, thresholds).splitlines() if not line.startswith('#')}
    # tpu-mlir's names: `<tensor>_<op type>` (the fused hard-swish as HardSwish, the
    # MatMul with its bias as the Add); its own slice and squeeze take their input's
    # threshold, not the ONNX Slice's (3.0): the x86 graph leaves them on that grid
    assert rows == {'x': [0.99, -0.99, 0.99], 'conv2d_185.tmp_0_Conv': [2.5, -2.5, 2.5],
                    'hardswish_30.tmp_0_HardSwish': [16.4, -16.4, 16.4], 'p2o.Add.237_Add': [4.0, -4.0, 4.0],
                    'reshape2_25.tmp_0_Reshape': [4.0, -4.0, 4.0], 'p2o.Slice.5_Slice_r_new': [4.0, -4.0, 4.0],
                    'transpose_44.tmp_0_slice_0_Squeeze_r_new': [4.0, -4.0, 4.0]}


def test_folded_convolutions_get_their_batch_norms_threshold():
    model = graph('rec')
    thresholds = json.loads(Path(model_path(THRESHOLDS['rec'], 'ocrd-ppocr-recognize')).read_text())
    norm = next(node for node in model.graph.node if 'conv2d_185.tmp_0' in node.input)
    mapped = tpu_mlir_thresholds(model, thresholds)
    assert thresholds['conv2d_185.tmp_0'] != thresholds[norm.output[0]]
    assert mapped['conv2d_185.tmp_0'] == thresholds[norm.output[0]]
    assert mapped['hardswish_30.tmp_0'] == thresholds['hardswish_30.tmp_0']


def test_sensitivity_scores_each_tuning_set_and_their_pool():
    """The percentile and float layers are chosen on the pooled tuning sets; each set is reported too."""
    from research.maixcam.sensitivity import scores_by_set
    sets = {'lines': [(None, 'abcd'), (None, 'efgh')], 'kant': [(None, 'ſchoͤn')]}
    reference = ['abcd', 'efgh', 'ſchoͤn']
    texts = ['abcd', 'efgx', 'schoͤn']
    result = scores_by_set(texts, sets, reference)
    assert result['CER'] == round(100 * 2 / 14, 2)
    assert result['lines'] == {'CER': 12.5, 'differs': 12.5}
    assert result['kant'] == {'CER': round(100 / 6, 2), 'differs': round(100 / 6, 2)}
    assert 'lines' not in scores_by_set(texts[:2], {'lines': sets['lines']})
    # FP32 reads every line right, INT8 errs once on two of three lines: the pooled
    # gap (2 of 14 characters) lies in its interval, which cannot go below 0
    low, high = result['gap_95']
    assert 0 <= low < 100 * 2 / 14 < high


def test_quantisation_table_names_exactly_the_float_layers_ops():
    """convert.sh's BF16 table (and the sensitivity scan's): every op tpu-mlir named after a float tensor."""
    from ocrd_ppocr.maixcam.tpu_mlir.cali_table import quantisation_table
    table = quantisation_table(TOP_MLIR, ['hardswish_30.tmp_0', 'p2o.Add.237'])
    assert table.splitlines() == ['hardswish_30.tmp_0_HardSwish BF16', 'p2o.Add.237_Add BF16']
    assert quantisation_table(TOP_MLIR, ['p2o.Add.23']) == ''  # a name's prefix is not its op


def test_float_share_counts_the_multiply_accumulates_the_float_layers_keep():
    """The scan reports each float layer list's cost: its share of the recogniser's multiply-accumulates."""
    from ocrd_ppocr.maixcam.build import SETTINGS
    from research.maixcam.sensitivity import float_share, multiply_accumulates
    model = graph('rec')
    counts = multiply_accumulates(model)
    # the first convolution: 16 filters of 3x3x3 at stride 2 on the 48x320 input, once per 24x160 output pixel
    assert counts['p2o.Conv.0'] == 16 * 3 * 3 * 3 * 24 * 160
    assert 600e6 < sum(counts.values()) < 800e6
    nothing = dict(SETTINGS, rec_float_blocks=[], rec_float_head=False)
    assert float_share(counts, model, nothing) == 0
    assert float_share(counts, model, dict(nothing, rec_float_blocks=list(range(38)), rec_float_head=True)) == 100
    fewer = float_share(counts, model, dict(SETTINGS, rec_float_blocks=SETTINGS['rec_float_blocks'][:-1]))
    assert 0 < fewer < float_share(counts, model, SETTINGS) < 100
