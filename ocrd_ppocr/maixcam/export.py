"""Export the MaixCAM station's models: everything to convert them with
tpu-mlir and load them with MaixPy's `nn.PP_OCR`.

OUTDIR gets the fixed-shape FP32 ONNX graphs (PP-OCRv3 det 1x3x224x320,
PP-OCRv4 rec 1x3x48x320), the calibration images as the station's NPU sees
them (det: the committed 320x224 page windows; rec: the committed line crops
cut into pieces at most 320 wide at height 48, padded to 320x48), the labels
file, `pp_ocr.mud`, tpu-mlir's `convert.sh` and a manifest (files, sha256).
Where tpu-mlir is installed (`make tpu-mlir`, or --tpu-mlir VENV), convert.sh
is run too: it writes the INT8 and BF16 `.cvimodel` files for cv181x and
checks them in tpu-mlir's simulation against the ONNX outputs; the
similarities it prints are reported.

Usage: ocrd-ppocr-maixcam-export OUTDIR [--no-convert] [--tpu-mlir VENV]
"""
import argparse
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import onnx

from .. import resources
from .build import (
    CALIBRATION,
    DET_SHAPE,
    OUTPUTS,
    REC_SHAPE,
    SETTINGS,
    SOURCES,
    THRESHOLDS,
    fix_shape,
    float_layers,
    sha256_of,
    station_pieces,
)

HERE = Path(__file__).parent
CONVERT = HERE / 'tpu_mlir' / 'convert.sh'
CALI_TABLE = HERE / 'tpu_mlir' / 'cali_table.py'
EXECUTABLES = {'det': 'ocrd-ppocr-detect', 'rec': 'ocrd-ppocr-recognize'}
LABELS = 'ppocr_keys_v1.txt'
FLOAT_LAYERS = '{}_float_layers.txt'  # per role (det, rec), read by convert.sh
# names convert.sh gives the INT8 cvimodels (the ones the .mud names)
CVIMODELS = {'det': 'PP-OCRv3_det_maixcam_int8.cvimodel', 'rec': 'PP-OCRv4_rec_maixcam_int8.cvimodel'}
# the station's normalisation: det mean/scale 1/(255*std) (ImageNet, BGR order
# as PaddleOCR applies it to cv2 images), rec (x - 127.5) / 127.5
DET_MEAN = (123.675, 116.28, 103.53)
DET_SCALE = tuple(1 / (255 * std) for std in (0.229, 0.224, 0.225))
REC_MEAN = (127.5,) * 3
REC_SCALE = (1 / 127.5,) * 3


def _values(numbers):
    return ', '.join(repr(float(n)) for n in numbers)


def mud_text():
    """pp_ocr.mud as MaixPy's nn.PP_OCR reads it (DESIGN.md, section 6)."""
    mud = configparser.ConfigParser()
    mud['basic'] = {'type': 'cvimodel', 'model': CVIMODELS['det']}
    mud['extra'] = {'model_type': 'pp_ocr', 'input_type': 'bgr', 'det': 'true',
                    'mean': _values(DET_MEAN), 'scale': _values(DET_SCALE),
                    'rec_model': CVIMODELS['rec'], 'rec_mean': _values(REC_MEAN),
                    'rec_scale': _values(REC_SCALE), 'labels': LABELS}
    lines = []
    for section in mud.sections():
        lines += [f'[{section}]'] + [f'{key} = {value}' for key, value in mud[section].items()] + ['']
    return '\n'.join(lines)


def find_resource(role, name):
    """The installed file `name` of `role` (the package's one lookup), or None."""
    found = resources.find_resource(name, first=EXECUTABLES[role])
    return Path(found) if found else None


def write_graph(role, out):
    """The fixed-shape FP32 graph of `role` in `out`: copied from the
    installed one (`make models`), else fixed here from the source model."""
    target = out / OUTPUTS[role][0]
    installed = find_resource(role, OUTPUTS[role][0])
    if installed:
        shutil.copyfile(installed, target)
        return target, installed
    source = find_resource(role, SOURCES[role])
    if source is None:
        raise FileNotFoundError(f'neither {OUTPUTS[role][0]} nor {SOURCES[role]} is installed: run `make models`')
    fix_shape(source, target, *(DET_SHAPE if role == 'det' else REC_SHAPE))
    return target, source


