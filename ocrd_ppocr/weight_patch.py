"""Weight patches: a fine-tuned recogniser shipped as the tensors that
changed against its pinned base model, so no `.onnx` weights are committed.

A patch is a compressed `.npz`: every changed tensor as float16 (training
rounds to float16 before export, so nothing is lost), and a `meta` entry
(JSON): the base model's name and sha256, the dictionary, and the sha256 of
the model the patch must produce. Applying it needs numpy and onnx only.
"""
import hashlib
import json

import numpy as np
import onnx
from onnx import numpy_helper


class PatchError(ValueError):
    pass


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def weight_tensors(model):
    """{name: numpy array} of the graph's constant tensors: initializers and
    the outputs of Constant nodes (PP-OCRv4 stores its weights there)."""
    tensors = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == 'Constant' and node.attribute[0].name == 'value':
            tensors[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return tensors


def _characters(model):
    return next((p.value for p in model.metadata_props if p.key == 'character'), None)


def model_with(base, changed, characters, metadata=None):
    """`base` (ModelProto, changed in place and returned) with the `changed`
    tensors (shapes may differ: a grown head), `characters` as metadata and
    the other `metadata` ({key: text}) given."""
    for init in base.graph.initializer:
        if init.name in changed:
            init.CopyFrom(numpy_helper.from_array(changed[init.name].astype(np.float32), init.name))
    for node in base.graph.node:
        if node.op_type == 'Constant' and node.output[0] in changed:
            tensor = node.attribute[0].t
            tensor.CopyFrom(numpy_helper.from_array(changed[node.output[0]].astype(np.float32), tensor.name))
    props = {p.key: p for p in base.metadata_props}
    for key, value in {'character': characters, **(metadata or {})}.items():
        if key in props:
            props[key].value = value
        else:
            base.metadata_props.add(key=key, value=value)
    for output in base.graph.output:  # the head may have grown
        dims = output.type.tensor_type.shape.dim
        if len(dims) == 3:
            dims[2].ClearField('dim_value')
            dims[2].dim_param = 'classes'
    del base.graph.value_info[:]
    return base


def make_patch(base_path, base_name, trained, patch_path):
    """Write the patch turning the model at `base_path` into `trained`
    (ModelProto whose changed tensors are float16-exact); returns the bytes
    of the model that applying the patch produces."""
    base_bytes = open(base_path, 'rb').read()
    old, new = weight_tensors(onnx.load_from_string(base_bytes)), weight_tensors(trained)
    changed = {name: value for name, value in new.items()
               if name in old and (value.shape != old[name].shape or not np.array_equal(value, old[name]))}
    for name, value in changed.items():
        if not np.array_equal(value.astype(np.float16).astype(np.float32), value):
            raise PatchError(f'tensor {name} is not float16-exact: export with rounding')
    model_bytes = model_with(onnx.load_from_string(base_bytes), changed, _characters(trained)).SerializeToString()
    meta = {'base': base_name, 'base_sha256': _sha256(base_bytes), 'sha256': _sha256(model_bytes),
            'tensors': len(changed)}
    arrays = {f't/{name}': value.astype(np.float16) for name, value in changed.items()}
    arrays['meta'] = np.array(json.dumps(meta))
    arrays['characters'] = np.array(_characters(trained))
    with open(patch_path, 'wb') as out:
        np.savez_compressed(out, **arrays)
    return model_bytes


def patch_info(patch_path):
    with np.load(patch_path) as patch:
        return json.loads(str(patch['meta']))


def apply_patch(base_path, patch_path):
    """The patched model's bytes; PatchError if the base or the result is not
    the one the patch was made for."""
    base_bytes = open(base_path, 'rb').read()
    with np.load(patch_path) as patch:
        meta = json.loads(str(patch['meta']))
        if _sha256(base_bytes) != meta['base_sha256']:
            raise PatchError(f'{patch_path} applies to {meta["base"]} with sha256 {meta["base_sha256"]}, '
                             f'not to {base_path}')
        changed = {key[2:]: patch[key].astype(np.float32) for key in patch.files if key.startswith('t/')}
        characters = str(patch['characters'])
    model_bytes = model_with(onnx.load_from_string(base_bytes), changed, characters).SerializeToString()
    if _sha256(model_bytes) != meta['sha256']:
        raise PatchError(f'{patch_path} applied to {base_path} gives sha256 {_sha256(model_bytes)}, '
                         f'expected {meta["sha256"]}')
    return model_bytes
