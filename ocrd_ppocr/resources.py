"""Where this package's models are: the one lookup that the processors,
ocrd-ppocr-train, ocrd-ppocr-predict, the MaixCAM export and the benchmarks
share.

A model is given as a path or as a resource name (with or without its
suffix). Names are looked up in the OCR-D resource locations (core's
`list_resource_candidates`: $PWD, $XDG_DATA_HOME/ocrd-resources/EXECUTABLE,
/usr/local/share/ocrd-resources/EXECUTABLE, the package's own folder) of
every executable of this package, the asking one first: all of them share
their models, so a detector installed for ocrd-ppocr-detect is found by
ocrd-ppocr-recognize's `segmentation`, and so on."""
import os
from pathlib import Path

from .engine.session import ModelError

EXECUTABLES = ('ocrd-ppocr-detect', 'ocrd-ppocr-recognize', 'ocrd-ppocr-orient', 'ocrd-ppocr-dewarp')
PACKAGE_DIR = str(Path(__file__).parent)


def candidates(name, first=None, moduled=PACKAGE_DIR):
    """Every place where resource `name` may be, `first`'s locations first."""
    from ocrd_utils import list_resource_candidates  # OCR-D's rule, imported where it is needed

    order = ((first,) if first else ()) + tuple(e for e in EXECUTABLES if e != first)
    for executable in order:
        yield from list_resource_candidates(executable, name, moduled=moduled)


def find_resource(name, first=None, moduled=PACKAGE_DIR):
    """Absolute path of the installed resource `name` (exact file name), or None."""
    for candidate in candidates(name, first, moduled):
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def find_model(value, kind='model', suffix='.onnx', first=None, moduled=PACKAGE_DIR, installed=None):
    """Absolute path of a model given as a path or a resource name; a
    ModelError naming the places searched (and `installed`, a callable
    giving the installed alternatives) where there is none."""
    if os.path.isfile(value):
        return os.path.abspath(value)
    names = [value] if value.endswith(suffix) else [value, value + suffix]
    for name in names:
        found = find_resource(name, first, moduled)
        if found:
            return found
    places = ', '.join(dict.fromkeys(os.path.dirname(c) for name in names for c in candidates(name, first, moduled)))
    available = ', '.join(installed() if installed else []) or 'none'
    asking = first or 'ocrd-ppocr-recognize'
    raise ModelError(f"{kind} model {value!r} not found (searched {places}); installed: {available}; "
                     f"get more with `ocrd resmgr download {asking} NAME` or `make models`")


def recognizer_members(value, find, dictionary_of):
    """[(model, dictionary)] that a recognition `model` value names: the
    models of a comma-separated list, the members of an ensemble
    (NAME.ensemble.json, engine/ensemble.py), or one model. `find(name,
    suffix)` looks a name up (a ModelError where it is not there) and
    `dictionary_of(model)` gives a model's dictionary: the processors' and
    the line-image commands' own rules. Shared by ocrd-ppocr-recognize,
    -predict and -suggest."""
    from .engine.ensemble import SUFFIX as ENSEMBLE, read_ensemble

    if ',' in value:
        models = [find(part.strip(), '.onnx') for part in value.split(',') if part.strip()]
        return [(model, dictionary_of(model)) for model in models]
    if not value.endswith('.onnx'):
        try:
            path = find(value if value.endswith(ENSEMBLE) else value + ENSEMBLE, ENSEMBLE)
        except ModelError:
            path = None
        if path:
            return read_ensemble(path)  # a broken ensemble file is an error, not a fallback
    model = find(value, '.onnx')
    return [(model, dictionary_of(model))]
