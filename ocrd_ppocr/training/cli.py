"""ocrd-ppocr-train: fine-tune a PP-OCR recogniser on ground truth and
install the result where ocrd-ppocr-recognize finds it."""
import hashlib
import os
import shutil
import sys
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

import click

from ..engine.session import ModelError
from .. import resources
from ..install_models import target_dir

EXECUTABLE = 'ocrd-ppocr-recognize'
# versions of each line (as it is, and augmented) whose backbone features the folds share
FEATURE_VERSIONS = 5


def find_model(value, suffix='.onnx'):
    """A recogniser given as a path or as an installed resource name (the
    package's one lookup, resources.py)."""
    return resources.find_model(value, 'recognition', suffix, first=EXECUTABLE)


def default_work_dir(name, out_dir):
    """Where checkpoints go unless --work-dir says: the user's cache
    ($XDG_CACHE_HOME, else ~/.cache), not the OCR-D resource directory,
    whose every file --list-resources would offer as a model; one folder per
    model name and install folder, so that runs for different folders do
    not share checkpoints."""
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    folder = hashlib.sha1(str(Path(out_dir).resolve()).encode()).hexdigest()[:8]
    return Path(cache) / 'ocrd-ppocr' / 'training' / f'{name}-{folder}'


def shown(char):
    """A character as a log line can show it: itself if visible, else (private
    use, combining, format, control and space characters) with its code point."""
    if all(unicodedata.category(c)[0] in 'LNPS' and unicodedata.category(c) != 'Co' for c in char):
        return char
    names = ' '.join(f'U+{ord(c):04X}' + (f' {unicodedata.name(c)}' if unicodedata.name(c, '') else '')
                     for c in char)
    visible = ''.join(('\u25cc' + c) if unicodedata.category(c) in ('Mn', 'Me') else c  # ◌ carries a mark
                      for c in char if unicodedata.category(c) not in ('Co', 'Cf', 'Cc', 'Cn', 'Zs'))
    return f'{visible} ({names})' if visible.strip() else f'({names})'


def dictionary_beside(model):
    sibling = os.path.splitext(model)[0] + '.txt'
    return sibling if os.path.isfile(sibling) else None


@click.command(context_settings={'help_option_names': ['-h', '--help']})
@click.argument('ground_truth', nargs=-1, required=True, type=click.Path(exists=True))
@click.option('-o', '--output', 'name', required=True,
              help='name of the new model (NAME.onnx, or NAME.ensemble.json with its members NAME.foldK.onnx; '
                   'NAME.txt and the report are written)')
@click.option('-m', '--model', 'base', default='PP-OCRv6_rec_small', show_default=True,
              help='recogniser to start from: an installed resource name or an .onnx path')
@click.option('--dictionary', help='the base model\'s dictionary file, for models without `character` metadata')
@click.option('--file-grp', default='OCR-D-GT-SEG-LINE', show_default=True,
              help='PAGE fileGrp with the GT lines, for METS workspaces')
@click.option('--val', 'val_paths', multiple=True, type=click.Path(exists=True),
              help='explicit validation GT (folders or METS, repeatable); else split off the training GT')
@click.option('--val-fraction', type=float,
              help='share of the lines for validation, taken as whole works or pages (one model; default 0.1)')
@click.option('--split-by', type=click.Choice(['work', 'page']),
              help='unit of the validation split: line folders / workspaces (work, the default) or METS pages')
@click.option('--folds', type=int,
              help='train this many models, each validated on its own fold of the lines, which vote as an '
                   'ensemble (NAME.ensemble.json); 1: one model. Default: 5 (3 above 100 lines) for up to '
                   '200 lines without --val / --val-fraction, else 1')
@click.option('--install-dir', type=click.Path(file_okay=False),
              help='where NAME.onnx goes (default: the OCR-D data resource location of ocrd-ppocr-recognize)')
