"""A PP-OCR recogniser's ONNX graph, split for training.

The frozen front (by default the whole backbone, up to its final pooling)
runs in ONNX Runtime, as in recognition; the trainable rest runs in PyTorch
as a small interpreter of the same ONNX nodes, whose parameters are the
graph's own weight tensors, keyed by their ONNX names. Training changes
those tensors only, and export writes them back into the original graph, so
the trained model keeps every property of the base (dynamic width,
opset, metadata) and nothing is re-traced.

Why not a converter: onnx2torch needs torchvision (a 5 GB CUDA build beside
the CPU torch here) and fails on PP-OCRv6_rec_small's SAME_UPPER padding;
this file covers the ~30 operators the PP-OCR recognisers use and says so
clearly for any other.
"""
import copy

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from ..weight_patch import model_with, weight_tensors

_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


class UnsupportedGraph(ValueError):
    """A model this trainer cannot train (not a PP-OCR CTC recogniser)."""


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def neck_start(model):
    """Index of the first node after the backbone: the recognisers of
    PP-OCRv4/v5/v6 end their backbone with their one AveragePool (to height 1)."""
    pools = [i for i, node in enumerate(model.graph.node) if node.op_type == 'AveragePool']
    if len(pools) != 1:
        raise UnsupportedGraph(f'expected one AveragePool ending the backbone, found {len(pools)}: '
                               'not a PP-OCR recogniser')
    return pools[0] + 1


def last_stage_start(model):
    """Index of the node that opens the backbone's last stage: its last
    strided Conv before the final pooling (the downsampling to height 3 in
    PP-OCRv4/v5/v6). Training from here adapts the deepest visual features
    too, at a fraction of the cost of the whole backbone."""
    end = neck_start(model) - 1
    strided = [i for i, node in enumerate(model.graph.node[:end])
               if node.op_type == 'Conv' and any(s > 1 for s in _attrs(node).get('strides', []))]
    if not strided:
        raise UnsupportedGraph('no strided convolution in the backbone: not a PP-OCR recogniser')
    return strided[-1]


TRAINABLE = ('neck', 'stage', 'all')  # what --trainable may name, least to most


def trainable_start(model, trainable_from):
    """Index of the first trainable node for a --trainable choice."""
    if trainable_from == 'neck':
        return neck_start(model)
    if trainable_from == 'stage':
        return last_stage_start(model)
    if trainable_from == 'all':
        return 0
    raise ValueError(f'trainable must be one of {", ".join(TRAINABLE)}, not {trainable_from!r}')


def _is_parameter(name, tensor, frozen_names):
    return tensor.dtype == np.float32 and tensor.size > 1 and name not in frozen_names


