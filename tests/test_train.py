"""ocrd-ppocr-train on real Fraktur lines (tests/data/fraktur_lines) and a
real PAGE workspace (kant), with the real installed recognisers."""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import DATA, KANT, make_workspace, model_path, output_pages, run

torch = pytest.importorskip('torch', reason='the training extra (make train-deps) is not installed')

from ocrd_ppocr.engine.recognize import TextRecognizer  # noqa: E402
from ocrd_ppocr.training.data import load_ground_truth, split_by_group  # noqa: E402
from ocrd_ppocr.training.graph import TRAINABLE, SplitRecognizer  # noqa: E402
from ocrd_ppocr.weight_patch import PatchError, apply_patch, patch_info  # noqa: E402

LINES = DATA / 'fraktur_lines'
TRAIN = ['ocrd-ppocr-train', str(LINES / 'train'), '--val', str(LINES / 'val'), '--threads', '2']


def recogniser(name):
    return model_path(f'{name}.onnx', 'ocrd-ppocr-recognize')


@pytest.mark.parametrize('name', ['PP-OCRv4_rec_mobile', 'PP-OCRv5_rec_mobile', 'PP-OCRv6_rec_small',
                                  'PP-OCRv6_rec_tiny'])
def test_trainable_tail_computes_what_onnx_runtime_computes(name):
    lines, _ = load_ground_truth([LINES / 'val'], log=lambda *a: None)
    image = lines[0].image
    width = int(48 * image.shape[1] / image.shape[0])
    from ocrd_ppocr.engine.recognize import line_blob
    blob = line_blob([image], [width], max(320, width))
    expected = ort.InferenceSession(recogniser(name)).run(None, {'x': blob})[0]
    for trainable in TRAINABLE:
        net = SplitRecognizer(recogniser(name), trainable)
        with torch.no_grad():
            probs = torch.softmax(net.logits(net.features(blob)), -1).numpy()
        assert np.abs(probs - expected).max() < 1e-4, (name, trainable)


def test_split_keeps_works_apart():
    lines, _ = load_ground_truth([LINES / 'train', LINES / 'val'], log=lambda *a: None)
    train, val = split_by_group(lines, 0.3, seed=1)
    assert train and val
    assert not {l.group for l in train} & {l.group for l in val}


@pytest.fixture(scope='module')
def fine_tuned(tmp_path_factory):
    """A few dozen steps of fine-tuning PP-OCRv6 tiny on 37 lines of two works,
    validated on 17 lines of two others."""
    out = tmp_path_factory.mktemp('trained')
    result = run(TRAIN + ['-m', 'PP-OCRv6_rec_tiny', '-o', 'tiny_frak', '--install-dir', str(out),
                          '--epochs', '6', '--batch-size', '4', '--learning-rate', '1e-3',
                          '--patch', str(out / 'tiny_frak.npz')], cwd=out)
    report = json.loads((out / 'tiny_frak.report.json').read_text())
    return out, report, result.stdout + result.stderr


def test_fine_tuning_lowers_validation_loss_and_cer(fine_tuned):
    _, report, _ = fine_tuned
    history = report['history']
    assert history[0]['epoch'] == 0 and len(history) >= 3
    assert min(e['val_loss'] for e in history[1:]) < history[0]['val_loss']
    assert report['best_val_cer'] < report['base_val_cer']
    assert report['train_lines'] == 37 and report['val_lines'] == 17
    assert report['lines_per_second'] > 0


def test_unknown_characters_grow_the_head(fine_tuned):
    out, report, _ = fine_tuned
    assert '\u0364' in report['added_characters'] and '⸗' in report['added_characters']
    tiny = recogniser('PP-OCRv6_rec_tiny')
    base = TextRecognizer(tiny, tiny[:-len('.onnx')] + '.txt')
    trained = TextRecognizer(str(out / 'tiny_frak.onnx'))
    assert len(trained.labels) == len(base.labels) + len(report['added_characters'])
    assert trained.labels[:-1][:len(base.labels) - 1] == base.labels[:-1]  # old classes kept, in order
    dictionary = (out / 'tiny_frak.txt').read_text(encoding='utf-8').split('\n')[:-1]
    assert dictionary == trained.labels[1:-1]
    metadata = {p.key: p.value for p in onnx.load(str(out / 'tiny_frak.onnx')).metadata_props}
    assert metadata['character'].split('\n') == dictionary