@click.option('--overwrite', is_flag=True, help='replace an existing model of that name')
@click.option('--epochs', type=int, help='default: 10; with folds sized to the lines (6-80, see the report)')
@click.option('--batch-size', default=8, show_default=True)
@click.option('--learning-rate', type=float, help='peak learning rate (default: 5e-4; with folds 1e-3)')
@click.option('--trainable', type=click.Choice(['neck', 'stage', 'all']),
              help="'neck' (the default): backbone frozen (runs in ONNX Runtime, fast on CPU); "
                   "'stage': also the backbone's last stage; 'all': every layer")
@click.option('--augment',
              help='augmentations: all (the default), none, or a list of margin,rotate,scale,blur,noise,contrast,binarise')
@click.option('--augment-probability', default=0.5, show_default=True, help='of each augmentation per line')
@click.option('--patience', type=int, help='epochs without improvement before stopping (default: 3; with folds '
              'a third of the epochs)')
@click.option('--class-sample', type=int,
              help='train the head\'s softmax on the GT\'s characters, their confusions and this many others '
                   'drawn per step (0: all classes; default 256 with folds, else 0)')
@click.option('--seed', default=1, show_default=True, help='fixes data order and augmentation')
@click.option('--max-steps', default=0, show_default=True, help='stop after this many batches (0: no limit)')
@click.option('--stop-after-epoch', default=0, show_default=True,
              help='end this run after that epoch, keeping the schedule of --epochs (continue with --resume)')
@click.option('--threads', default=0, show_default=True,
              help='CPU threads (0: all; with folds and the backbone frozen, one)')
@click.option('--device', type=click.Choice(['cpu', 'cuda']), default='cpu', show_default=True)
@click.option('--resume', type=click.Path(exists=True, dir_okay=False), help='continue from a checkpoint.pt')
@click.option('--work-dir', type=click.Path(file_okay=False),
              help='checkpoints (default: a folder NAME-XXXXXXXX in $XDG_CACHE_HOME/ocrd-ppocr/training/, '
                   'else ~/.cache/ocrd-ppocr/training/, printed at the start; removed when the run ends, '
                   'kept for --resume when it is interrupted or stopped by --stop-after-epoch)')
@click.option('--patch', type=click.Path(dir_okay=False),
              help='also write a weight patch (.npz) of the model against its base, for shipping')
@click.option('--patch-base', help='the model the patch applies to (default: the base model); '
              'give the pinned original when continuing from a model that is itself derived')
