"""The systems benchmarked, each run on the same scratch workspace and pages:
our detect + recognise chain, our recogniser on the GT lines, ocrd-tesserocr,
and the onnxocr / rapidocr packages. Each returns a SystemRun: where its
output of every page is, and what each run cost."""
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .measure import measure
from .models import dictionary_file, model_file
from .peers import REPO, TESSDATA

BIN = Path(sys.executable).parent  # our environment (ocrd_ppocr installed)
DEFAULT_CHAIN = 'ocrd_ppocr detect+recognize (defaults)'  # the README's chain, no -P


@dataclass
class SystemRun:
    system: str
    dataset: str
    models: str
    params: str
    outputs: Dict[str, Path]  # page_id -> PAGE-XML or evaluate.py JSON
    runs: List[dict] = field(default_factory=list)  # {total_s, cpu_s, det_s, rec_s, inproc_s, ort_s, max_rss_mb}
    floor: Optional[dict] = None  # ours: {pure_s, pure_cpu_s, ort_s, inproc_s} from benchmarks.onnx_floor

    @property
    def pages(self):
        return len(self.outputs)


class Runner:
    """Runs the systems on one scratch workspace; logs go to `logs`."""

    def __init__(self, workspace, peers, runs, floor_repeats, logs):
        self.ws, self.peers, self.runs, self.floor_repeats = workspace, peers, runs, floor_repeats
        self.logs = Path(logs)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._detections = {}  # detector -> (fileGrp, runs, floor): shared by its pairings

    def processor(self, executable, in_grp, out_grp, params):
        args = ['-m', str(self.ws.mets), '-I', in_grp, '-O', out_grp, *self.ws.page_args, '--overwrite']
        for key, value in params.items():
            args += ['-P', key, str(value)]
        return [str(BIN / executable), *args]

    def timed(self, cmd, name, env=None):
        return [measure(cmd, cwd=self.ws.directory, env=env, log=self.logs / f'{name}.log')
                for _ in range(self.runs)]

    def floor(self, cmd, name):
        """Pure ONNX Runtime time of a processor's models on the inputs it built."""
        out = self.logs / f'{name}.floor.json'
        measure([str(BIN / 'python'), '-m', 'benchmarks.onnx_floor', str(out), str(self.floor_repeats),
                 Path(cmd[0]).name, *cmd[1:]], cwd=self.ws.directory,
                env={'PYTHONPATH': str(REPO)}, log=self.logs / f'{name}.floor.log')
        return json.loads(out.read_text())

    def detection(self, detector):
        if detector not in self._detections:
            grp = f'BENCH-SEG-{detector}'
            cmd = self.processor('ocrd-ppocr-detect', self.ws.dataset.img_grp, grp, {'model': detector})
            self._detections[detector] = (grp, self.timed(cmd, grp), self.floor(cmd, grp))
        return self._detections[detector]

    def spelling(self, orthography=None):
        """(-P params, note for the table) of the recogniser's orthography:
        the dataset's unless given."""
        orthography = orthography or self.ws.dataset.orthography
        if orthography == 'as-read':
            return {}, ''
        return {'orthography': orthography}, f', orthography {orthography}'

    def ours_chain(self, detector, recogniser, orthography=None):
        """ocrd-ppocr-detect + ocrd-ppocr-recognize, defaults except the models
        (and the dataset's orthography, unless `orthography` is given)."""
        seg_grp, det_runs, det_floor = self.detection(detector)
        params, note = self.spelling(orthography)
        grp = f'BENCH-OCR-{detector}-{recogniser}' + (f'-{orthography}' if orthography else '')
        cmd = self.processor('ocrd-ppocr-recognize', seg_grp, grp, {'model': recogniser, **params})
        rec_runs, rec_floor = self.timed(cmd, grp), self.floor(cmd, grp)
        runs = [{'total_s': d.wall_s + r.wall_s, 'cpu_s': d.cpu_s + r.cpu_s, 'det_s': d.wall_s, 'rec_s': r.wall_s,
                 'max_rss_mb': max(d.max_rss_mb, r.max_rss_mb)} for d, r in zip(det_runs, rec_runs)]
        name = 'ocrd_ppocr detect+recognize' + (f' orthography={orthography}' if orthography else '')
        return SystemRun(name, self.ws.dataset.name, f'{detector} + {recogniser}',
                         f'defaults (textline_orientation ch_ppocr_mobile_v2.0_cls, textequiv_level word){note}',
                         self.ws.outputs(grp), runs, _add_floors(det_floor, rec_floor))

    def ours_default_chain(self, detector):
        """ocrd-ppocr-detect + ocrd-ppocr-recognize as the README's chain runs
        them, no -P at all (recognize: model auto, each line by the better of
        the general and the Fraktur recogniser)."""
        seg_grp, det_runs, det_floor = self.detection(detector)
        grp = 'BENCH-OCR-defaults'
        cmd = self.processor('ocrd-ppocr-recognize', seg_grp, grp, {})
        rec_runs, rec_floor = self.timed(cmd, grp), self.floor(cmd, grp)
        runs = [{'total_s': d.wall_s + r.wall_s, 'cpu_s': d.cpu_s + r.cpu_s, 'det_s': d.wall_s, 'rec_s': r.wall_s,
                 'max_rss_mb': max(d.max_rss_mb, r.max_rss_mb)} for d, r in zip(det_runs, rec_runs)]
        return SystemRun(DEFAULT_CHAIN, self.ws.dataset.name, f'{detector} + auto',
                         'no parameters (model auto: PP-OCRv6_rec_small and PP-OCRv6_rec_small_fraktur, hyphen -)',
                         self.ws.outputs(grp), runs, _add_floors(det_floor, rec_floor))

    def ours_one_pass(self, detector, recogniser, extra=None):
        """ocrd-ppocr-recognize -P segmentation true: detect and recognise in one
        process; `extra`: more -P parameters (e.g. precision int8), named in the row."""
        extra = dict(extra or {})
        suffix = ''.join(f'-{k}-{v}' for k, v in extra.items())
        grp = f'BENCH-ONEPASS-{detector}-{recogniser}{suffix}'
        params, note = self.spelling()
        cmd = self.processor('ocrd-ppocr-recognize', self.ws.dataset.img_grp, grp,
                             {'model': recogniser, 'segmentation': 'true', 'detection_model': detector, **params,
                              **extra})
        runs = [{'total_s': m.wall_s, 'cpu_s': m.cpu_s, 'max_rss_mb': m.max_rss_mb} for m in self.timed(cmd, grp)]
        named = ''.join(f' {k}={v}' for k, v in extra.items())
        return SystemRun(f'ocrd_ppocr recognize segmentation=true{named}', self.ws.dataset.name,
                         f'{detector} + {recogniser}',
                         f'one pass (detect + recognise in one process), otherwise defaults{note}',
                         self.ws.outputs(grp), runs, _add_floors(self.floor(cmd, grp)))

    def ours_preset(self, preset, tile_scale, chain_preset=None):
        """The MaixCAM station's pairing: recognition alone on the GT lines with
        `-P preset` (the station's pipeline), and detection in 224x320 windows of
        the page scaled by `tile_scale`, then recognition, with `chain_preset`
        (default: the same). Two SystemRuns."""
        chain_preset = chain_preset or preset
        models = 'PP-OCRv3_det + PP-OCRv4_rec ' + ('INT8' if preset == 'maixcam' else 'FP32')
        seg_grp = f'BENCH-SEG-{chain_preset}'
        det_cmd = self.processor('ocrd-ppocr-detect', self.ws.dataset.img_grp, seg_grp,
                                 {'preset': chain_preset, 'tile_scale': tile_scale})
        det_runs, det_floor = self.timed(det_cmd, seg_grp), self.floor(det_cmd, seg_grp)
        grp = f'BENCH-OCR-{chain_preset}'
        rec_cmd = self.processor('ocrd-ppocr-recognize', seg_grp, grp, {'preset': chain_preset})
        rec_runs, rec_floor = self.timed(rec_cmd, grp), self.floor(rec_cmd, grp)
        chain = SystemRun(f'ocrd_ppocr detect+recognize preset={chain_preset}', self.ws.dataset.name, models,
                          f'-P preset {chain_preset}, detect -P tile_scale {tile_scale}', self.ws.outputs(grp),
                          [{'total_s': d.wall_s + r.wall_s, 'cpu_s': d.cpu_s + r.cpu_s, 'det_s': d.wall_s,
                            'rec_s': r.wall_s, 'max_rss_mb': max(d.max_rss_mb, r.max_rss_mb)}
                           for d, r in zip(det_runs, rec_runs)], _add_floors(det_floor, rec_floor))
        gt_grp = f'BENCH-GTREC-{preset}'
        gt_cmd = self.processor('ocrd-ppocr-recognize', self.ws.dataset.gt_grp, gt_grp,
                                {'preset': preset, 'overwrite_segments': 'true'})
        gt_runs = [{'total_s': m.wall_s, 'cpu_s': m.cpu_s, 'rec_s': m.wall_s, 'max_rss_mb': m.max_rss_mb}
                   for m in self.timed(gt_cmd, gt_grp)]
        gt_lines = SystemRun(f'ocrd_ppocr recognize (GT lines) preset={preset}', self.ws.dataset.name,
                             models.split(' + ')[1], f'-P preset {preset}, overwrite_segments=true',
                             self.ws.outputs(gt_grp), gt_runs, _add_floors(self.floor(gt_cmd, gt_grp)))
        return [chain, gt_lines]

    def ours_gt_lines(self, recogniser):
        """ocrd-ppocr-recognize on the ground-truth line segmentation."""
        grp = f'BENCH-GTREC-{recogniser}'
        params, note = self.spelling()
        cmd = self.processor('ocrd-ppocr-recognize', self.ws.dataset.gt_grp, grp,
                             {'model': recogniser, 'overwrite_segments': 'true', **params})
        runs = [{'total_s': m.wall_s, 'cpu_s': m.cpu_s, 'rec_s': m.wall_s, 'max_rss_mb': m.max_rss_mb}
                for m in self.timed(cmd, grp)]
        return SystemRun('ocrd_ppocr recognize (GT lines)', self.ws.dataset.name, recogniser,
                         f'overwrite_segments=true, otherwise defaults{note}', self.ws.outputs(grp), runs,
                         _add_floors(self.floor(cmd, grp)))

    def tesserocr(self):
        model = self.ws.dataset.tesseract_model
        params = {'segmentation_level': 'region', 'textequiv_level': 'word', 'model': model}
        grp = f'BENCH-TESS-{model}'
        cmd = self.processor('ocrd-tesserocr-recognize', self.ws.dataset.img_grp, grp, params)
        cmd[0] = str(self.peers.ocrd_bin / 'ocrd-tesserocr-recognize')
        runs = [{'total_s': m.wall_s, 'cpu_s': m.cpu_s, 'max_rss_mb': m.max_rss_mb}
                for m in self.timed(cmd, grp, env={'TESSDATA_PREFIX': TESSDATA})]
        return SystemRun('ocrd-tesserocr-recognize', self.ws.dataset.name, f'tesseract {model}',
                         ', '.join(f'{k}={v}' for k, v in params.items()), self.ws.outputs(grp), runs)

    def ppocr_package(self, system, detector, recogniser):
        """The onnxocr or rapidocr package on the page images, our weights, its own defaults."""
        out = self.ws.directory / f'BENCH-{system}-{detector}-{recogniser}'
        config = {'system': system, 'det_model': str(model_file(detector)),
                  'rec_model': str(model_file(recogniser)),
                  'rec_dict': str(dictionary_file(recogniser, self.ws.directory / 'BENCH-DICTS')),
                  'out_dir': str(out), 'pages': [[p.page_id, str(p.image)] for p in self.ws.pages]}
        config_path = out.with_suffix('.json')
        config_path.write_text(json.dumps(config, indent=1))
        cmd = self.peers.script(self.peers.ppocr_python, 'ppocr_pages', config_path)
        runs = []
        for measurement in self.timed(cmd, out.name):
            pages = json.loads((out / 'timings.json').read_text())['pages'].values()
            runs.append({'total_s': measurement.wall_s, 'cpu_s': measurement.cpu_s, 'max_rss_mb': measurement.max_rss_mb,
                         **{key: sum(p[key] for p in pages) for key in ('det_s', 'rec_s', 'ort_s')},
                         'inproc_s': sum(p['total_s'] for p in pages)})
        return SystemRun(system, self.ws.dataset.name, f'{detector} + {recogniser}',
                         'package defaults, our model files',
                         {p.page_id: out / f'{p.page_id}.json' for p in self.ws.pages}, runs)


def _add_floors(*floors):
    """One floor of a system's processes. The pure time of each model is the
    smaller of its session.run time in the run and replayed alone: on a
    shared machine either can be the slower, and the floor must not be."""
    pure = sum(min(m['pure_s'], m['in_run_s']) for f in floors for m in f['models'].values())
    return {'pure_s': pure, 'pure_cpu_s': sum(f['pure_cpu_s'] for f in floors),
            'ort_s': sum(m['in_run_s'] for f in floors for m in f['models'].values()),
            'inproc_s': sum(f['process_s'] for f in floors),
            'models': {k: v for f in floors for k, v in f['models'].items()},
            'stages': _summed(f.get('stages', {}) for f in floors),
            'stages_unseen': sorted({name for f in floors for name in f.get('stages_unseen', [])})}


def _summed(dicts):
    total = {}
    for values in dicts:
        for key, value in values.items():
            total[key] = total.get(key, 0.0) + value
    return total