def test_export_reads_as_the_pytorch_model(fine_tuned):
    out, report, _ = fine_tuned
    check = report['export_check']
    assert check['lines'] == 17 and check['same_text_share'] == 1.0
    assert check['max_probability_difference'] < 1e-3
    assert (out / 'tiny_frak.cer.png').stat().st_size > 1000


def test_weight_patch_rebuilds_the_model_exactly(fine_tuned, tmp_path):
    out, _, _ = fine_tuned
    rebuilt = apply_patch(recogniser('PP-OCRv6_rec_tiny'), out / 'tiny_frak.npz')
    assert rebuilt == (out / 'tiny_frak.onnx').read_bytes()
    assert patch_info(out / 'tiny_frak.npz')['base'] == 'PP-OCRv6_rec_tiny.onnx'
    with pytest.raises(PatchError, match='applies to PP-OCRv6_rec_tiny.onnx'):
        apply_patch(recogniser('PP-OCRv5_rec_mobile'), out / 'tiny_frak.npz')


def test_recognize_processor_loads_the_trained_model_by_name(fine_tuned, tmp_path):
    out, _, _ = fine_tuned
    # a data directory of its own: the installed recognisers plus the trained model
    data = tmp_path / 'xdg'
    resources = data / 'ocrd-resources' / 'ocrd-ppocr-recognize'
    resources.mkdir(parents=True)
    installed = os.path.dirname(recogniser('PP-OCRv6_rec_tiny'))
    for path in [os.path.join(installed, n) for n in os.listdir(installed)] + list(map(str, out.iterdir())):
        os.symlink(path, resources / os.path.basename(path))
    directory = make_workspace(tmp_path / 'ws', KANT[1:])
    env = {'XDG_DATA_HOME': str(data)}
    listed = run(['ocrd-ppocr-recognize', '--list-resources'], cwd=directory, env=env).stdout
    assert 'tiny_frak.onnx' in listed
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-OCR', '-P', 'model', 'tiny_frak',
                  '-P', 'overwrite_segments', 'true'], cwd=directory, env=env)
    assert 'tiny_frak.onnx' in result.stderr
    from test_fraktur_model import _cer, _lines
    gt, out = _lines(KANT[1][2]), _lines(output_pages(directory, 'OCR-D-OCR')['PHYS_0020'])
    # a few dozen steps on 37 lines: a rough reader (measured 26 %), but a reader
    assert _cer(gt, out) < 0.4 and 'ſ' in ''.join(out.values())


def test_second_stage_patch_applies_to_the_pinned_original(fine_tuned, tmp_path):
    """Fine-tuning a derived model further (its last backbone stage too), the
    shipped patch is made against the pinned original with --patch-base."""
    out, _, _ = fine_tuned
    run(TRAIN + ['-m', str(out / 'tiny_frak.onnx'), '-o', 'tiny_frak2', '--install-dir', str(tmp_path),
                 '--trainable', 'stage', '--epochs', '1', '--max-steps', '3', '--batch-size', '4',
                 '--patch', str(tmp_path / 'tiny_frak2.npz'), '--patch-base', 'PP-OCRv6_rec_tiny'], cwd=tmp_path)
    assert patch_info(tmp_path / 'tiny_frak2.npz')['base'] == 'PP-OCRv6_rec_tiny.onnx'
    rebuilt = apply_patch(recogniser('PP-OCRv6_rec_tiny'), tmp_path / 'tiny_frak2.npz')
    assert rebuilt == (tmp_path / 'tiny_frak2.onnx').read_bytes()


