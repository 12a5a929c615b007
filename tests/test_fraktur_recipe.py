"""`make fraktur-model` closes: its commands are the ones the committed
training reports record, and its last step writes the patched model's sha256
into model_sources.json, so the next `make models` installs what it made
(checked here on the committed patch and the installed base; the 2-hour
training itself is not run)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ocrd_ppocr import install_models

REPO = Path(__file__).resolve().parents[1]
PATCHES = REPO / 'ocrd_ppocr' / 'patches'
MODEL = 'PP-OCRv6_rec_small_fraktur'


def recipe():
    """The commands `make fraktur-model` runs (make -n: printed, nothing run)."""
    result = subprocess.run(['make', '-n', '-s', 'fraktur-model', 'BIN=BIN'], cwd=REPO, capture_output=True,
                            text=True, check=True)
    return result.stdout.replace('\\\n', ' ').splitlines()


@pytest.mark.parametrize('report', [f'{MODEL}.stage1.report.json', f'{MODEL}.report.json'])
def test_the_committed_reports_commands_are_the_makefiles(report):
    command = json.loads((PATCHES / report).read_text(encoding='utf-8'))['command']
    commands = [' '.join(line.split()) for line in recipe()]
    assert command.replace('ocrd-ppocr-train', 'BIN/ocrd-ppocr-train', 1) in commands


def test_the_recipe_ends_by_recording_the_patched_models_checksum():
    assert recipe()[-1].split() == ['BIN/python', '-m', 'ocrd_ppocr.install_models', '--target', 'data',
                                    '--record-patches', f'{MODEL}.onnx']


def test_record_patches_writes_what_the_patch_gives(tmp_path, monkeypatch):
    sources = tmp_path / 'model_sources.json'
    committed = install_models.SOURCES.read_text()
    entry = next(p for p in install_models.load_patches() if p['name'] == f'{MODEL}.onnx')
    stale = committed.replace(entry['sha256'], '0' * 64).replace(f'"size": {entry["size"]}', '"size": 1')
    sources.write_text(stale)
    # the installed base (make models), read where `make models` put it
    resources = Path(install_models.target_dir('data', 'ocrd-ppocr-recognize'))
    assert (resources / entry['base']).is_file(), 'run `make models`'
    install_models.record_patches('data', [f'{MODEL}.onnx'], log=lambda *_: None, sources=sources)
    assert sources.read_text() == committed  # the committed checksum is what the committed patch gives
    # and the installer accepts the model the recorded checksum describes
    data_home = tmp_path / 'data'
    shutil.copytree(resources, data_home / 'ocrd-resources' / 'ocrd-ppocr-recognize',
                    ignore=lambda folder, names: [n for n in names if n != entry['base']])
    monkeypatch.setenv('XDG_DATA_HOME', str(data_home))
    monkeypatch.setattr(install_models, 'SOURCES', sources)
    installed = install_models.install_patched('data', [f'{MODEL}.onnx'], log=lambda *_: None)
    assert installed == [data_home / 'ocrd-resources' / 'ocrd-ppocr-recognize' / f'{MODEL}.onnx']
