"""The one place that builds ONNX Runtime sessions.

Sessions are cached per process (keyed by model file, threads and device), so
every page of a run, and every processor instance in one worker, reuses them.
"""
import os
from functools import lru_cache

import onnxruntime as ort

PROVIDERS = {
    'cpu': ['CPUExecutionProvider'],
    'cuda': ['CUDAExecutionProvider', 'CPUExecutionProvider'],
}


class ModelError(ValueError):
    """A model file that is missing, unreadable or of the wrong kind."""


def choose_providers(device='cpu', available=None):
    """Execution providers for `device` ('cpu' or 'cuda'), given what this
    onnxruntime build offers (`available`, injectable for tests).

    Asking for CUDA where it is absent is an error, not a silent fallback:
    a user who asked for the GPU should learn that it is not used."""
    if available is None:
        available = ort.get_available_providers()
    if device not in PROVIDERS:
        raise ModelError(f"unknown device {device!r}: choose one of {', '.join(PROVIDERS)}")
    wanted = PROVIDERS[device]
    if wanted[0] not in available:
        raise ModelError(f"device {device!r} needs onnxruntime's {wanted[0]}, but this installation "
                         f"only offers {', '.join(available)} (install onnxruntime-gpu for CUDA)")
    return [name for name in wanted if name in available]


@lru_cache(maxsize=None)
def _cached_session(path, mtime, threads, device):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle pool threads sleep instead of spinning: spinning burns CPU that
    # batch digitisation pays for (50 bebel GT lines, PP-OCRv6_rec_small,
    # 2 threads on a loaded 2-core machine: 6.4 CPU s spinning, 3.8 without,
    # wall time no worse; same outputs, the arithmetic is unchanged).
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    options.add_session_config_entry('session.inter_op.allow_spinning', '0')
    try:
        return ort.InferenceSession(path, sess_options=options, providers=choose_providers(device))
    except ModelError:
        raise
    except Exception as err:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise ModelError(f'{path} is not a loadable ONNX model: {str(err).splitlines()[0]}') from None


def load_session(path, threads=0, device='cpu'):
    """A (cached) InferenceSession for the model file at `path`."""
    path = os.path.realpath(path)
    if not os.path.isfile(path):
        raise ModelError(f'model file {path} does not exist')
    return _cached_session(path, os.path.getmtime(path), int(threads), device)


def model_metadata(session):
    """The custom metadata map of a model (PP-OCR stores e.g. `character` there)."""
    return dict(session.get_modelmeta().custom_metadata_map)