def test_page_workspace_as_ground_truth(tmp_path):
    directory = make_workspace(tmp_path / 'kant', KANT)
    lines, skipped = load_ground_truth([directory / 'mets.xml'], 'OCR-D-GT-SEG', split_by='page',
                                       log=lambda *a: None)
    assert len(lines) > 40 and {line.group for line in lines} == {'kant/PHYS_0017', 'kant/PHYS_0020'}
    assert all(line.image.ndim == 3 and line.image.shape[0] >= 20 for line in lines)
    result = run(['ocrd-ppocr-train', str(directory), '--file-grp', 'OCR-D-GT-SEG', '--split-by', 'page',
                  '--val-fraction', '0.5', '-m', 'PP-OCRv6_rec_tiny', '-o', 'kant_tiny', '--install-dir',
                  str(tmp_path / 'out'), '--epochs', '1', '--max-steps', '2', '--threads', '2'], cwd=tmp_path)
    assert 'validation lines' in result.stdout
    assert (tmp_path / 'out' / 'kant_tiny.onnx').is_file()


def test_workspace_lines_are_cut_as_the_base_model_reads_them(tmp_path):
    """The Fraktur model reads line crops with a 0.1 margin (engine.recognize
    READING_MARGINS): trained on it, workspace lines are cut so, and the
    trained model records that margin, so that recognition reads with it too."""
    import onnx

    from ocrd_ppocr.engine.recognize import MARGIN_KEY, TextRecognizer
    directory = make_workspace(tmp_path / 'kant', KANT)
    as_cut, _ = load_ground_truth([directory / 'mets.xml'], 'OCR-D-GT-SEG', split_by='page', log=lambda *a: None)
    tight, _ = load_ground_truth([directory / 'mets.xml'], 'OCR-D-GT-SEG', split_by='page', log=lambda *a: None,
                                 margin=0.1)
    assert [line.text for line in tight] == [line.text for line in as_cut]
    # 1 + 2 * 0.1 line heights instead of 1 + 2 * 0.4, the same columns
    for small, large in zip(tight, as_cut):
        assert small.image.shape[1] == large.image.shape[1]
        assert abs(small.image.shape[0] / large.image.shape[0] - 1.2 / 1.8) < 0.05
    run(['ocrd-ppocr-train', str(directory), '--file-grp', 'OCR-D-GT-SEG', '--split-by', 'page',
         '--val-fraction', '0.5', '-m', 'PP-OCRv6_rec_small_fraktur', '-o', 'kant_frak', '--install-dir',
         str(tmp_path / 'out'), '--epochs', '1', '--max-steps', '1', '--threads', '2'], cwd=tmp_path)
    trained = tmp_path / 'out' / 'kant_frak.onnx'
    metadata = {p.key: p.value for p in onnx.load(str(trained), load_external_data=False).metadata_props}
    assert float(metadata[MARGIN_KEY]) == 0.1
    assert TextRecognizer(str(trained)).margin == 0.1


def _error(args, cwd):
    result = run(args, cwd=cwd, check=False)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr, result.stderr[-2000:]
    return result.stderr.strip().splitlines()[-1]


def test_bad_input_gets_one_clear_line(tmp_path, fine_tuned):
    out, _, _ = fine_tuned
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert 'no usable text lines' in _error(['ocrd-ppocr-train', str(empty), '-o', 'x', '--install-dir',
                                             str(tmp_path)], tmp_path)
    lonely = tmp_path / 'lonely'
    lonely.mkdir()
    (lonely / 'a.gt.txt').write_text('Text ohne Bild', encoding='utf-8')
    (lonely / 'b.gt.txt').write_text('', encoding='utf-8')
    assert 'no usable text lines' in _error(['ocrd-ppocr-train', str(lonely), '-o', 'x', '--install-dir',
                                             str(tmp_path)], tmp_path)
    line = _error(TRAIN + ['-m', model_path('PP-OCRv6_det_tiny.onnx'), '-o', 'x', '--install-dir',
                           str(tmp_path)], tmp_path)
    assert 'not a text recognition model' in line
    line = _error(TRAIN + ['-m', 'tiny_frak', '-o', 'tiny_frak', '--install-dir', str(out)], tmp_path)
    assert 'exists' in line and 'overwrite' in line
    line = _error(TRAIN + ['-m', 'PP-OCRv9_rec', '-o', 'x', '--install-dir', str(tmp_path)], tmp_path)
    assert "'PP-OCRv9_rec' not found" in line