def write_thresholds(role, graph, target):
    """The per-tensor thresholds the installed INT8 graph of `role` was
    quantised with (build.py), for convert.sh's calibration table: each
    convolution that tpu-mlir folds with its batch norm named with the batch
    norm's threshold (station_quant.tpu_mlir_thresholds)."""
    from .station_quant import tpu_mlir_thresholds
    installed = find_resource(role, THRESHOLDS[role])
    if installed is None:
        raise FileNotFoundError(f'{THRESHOLDS[role]} is not installed: build the MaixCAM graphs first (`make maixcam`)')
    thresholds = tpu_mlir_thresholds(onnx.load(str(graph), load_external_data=False), json.loads(installed.read_text()))
    target.write_text(json.dumps(thresholds, indent=0, sort_keys=True) + '\n')
    return installed


def write_labels(rec_graph, target):
    meta = {p.key: p.value for p in onnx.load(str(rec_graph), load_external_data=False).metadata_props}
    chars = meta['character'].split('\n')
    target.write_text(''.join(char + '\n' for char in chars), encoding='utf-8')
    return len(chars)


def rec_pieces(limit=SETTINGS['rec_pieces']):
    """(source entry, piece index, 48x320 BGR image): the committed line images
    as the station reads them (resized to height 48, cut every 320 pixels,
    padded black), the same selection build.rec_blobs calibrates ONNX
    Runtime's INT8 graph with."""
    yield from station_pieces(limit)


def write_float_layers(role, graph, target):
    """The output tensors of the nodes that our INT8 graph of `role` keeps
    float (build.float_layers, the one list), one a line: convert.sh puts
    every tpu-mlir op named after them (and nothing else) into the INT8
    model's quantisation table as BF16, so the station runs the same mixed
    precision that `-P preset maixcam` predicts."""
    model = onnx.load(str(graph), load_external_data=False)
    names = set(float_layers(model, role))
    tensors = [output for node in model.graph.node if node.name in names for output in node.output]
    target.write_text(''.join(tensor + '\n' for tensor in tensors))
    return len(tensors)


def _calibration():
    return json.loads((CALIBRATION / 'calibration.json').read_text())


def write_calibration(out):
    """Copy the det windows and write the rec pieces into out/calibration/{det,rec}."""
    listing = {'det': [], 'rec': []}
    for role in listing:
        (out / 'calibration' / role).mkdir(parents=True, exist_ok=True)
    for entry in _calibration()['det']:
        shutil.copyfile(CALIBRATION / entry['file'], out / 'calibration' / entry['file'])
        listing['det'].append({'file': f"calibration/{entry['file']}", 'source': entry['source']})
    for entry, number, image in rec_pieces():
        name = f"rec/{Path(entry['file']).stem}_p{number}.png"
        cv2.imwrite(str(out / 'calibration' / name), image)
        listing['rec'].append({'file': f'calibration/{name}', 'source': entry['source'], 'line': entry['file']})
    (out / 'calibration' / 'calibration.json').write_text(json.dumps(listing, indent=1) + '\n')
    return listing


def find_tpu_mlir(given=None):
    """The bin directory of a tpu-mlir installation (a venv or its bin), or None."""
    candidates = [Path(given)] if given else [Path.cwd() / '.venv-tpu', HERE.parents[1] / '.venv-tpu']
    for path in candidates:
        for bin_dir in (path / 'bin', path):
            if (bin_dir / 'model_deploy.py').is_file() or (bin_dir / 'model_deploy').is_file():
                return bin_dir.resolve()  # convert.sh runs in OUTDIR: a relative PATH entry would not hold
    if given:
        raise FileNotFoundError(f'no tpu-mlir (model_deploy.py) in {given} or {given}/bin')
    return None


def convert(out, bin_dir, log=print):
    """Run convert.sh with tpu-mlir's tools first on PATH; its output goes to
    out/convert.log. Returns (exit status, the similarity summaries it printed)."""
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ.get("PATH", "")}')
    log(f'running   convert.sh with tpu-mlir from {bin_dir} (log: {out / "convert.log"})')
    with open(out / 'convert.log', 'w') as output:
        status = subprocess.call(['bash', 'convert.sh'], cwd=out, env=env, stdout=output, stderr=subprocess.STDOUT)
    return status, similarities((out / 'convert.log').read_text(errors='replace'))