class OnnxTail(torch.nn.Module):
    """The nodes of `model` from index `start` on, as a PyTorch module.

    forward(**tensors) takes the tensors the front hands over (by ONNX name)
    and returns the logits before the final Softmax, shape (N, T, C).
    Float weight tensors are trainable parameters (BatchNorm statistics and
    scalars stay fixed)."""

    def __init__(self, model, start):
        super().__init__()
        self.opset = max(op.version for op in model.opset_import if op.domain in ('', 'ai.onnx'))
        nodes = [n for n in model.graph.node[start:] if n.op_type != 'Constant']
        if not nodes or nodes[-1].op_type != 'Softmax':
            raise UnsupportedGraph('the graph does not end in a Softmax over classes: not a CTC recogniser')
        self.nodes = nodes[:-1]
        self.logits_name = nodes[-1].input[0]
        tensors = weight_tensors(model)
        # BatchNorm running statistics are statistics, not weights
        frozen = {name for n in self.nodes if n.op_type == 'BatchNormalization' for name in n.input[3:5]}
        used = {name for n in self.nodes for name in n.input}
        self.names = {}  # ONNX name -> attribute key (ParameterDict keys cannot hold dots)
        self.weights = torch.nn.ParameterDict()
        self.constants = {}
        for name in sorted(used & set(tensors)):
            tensor = tensors[name]
            if _is_parameter(name, tensor, frozen):
                key = f'w{len(self.names)}'
                self.names[name] = key
                self.weights[key] = torch.nn.Parameter(torch.from_numpy(tensor.copy()))
            else:
                self.constants[name] = torch.from_numpy(np.array(tensor))
        produced = {out for n in self.nodes for out in n.output}
        self.inputs = sorted(used - produced - set(tensors) - {''})
        # (weight, bias) ONNX names of the CTC head and, when set, the classes
        # (LongTensor, blank first) whose logits forward() computes: see Trainer
        self.head, self.class_subset = None, None
        unknown = sorted({n.op_type for n in self.nodes} - set(_OPS))
        if unknown:
            raise UnsupportedGraph(f"operators {', '.join(unknown)} are not supported for training")

    def parameter(self, name):
        return self.weights[self.names[name]]

    def named_onnx_parameters(self):
        return {name: self.weights[key] for name, key in self.names.items()}

    def replace_parameter(self, name, tensor):
        self.weights[self.names[name]] = torch.nn.Parameter(tensor)

    def forward(self, **inputs):
        values = dict(self.constants)
        values.update({name: self.weights[key] for name, key in self.names.items()})
        values.update(inputs)
        if self.class_subset is not None:
            # the CTC head computes the logits of these classes only (training with a sampled softmax)
            weight, bias = self.head
            values[weight] = values[weight].index_select(1, self.class_subset)
            values[bias] = values[bias].index_select(0, self.class_subset)
        for node in self.nodes:
            args = [values[name] if name else None for name in node.input]
            outputs = _OPS[node.op_type](self, args, _attrs(node))
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            for name, value in zip(node.output, outputs):
                values[name] = value
        return values[self.logits_name]


class SplitRecognizer:
    """A recogniser split into an ONNX Runtime front and a trainable PyTorch tail."""

    def __init__(self, model_path, trainable_from='neck', threads=0):
        import onnxruntime as ort

        self.model = onnx.load(model_path)
        start = trainable_start(self.model, trainable_from)
        self.tail = OnnxTail(self.model, start)
        self.input_name = self.model.graph.input[0].name
        self.front = None
        if start:
            # the Extractor needs the cut tensors' shapes (PP-OCRv4 declares none)
            typed = onnx.shape_inference.infer_shapes(self.model)
            front = onnx.utils.Extractor(typed).extract_model([self.input_name], self.tail.inputs)
            options = ort.SessionOptions()
            options.log_severity_level = 3
            if threads:
                options.intra_op_num_threads = threads
            self.front = ort.InferenceSession(front.SerializeToString(), options,
                                              providers=['CPUExecutionProvider'])

    def features(self, blob):
        """The front's outputs for an (N, 3, 48, W) float32 blob, as tensors."""
        if self.front is None:
            return {self.input_name: torch.from_numpy(blob)}
        outputs = self.front.run(self.tail.inputs, {self.input_name: blob})
        return {name: torch.from_numpy(value) for name, value in zip(self.tail.inputs, outputs)}

    def logits(self, features):
        return self.tail(**features)

    def classifier(self):
        """(weight name, bias name) of the CTC head: the last MatMul's (D, C)
        weight and the bias added after it."""
        nodes = self.tail.nodes
        for i in range(len(nodes) - 1, -1, -1):
            if nodes[i].op_type == 'MatMul' and nodes[i].input[1] in self.tail.names:
                following = [n for n in nodes[i + 1:] if n.op_type == 'Add' and nodes[i].output[0] in n.input]
                bias = [name for n in following for name in n.input if name in self.tail.names]
                if bias:
                    return nodes[i].input[1], bias[0]
        raise UnsupportedGraph('no linear CTC head (MatMul + Add) found at the end of the graph')

    def export(self, characters, rounding=None, metadata=None):
        """The base ONNX model with the trained tensors written back (cast
        through `rounding`, e.g. np.float16, if given), `characters` as its
        `character` metadata and the other `metadata` given; class count
        follows the head."""
        trained = {name: p.detach().cpu().numpy() for name, p in self.tail.named_onnx_parameters().items()}
        if rounding is not None:
            trained = {name: value.astype(rounding).astype(np.float32) for name, value in trained.items()}
        return model_with(copy.deepcopy(self.model), trained, '\n'.join(characters), metadata)