def main(ground_truth, name, base, dictionary, file_grp, val_paths, val_fraction, split_by, folds, install_dir,
         overwrite, epochs, batch_size, learning_rate, trainable, augment, augment_probability, patience,
         class_sample, seed, max_steps, stop_after_epoch, threads, device, resume, work_dir, patch, patch_base=None):
    """Fine-tune a PP-OCR CTC recogniser on GROUND_TRUTH: folders of line
    images with .gt.txt beside them, or METS workspaces (mets.xml or their
    folder) whose --file-grp PAGE lines carry TextEquiv.

    With few lines of one book (up to 200, no --val), several models are
    trained on folds of the lines and vote (see the report for what was
    chosen); else one. Characters the GT uses and the base dictionary lacks
    are added to the model. The result (NAME.onnx, or NAME.ensemble.json
    with its members) is installed so that `ocrd-ppocr-recognize -P model
    NAME` and `ocrd-ppocr-predict -m NAME` find it (`-m DIR/NAME` with
    --install-dir DIR); a report (NAME.report.json, NAME.cer.png) goes
    beside it.
    """
    try:
        run(**locals())
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo('ocrd-ppocr-train: interrupted; continue with --resume <work dir>/checkpoint.pt', err=True)
        sys.exit(130)
    except Exception as err:
        from .data import GroundTruthError
        from .graph import UnsupportedGraph
        from ..weight_patch import PatchError
        if isinstance(err, (ModelError, GroundTruthError, UnsupportedGraph, PatchError, ValueError, OSError)):
            raise click.ClickException(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
        raise


def run(ground_truth, name, base, dictionary, file_grp, val_paths, val_fraction, split_by, folds, install_dir,
        overwrite, epochs, batch_size, learning_rate, trainable, augment, augment_probability, patience,
        class_sample, seed, max_steps, stop_after_epoch, threads, device, resume, work_dir, patch, patch_base=None):
    try:
        import torch
    except ImportError:
        raise click.ClickException('training needs PyTorch: pip install "ocrd_ppocr[train]" '
                                   '(or make train-deps)') from None

    from ..engine.ensemble import SUFFIX as ENSEMBLE
    from ..engine.recognize import reading_margin
    from .augment import parse_kinds
    from .data import load_ground_truth, split_by_group
    from .defaults import choose
    from .trainer import TrainOptions

    if device == 'cuda' and not torch.cuda.is_available():
        raise click.ClickException('--device cuda: PyTorch sees no CUDA GPU here')
    name = name[:-5] if name.endswith('.onnx') else name
    if not name or '/' in name or os.sep in name:
        raise click.ClickException(f'--output {name!r}: give a plain model name, not a path '
                                   '(use --install-dir for the folder)')
    out_dir = Path(install_dir) if install_dir else target_dir('data', EXECUTABLE)
    model_path, ensemble_path = out_dir / f'{name}.onnx', out_dir / f'{name}{ENSEMBLE}'
    for path in (model_path, ensemble_path):
        if path.exists() and not overwrite:
            raise click.ClickException(f'{path} exists: choose another name or add --overwrite')
    base_path = find_model(base)
    dictionary = dictionary or dictionary_beside(base_path)
    split_by = split_by or 'work'
    log = click.echo
    # workspace lines are cut as the base model reads them, which the trained model inherits
    margin = reading_margin(base_path)
    lines, skipped = load_ground_truth(ground_truth, file_grp, split_by, log, margin)
    val_lines = None
    if val_paths:
        val_lines, val_skipped = load_ground_truth(val_paths, file_grp, split_by, log, margin)
        skipped += val_skipped
    for source, reason in skipped[:20]:
        log(f'skipped {source}: {reason}')
    if len(skipped) > 20:
        log(f'... and {len(skipped) - 20} more lines skipped')
    given = {'folds': folds, 'epochs': epochs, 'patience': patience, 'trainable': trainable, 'augment': augment,
             'class_sample': class_sample, 'learning_rate': learning_rate}
    chosen, reasons = choose(len(lines), given, bool(val_paths) or val_fraction is not None or resume)
    log('settings: ' + ', '.join(f'{key} {value}' + (' (chosen: ' + reasons[key] + ')' if key in reasons else '')
                                 for key, value in chosen.items()))
    if not threads and chosen['folds'] > 1 and chosen['trainable'] == 'neck':
        # cached features, small steps: one thread does it in under a CPU minute for 60 lines;
        # two threads on 2 cores that something else also uses spun 10x as long (benchmarks/adapt.py)
        threads = 1
        log('threads 1 (chosen: small steps on cached features)')
    options = TrainOptions(epochs=chosen['epochs'], batch_size=batch_size, learning_rate=chosen['learning_rate'],
                           trainable=chosen['trainable'], augment=parse_kinds(chosen['augment']),
                           augment_probability=augment_probability, patience=chosen['patience'], seed=seed,
                           threads=threads, device=device, max_steps=max_steps,
                           stop_after_epoch=stop_after_epoch, class_sample=chosen['class_sample'])
    own_work_dir = not work_dir
    work_dir = Path(work_dir) if work_dir else default_work_dir(name, out_dir)
    log(f'checkpoints in {work_dir} (continue an interrupted run with --resume {work_dir / "checkpoint.pt"})')
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    common = {'base': os.path.basename(base_path), 'command': ' '.join(['ocrd-ppocr-train'] + sys.argv[1:]),
              'chosen': chosen, 'chosen_because': reasons, 'ground_truth': [str(p) for p in ground_truth],
              'skipped': len(skipped), 'skipped_lines': [f'{source}: {reason}' for source, reason in skipped]}
    if chosen['folds'] > 1:
        if patch or resume:
            raise click.ClickException('--patch and --resume work on one model: give --folds 1')
        report = train_folds(lines, chosen['folds'], base_path, dictionary, options, out_dir, name, work_dir, log)
        _remove_stale(model_path, log)
    else:
        if val_lines is None:
            train_lines, val_lines = split_by_group(lines, 0.1 if val_fraction is None else val_fraction, seed)
        else:
            train_lines = lines
        log(f'{len(train_lines)} training lines ({len({l.group for l in train_lines})} works/pages), '
            f'{len(val_lines)} validation lines ({len({l.group for l in val_lines})})')
        report = train_model(train_lines, val_lines, base_path, dictionary, options, model_path, work_dir, log,
                             resume=resume, patch=patch, patch_base=patch_base)
        report.update({'validation': [str(p) for p in val_paths] or 'split',
                       'val_groups': sorted({l.group for l in val_lines})})
        _remove_stale(ensemble_path, log)
    report = {**common, **report, 'training_seconds': round(time.time() - started, 1),
              'torch': torch.__version__, 'device': device, 'threads': torch.get_num_threads()}
    write_report(out_dir / f'{name}.report.json', report)
    stopped = chosen['folds'] == 1 and stop_after_epoch and report['history'][-1]['epoch'] < chosen['epochs']
    if own_work_dir and not stopped:  # nothing left to resume: the checkpoints (tens of MB) go
        shutil.rmtree(work_dir, ignore_errors=True)
    minutes = f'{report["training_seconds"] / 60:.1f} minutes'
    if chosen['folds'] > 1:
        log(f'{ensemble_path}: {chosen["folds"]} models voting; cross-validation CER '
            f'{100 * report["cross_validation_cer"]:.2f} % (each model on the fold it never trained on; base '
            f'model {100 * report["base_val_cer"]:.2f} %), {minutes}; use it with '
            f'ocrd-ppocr-recognize -P model {name} or ocrd-ppocr-predict -m {name}')
    else:
        log(f'{model_path}: best validation CER {100 * report["best_val_cer"]:.2f} % (epoch {report["best_epoch"]}; '
            f'base model {100 * report["base_val_cer"]:.2f} %), {minutes}; use it with '
            f'ocrd-ppocr-recognize -P model {name}')


def write_report(path, report):
    from .report import write_report as write

    write(path, report)


def _remove_stale(path, log):
    """A model of the same name in the other form would shadow the new one (or be shadowed)."""
    if path.exists():
        path.unlink()
        log(f'removed {path}: replaced by the new model of that name')


def fold_split(lines, folds, seed):
    """`folds` lists of lines, shuffled with `seed`, of nearly equal size (lines of one book: split by line)."""
    import random

    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    return [[lines[i] for i in order[k::folds]] for k in range(folds)]


def train_folds(lines, folds, base_path, dictionary, options, out_dir, name, work_dir, log):
    """One model per fold (validated on it, trained on the others), written
    as NAME.foldK.onnx and listed in NAME.ensemble.json; the report's part."""
    from ..engine.ensemble import SUFFIX as ENSEMBLE, write_ensemble
    from ..engine.recognize import TextRecognizer
    from .trainer import FeatureCache, confusable_characters

    parts = fold_split(lines, folds, options.seed)
    log(f'{len(lines)} lines in {folds} folds of {min(map(len, parts))}-{max(map(len, parts))}: '
        f'{folds} models, each validated on one fold and trained on the others')
    confusable = None
    if options.class_sample:  # once for all folds: what the base model confuses on all the lines
        confusable = confusable_characters(TextRecognizer(base_path, dictionary, threads=options.threads, top_k=3),
                                           lines)
    texts = [line.text for line in lines]
    options = replace(options, checkpoint=False)  # no --resume with folds: no need to save every epoch
    cache = None
    if options.trainable == 'neck':  # the frozen backbone's features, once for all folds and epochs
        cache = FeatureCache(variants=FEATURE_VERSIONS if options.augment else 1, seed=options.seed)
    members, reports = [], []
    for k in range(folds):
        train_lines = [line for j, part in enumerate(parts) if j != k for line in part]
        log(f'fold {k + 1}/{folds}: {len(train_lines)} training lines, {len(parts[k])} validation lines')
        path = out_dir / f'{name}.fold{k + 1}.onnx'
        report = train_model(train_lines, parts[k], base_path, dictionary, options, path,
                             Path(work_dir) / f'fold{k + 1}', log, confusable=confusable, texts=texts,
                             feature_cache=cache,
                             plot=k == 0 and out_dir / f'{name}.cer.png')
        members.append(path)
        reports.append(report)
    write_ensemble(out_dir / f'{name}{ENSEMBLE}', members)
    total = sum(len(part) for part in parts)

    def weighted(key):  # over all lines: each line counted once, in the fold that validated it
        return sum(r[key] * len(part) for r, part in zip(reports, parts)) / total

    return {'model': f'{name}{ENSEMBLE}', 'members': [p.name for p in members], 'lines': len(lines),
            'feature_cache_versions': cache and cache.variants,
            'folds': reports, 'added_characters': reports[0]['added_characters'],
            'base_val_cer': weighted('base_val_cer'),
            # each member read through the recogniser's engine on the fold it never trained on
            'cross_validation_cer': sum(r['export_check']['engine_cer'] * len(part)
                                        for r, part in zip(reports, parts)) / total}


def train_model(train_lines, val_lines, base_path, dictionary, options, model_path, work_dir, log,
                resume=None, patch=None, patch_base=None, confusable=None, texts=None, plot=True, feature_cache=None):
    """Train one model and write it (MODEL.onnx, MODEL.txt); its report."""
    import onnx
    from tqdm import tqdm

    from .report import plot_cer
    from .trainer import Trainer

    out_dir, stem = model_path.parent, model_path.stem
    trainer = Trainer(base_path, train_lines, val_lines, options, dictionary=dictionary, log=log,
                      confusable=confusable, texts=texts, feature_cache=feature_cache)
    if trainer.added:
        log(f"characters added to the dictionary: {' '.join(shown(char) for char in trainer.added)}")
    if resume:
        trainer.resume(resume)

    def progress(epoch, total):
        return tqdm(total=total, desc=f'epoch {epoch}', unit='line', file=sys.stderr, leave=False,
                    disable=None)

    started = time.time()
    history = trainer.fit(work_dir, progress)
    seconds = time.time() - started
    exported = trainer.export()
    if patch:
        from ..weight_patch import make_patch
        patch_base_path = find_model(patch_base) if patch_base else base_path
        model_bytes = make_patch(patch_base_path, os.path.basename(patch_base_path), exported, patch)
    else:
        model_bytes = exported.SerializeToString()
    partial = model_path.with_name(model_path.name + '.part')
    partial.write_bytes(model_bytes)
    partial.replace(model_path)
    (out_dir / f'{stem}.txt').write_text('\n'.join(trainer.dictionary) + '\n', encoding='utf-8')
    check = trainer.compare_export(model_path, val_lines)
    log(f'exported model reads {100 * check["same_text_share"]:.1f} % of the validation lines exactly as '
        f'the PyTorch model (largest probability difference {check["max_probability_difference"]:.2g}); '
        f'CER through ocrd-ppocr-recognize\'s engine {100 * check["engine_cer"]:.2f} %')
    trained_epochs = [e for e in history.epochs if e['epoch'] > 0]
    seen = sum(e.get('lines', 0) for e in trained_epochs)
    train_seconds = sum(e.get('seconds', 0) for e in trained_epochs)
    if plot:
        plot_cer(plot if plot is not True else out_dir / f'{stem}.cer.png', history.epochs,
                 f'{stem}: validation CER per epoch')
    log(f'{model_path.name}: best validation CER {100 * history.best_cer:.2f} % (epoch {history.best_epoch}; '
        f'base model {100 * history.epochs[0]["val_cer"]:.2f} %)')
    return {'model': model_path.name, 'onnx': onnx.__version__, 'resumed_from': resume,
            'options': {k: list(v) if isinstance(v, tuple) else v for k, v in vars(options).items()},
            'train_lines': len(train_lines), 'val_lines': len(val_lines),
            'added_characters': trainer.added, 'history': history.epochs,
            'base_val_cer': history.epochs[0]['val_cer'], 'best_epoch': history.best_epoch,
            'best_val_cer': history.best_cer, 'export_check': check,
            'fit_seconds': round(seconds, 1), 'lines_per_second': round(seen / max(train_seconds, 1e-6), 2)}

if __name__ == '__main__':
    main()
