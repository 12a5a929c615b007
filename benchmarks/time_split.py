"""Where a processor's time goes inside its process: each stage's exclusive
wall time (a stage's time less that of the stages it calls), measured by
wrapping the functions that do the stage's work.

    splitter = StageTimer().install()   # after the processor's modules are imported
    ... run the processor in this process ...
    splitter.seconds  # {stage: seconds}, 'inference <model>' per ONNX model

A function named in STAGES that no longer exists (renamed in the package) is
listed in `splitter.missing`, so the report says which stage it could not
see, rather than silently counting it as 'other'."""
import functools
import importlib
import os
import sys
import time
from collections import defaultdict

import onnxruntime

# (stage, 'module:qualified.name'); module-level functions are replaced in
# every module that imported them by name, methods on their class.
STAGES = (
    ('model loading (sessions)', 'ocrd_ppocr.engine.session:_cached_session'),
    ('PAGE parsing (core: input file to PAGE objects)', 'ocrd_modelfactory:page_from_file'),
    ('image decoding', 'ocrd.workspace:Workspace._resolve_image_as_pil'),
    ('image conversion (PIL to array)', 'ocrd_ppocr.processors.base:pil_to_pixels'),
    ('page and region images (core: crop, rotate)', 'ocrd.workspace:Workspace.image_from_page'),
    ('page and region images (core: crop, rotate)', 'ocrd.workspace:Workspace.image_from_segment'),
    ('detection pre/post-processing', 'ocrd_ppocr.engine.detect:TextDetector.detect'),
    ('line layout (merge, regions, reading order)', 'ocrd_ppocr.engine.layout:layout'),
    ('line contrast filter', 'ocrd_ppocr.engine.layout:drop_faint'),
    ('line polygons fitted to ink', 'ocrd_ppocr.engine.ink:fit_to_ink'),
    ('line polygons to PAGE (clipped, nested)', 'ocrd_ppocr.processors.geometry:to_page_polygon'),
    ('line cropping', 'ocrd_ppocr.engine.crop:crop_polygon'),
    ('recognition pre-processing', 'ocrd_ppocr.engine.recognize:line_blob'),
    ('recognition pre-processing', 'ocrd_ppocr.engine.recognize:TextRecognizer.split'),
    ('orientation pre-processing', 'ocrd_ppocr.engine.textline_orientation:normalise_fixed'),
    ('CTC decoding', 'ocrd_ppocr.engine.recognize:TextRecognizer.decode'),
    ('word and glyph polygons', 'ocrd_ppocr.processors.text_segments:add_words'),
    ('word and glyph polygons', 'ocrd_ppocr.processors.text_segments:fill_words'),
    ('PAGE serialisation', 'ocrd_models.ocrd_page:to_xml'),
    ('METS and file writing', 'ocrd.workspace:Workspace.add_file'),
    ('METS and file writing', 'ocrd.workspace:Workspace.save_mets'),
)


class StageTimer:
    def __init__(self, stages=STAGES):
        self.stages = stages
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.missing = []
        self._stack = []  # [stage, start, seconds spent in wrapped callees]

    def install(self):
        for stage, target in self.stages:
            module_name, qualname = target.split(':')
            try:
                owner, name, original = _resolve(module_name, qualname)
            except (ImportError, AttributeError):
                self.missing.append(target)
                continue
            wrapped = self._wrap(original, lambda *_, stage=stage: stage)
            setattr(owner, name, wrapped)
            if '.' not in qualname:  # `from module import name` elsewhere
                for module in list(sys.modules.values()):
                    # the module's own namespace: getattr would wake lazy module attributes (numpy's deprecations)
                    if getattr(module, '__dict__', {}).get(name) is original:
                        setattr(module, name, wrapped)
        run = onnxruntime.InferenceSession.run
        onnxruntime.InferenceSession.run = self._wrap(run, _inference_stage)
        return self

    def _wrap(self, function, stage_of):
        stack, seconds, calls = self._stack, self.seconds, self.calls

        @functools.wraps(function)
        def timed(*args, **kwargs):
            frame = [stage_of(*args), time.perf_counter(), 0.0]
            stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                stack.pop()
                elapsed = time.perf_counter() - frame[1]
                seconds[frame[0]] += elapsed - frame[2]
                calls[frame[0]] += 1
                if stack:
                    stack[-1][2] += elapsed
        return timed

    def split(self, process_s):
        """{stage: seconds} with 'other' (everything outside the wrapped
        stages: core's scheduling, PAGE parsing, Python glue)."""
        stages = dict(self.seconds)
        stages['other'] = max(0.0, process_s - sum(stages.values()))
        return stages


def _resolve(module_name, qualname):
    owner = importlib.import_module(module_name)
    parts = qualname.split('.')
    for part in parts[:-1]:
        owner = getattr(owner, part)
    return owner, parts[-1], getattr(owner, parts[-1])


def _inference_stage(session, *_):
    return 'inference ' + os.path.basename(getattr(session, '_model_path', None) or 'model')