# -- operators ---------------------------------------------------------------

def _ints(tensor):
    return [int(v) for v in (tensor.tolist() if torch.is_tensor(tensor) else tensor)]


def _pads2d(pads):
    """ONNX [top, left, bottom, right] as F.pad's (left, right, top, bottom)."""
    top, left, bottom, right = pads
    return (left, right, top, bottom)


def _same_pads(size, kernel, stride, dilation, upper=True):
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max((int(np.ceil(n / s)) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if upper else (big, small))
    return [pads[0][0], pads[1][0], pads[0][1], pads[1][1]] if len(pads) == 2 else [pads[0][0], pads[0][1]]


def _conv(module, args, attrs):
    x, weight, bias = args[0], args[1], args[2] if len(args) > 2 else None
    spatial = weight.dim() - 2
    stride = attrs.get('strides', [1] * spatial)
    dilation = attrs.get('dilations', [1] * spatial)
    group = attrs.get('group', 1)
    pads = attrs.get('pads', [0] * 2 * spatial)
    auto = attrs.get('auto_pad', b'NOTSET')
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ('SAME_UPPER', 'SAME_LOWER'):
        pads = _same_pads(x.shape[2:], weight.shape[2:], stride, dilation, auto == 'SAME_UPPER')
    conv = F.conv2d if spatial == 2 else F.conv1d
    if spatial == 2:
        if pads[0] == pads[2] and pads[1] == pads[3]:
            return conv(x, weight, bias, stride, (pads[0], pads[1]), dilation, group)
        return conv(F.pad(x, _pads2d(pads)), weight, bias, stride, 0, dilation, group)
    if pads[0] == pads[1]:
        return conv(x, weight, bias, stride, pads[0], dilation, group)
    return conv(F.pad(x, (pads[0], pads[1])), weight, bias, stride, 0, dilation, group)


def _pool(kind):
    def run(module, args, attrs):
        x = args[0]
        kernel, stride = attrs['kernel_shape'], attrs.get('strides', attrs['kernel_shape'])
        pads = attrs.get('pads', [0, 0, 0, 0])
        ceil = bool(attrs.get('ceil_mode', 0))
        auto = attrs.get('auto_pad', b'NOTSET')
        if (auto.decode() if isinstance(auto, bytes) else auto) in ('SAME_UPPER', 'SAME_LOWER'):
            pads = _same_pads(x.shape[2:], kernel, stride, [1, 1])
        if pads[0] != pads[2] or pads[1] != pads[3]:
            fill = float('-inf') if kind == 'max' else 0.0
            x = F.pad(x, _pads2d(pads), value=fill)
            pads = [0, 0, 0, 0]
        if kind == 'max':
            return F.max_pool2d(x, kernel, stride, (pads[0], pads[1]), ceil_mode=ceil)
        return F.avg_pool2d(x, kernel, stride, (pads[0], pads[1]), ceil_mode=ceil,
                            count_include_pad=bool(attrs.get('count_include_pad', 0)))
    return run


def _axes(module, args, attrs, position=1):
    if 'axes' in attrs:
        return list(attrs['axes'])
    if len(args) > position and args[position] is not None:
        return _ints(args[position])
    return None


def _squeeze(module, args, attrs):
    axes = _axes(module, args, attrs)
    x = args[0]
    if axes is None:
        return x.squeeze()
    for axis in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.squeeze(axis)
    return x


def _unsqueeze(module, args, attrs):
    x = args[0]
    axes = _axes(module, args, attrs)
    rank = x.dim() + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return x


def _reduce_mean(module, args, attrs):
    axes = _axes(module, args, attrs)
    keep = bool(attrs.get('keepdims', 1))
    if axes is None:
        return args[0].mean()
    return args[0].mean(dim=axes, keepdim=keep)


def _reshape(module, args, attrs):
    x, shape = args[0], _ints(args[1])
    shape = [x.shape[i] if s == 0 and not attrs.get('allowzero', 0) else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _slice(module, args, attrs):
    x = args[0]
    if 'starts' in attrs:  # opset < 10
        starts, ends, axes, steps = attrs['starts'], attrs['ends'], attrs.get('axes'), None
    else:
        starts, ends = _ints(args[1]), _ints(args[2])
        axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else None
        steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step != 1:
            raise UnsupportedGraph('Slice with steps is not supported for training')
        size = x.shape[axis]
        start = max(0, min(size, start + size if start < 0 else start))
        end = max(0, min(size, end + size if end < 0 else end))
        index[axis % x.dim()] = slice(start, end)
    return x[tuple(index)]


def _softmax(module, args, attrs):
    x = args[0]
    axis = attrs.get('axis', -1 if module.opset >= 13 else 1) % x.dim()
    if module.opset >= 13 or axis == x.dim() - 1:
        return torch.softmax(x, dim=axis)
    shape = x.shape  # opset < 13: softmax over the dims from `axis` on, flattened
    return torch.softmax(x.reshape(*shape[:axis], -1), dim=-1).reshape(shape)


def _clip(module, args, attrs):
    low = attrs.get('min', args[1] if len(args) > 1 else None)
    high = attrs.get('max', args[2] if len(args) > 2 else None)
    low = None if low is None else float(low)
    high = None if high is None else float(high)
    return torch.clamp(args[0], low, high)


def _hard_sigmoid(x, attrs):
    return torch.clamp(attrs.get('alpha', 0.2) * x + attrs.get('beta', 0.5), 0, 1)


def _batch_norm(module, args, attrs):
    x, scale, bias, mean, var = args[:5]
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=attrs.get('epsilon', 1e-5))


def _cast(module, args, attrs):
    return args[0].to(_DTYPES[attrs['to']])


_OPS = {
    'Identity': lambda m, a, k: a[0],
    'Add': lambda m, a, k: a[0] + a[1],
    'Sub': lambda m, a, k: a[0] - a[1],
    'Mul': lambda m, a, k: a[0] * a[1],
    'Div': lambda m, a, k: a[0] / a[1],
    'Pow': lambda m, a, k: torch.pow(a[0], a[1]),
    'Sqrt': lambda m, a, k: torch.sqrt(a[0]),
    'Erf': lambda m, a, k: torch.erf(a[0]),
    'Relu': lambda m, a, k: torch.relu(a[0]),
    'Sigmoid': lambda m, a, k: torch.sigmoid(a[0]),
    'HardSigmoid': lambda m, a, k: _hard_sigmoid(a[0], k),
    'HardSwish': lambda m, a, k: a[0] * _hard_sigmoid(a[0], {'alpha': 1 / 6, 'beta': 0.5}),
    'Clip': _clip,
    'MatMul': lambda m, a, k: torch.matmul(a[0], a[1]),
    'Conv': _conv,
    'BatchNormalization': _batch_norm,
    'AveragePool': _pool('avg'),
    'MaxPool': _pool('max'),
    'GlobalAveragePool': lambda m, a, k: a[0].mean(dim=tuple(range(2, a[0].dim())), keepdim=True),
    'ReduceMean': _reduce_mean,
    'Softmax': _softmax,
    'Transpose': lambda m, a, k: a[0].permute(*k['perm']) if 'perm' in k else a[0].permute(
        *reversed(range(a[0].dim()))),
    'Reshape': _reshape,
    'Squeeze': _squeeze,
    'Unsqueeze': _unsqueeze,
    'Shape': lambda m, a, k: torch.tensor(a[0].shape, dtype=torch.int64),
    'Slice': _slice,
    'Concat': lambda m, a, k: torch.cat([t.reshape(1) if t.dim() == 0 else t for t in a], dim=k['axis']),
    'Cast': _cast,
}