def similarities(text):
    """One line per comparison tpu-mlir's npz_tool made: target vs reference,
    the minimum (cosine, euclidean, SQNR) similarity over the compared
    tensors and whether it passed the tolerance."""
    found, block = [], {}
    for line in text.splitlines():
        match = re.match(r'\s*(min_simili?arity|Target|Reference)\s*=?\s*(.*)', line)
        tolerance = re.search(r'\[Running\]: npz_tool.py compare .*--tolerance ([\d.,]+)', line)
        if tolerance:
            block['tol'] = tolerance.group(1)
        elif match:
            block[match.group(1)[:3]] = match.group(2).strip()
        elif re.match(r'\s*npz compare (PASSED|FAILED)', line):
            found.append(f"{block.get('Tar', '?')} vs {block.get('Ref', '?')}: min similarity "
                         f"(cosine, euclidean, sqnr) = {block.get('min', '?')}, {line.split()[-1].rstrip('.')}"
                         + (f" (tolerance {block['tol']})" if 'tol' in block else ''))
            block = {}
    return found


def write_manifest(out, extra):
    files = sorted(p for p in out.rglob('*') if p.is_file() and p.name != 'manifest.json'
                   and 'work' not in p.relative_to(out).parts[:1])
    manifest = dict(extra, files={str(p.relative_to(out)): sha256_of(p) for p in files})
    (out / 'manifest.json').write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + '\n')
    return manifest


def export(out, run_convert=True, tpu_mlir=None, log=print):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = {role: write_graph(role, out) for role in ('det', 'rec')}
    for role, (graph, origin) in graphs.items():
        log(f'wrote     {graph.name} (from {origin})')
    count = write_labels(graphs['rec'][0], out / LABELS)
    log(f'wrote     {LABELS} ({count} characters)')
    for role, (graph, _) in graphs.items():
        count = write_float_layers(role, graph, out / FLOAT_LAYERS.format(role))
        log(f'wrote     {FLOAT_LAYERS.format(role)} ({count} tensors kept float/BF16)')
    for role, (graph, _) in graphs.items():
        write_thresholds(role, graph, out / f'{role}_thresholds.json')
    log('wrote     det_thresholds.json, rec_thresholds.json (the INT8 graphs\' scales, for tpu-mlir)')
    listing = write_calibration(out)
    log(f"wrote     calibration/ ({len(listing['det'])} det windows, {len(listing['rec'])} rec pieces)")
    (out / 'pp_ocr.mud').write_text(mud_text())
    shutil.copyfile(CONVERT, out / 'convert.sh')
    (out / 'convert.sh').chmod(0o755)
    shutil.copyfile(CALI_TABLE, out / 'cali_table.py')
    log('wrote     pp_ocr.mud, convert.sh, cali_table.py')
    extra = {'graphs': {role: {'file': graph.name, 'from': str(origin), 'from_sha256': sha256_of(origin)}
                        for role, (graph, origin) in graphs.items()}}
    status = 0
    bin_dir = find_tpu_mlir(tpu_mlir) if run_convert else None
    if run_convert and bin_dir is None:
        log('tpu-mlir not found (`make tpu-mlir` or --tpu-mlir VENV): run convert.sh where it is installed')
    if bin_dir:
        for name in cvimodel_names():
            (out / name).unlink(missing_ok=True)
        status, similar = convert(out, bin_dir, log)
        for line in similar:
            log(f'tpu-mlir  {line}')
        extra['tpu_mlir'] = {'status': status, 'similarity': similar}
        missing = [name for name in cvimodel_names() if not (out / name).is_file()]
        log(f'convert.sh exited {status}' + (f'; missing: {", ".join(missing)}' if missing else
                                             '; cvimodels written'))
        status = status or bool(missing)
    write_manifest(out, extra)
    log('wrote     manifest.json')
    return status


def cvimodel_names():
    """All cvimodels convert.sh writes (INT8 for the .mud, BF16 for comparison)."""
    return [name.replace('int8', kind) for name in CVIMODELS.values() for kind in ('int8', 'bf16')]


def main(argv=None):
    parser = argparse.ArgumentParser(prog='ocrd-ppocr-maixcam-export', description=__doc__.split('\n\n')[0])
    parser.add_argument('outdir', help='directory to write into')
    parser.add_argument('--no-convert', action='store_true', help='do not run convert.sh even if tpu-mlir is there')
    parser.add_argument('--tpu-mlir', metavar='VENV', help='tpu-mlir installation (default: .venv-tpu if present)')
    args = parser.parse_args(argv)
    try:
        return 1 if export(args.outdir, not args.no_convert, args.tpu_mlir) else 0
    except FileNotFoundError as error:  # a model or tpu-mlir not installed: one line, no traceback
        parser.exit(1, f'{parser.prog}: error: {error}\n')


if __name__ == '__main__':
    sys.exit(main())