def test_checkpoints_stay_out_of_the_install_folder(fine_tuned):
    """The working folder is in the user's cache, named at the start and
    removed when the run has ended; added characters that a terminal cannot
    show are named by code point."""
    out, _, output = fine_tuned
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == []
    work_dir = output.split('checkpoints in ')[1].split(' (')[0]
    assert str(out) not in work_dir and 'ocrd-ppocr' in work_dir and not os.path.exists(work_dir)
    added = next(line for line in output.splitlines() if line.startswith('characters added to the dictionary:'))
    assert 'U+0364 COMBINING LATIN SMALL LETTER E' in added and '⸗' in added


def test_small_ground_truth_gets_folds_and_a_budget():
    from ocrd_ppocr.training.defaults import LINE_PASSES, choose

    nothing = dict.fromkeys(['folds', 'epochs', 'patience', 'trainable', 'augment', 'class_sample', 'learning_rate'])
    chosen, reasons = choose(60, nothing, explicit_validation=False)
    assert chosen['folds'] == 5 and chosen['trainable'] == 'neck' and chosen['class_sample'] > 0
    assert chosen['learning_rate'] == 1e-3 and 'learning_rate' in reasons  # few steps: a higher rate
    assert 60 * 4 * chosen['epochs'] <= LINE_PASSES * 1.1 and 'folds' in reasons and 'epochs' in reasons
    assert choose(150, nothing, False)[0]['folds'] == 3
    assert choose(60, nothing, explicit_validation=True)[0]['folds'] == 1  # --val: one model, as before
    assert choose(5000, nothing, False)[0] == {'folds': 1, 'epochs': 10, 'patience': 3, 'trainable': 'neck',
                                              'augment': 'all', 'class_sample': 0, 'learning_rate': 5e-4}
    assert choose(60, dict(nothing, epochs=2, folds=3), False)[0]['epochs'] == 2  # the user's choice wins


def test_folds_make_an_ensemble_usable_by_name(tmp_path):
    out = tmp_path / 'models'
    result = run(['ocrd-ppocr-train', str(LINES / 'train'), '-m', 'PP-OCRv6_rec_tiny', '-o', 'ens', '--install-dir',
                  str(out), '--folds', '2', '--epochs', '1', '--max-steps', '2', '--threads', '2'], cwd=tmp_path)
    assert 'folds 2' in result.stdout and '2 models voting' in result.stdout
    report = json.loads((out / 'ens.report.json').read_text())
    assert report['members'] == ['ens.fold1.onnx', 'ens.fold2.onnx'] and len(report['folds']) == 2
    assert sum(fold['val_lines'] for fold in report['folds']) == 37
    assert 0 < report['cross_validation_cer'] < 1
    # the GT's characters are in every member, whichever fold they were in
    for member in report['members']:
        assert '\u0364' in TextRecognizer(str(out / member)).labels
    import sys
    predicted = run([sys.executable, '-m', 'ocrd_ppocr.predict', '-m', str(out / 'ens'), '-o', str(tmp_path / 'p'),
                     str(LINES / 'val')], cwd=tmp_path)
    assert '17 lines read' in predicted.stdout and '(voting)' in predicted.stdout


def test_feature_cache_reads_lines_as_the_backbone_does():
    from ocrd_ppocr.training.trainer import FeatureCache, TrainOptions, Trainer

    lines, _ = load_ground_truth([LINES / 'val'], log=lambda *a: None)
    lines = lines[:4]
    options = TrainOptions(threads=2, class_sample=64)
    tiny = recogniser('PP-OCRv6_rec_tiny')
    dictionary = tiny[:-len('.onnx')] + '.txt'
    plain = Trainer(tiny, lines, lines, options, dictionary=dictionary, log=lambda *a: None)
    cache = FeatureCache(variants=3)
    cached = Trainer(tiny, lines, lines, options, dictionary=dictionary, log=lambda *a: None, feature_cache=cache)
    (cer_plain, loss_plain, readings_plain), (cer_cached, loss_cached, readings_cached) = \
        plain.evaluate(), cached.evaluate()
    assert readings_plain == readings_cached and abs(loss_plain - loss_cached) < 1e-4
    # training batches: one cached version per line, padded to the widest of the batch
    for chunk, features in cache.batches(lines, 2, np.random.default_rng(1)):
        (value,) = features.values()
        assert value.shape[0] == len(chunk) and len(cache.store[id(lines[chunk[0]])]) == 3
