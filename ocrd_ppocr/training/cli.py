"""ocrd-ppocr-train: fine-tune a PP-OCR recogniser on ground truth and
install the result where ocrd-ppocr-recognize finds it."""
import hashlib
import os
import shutil
import sys
import time
import unicodedata
from pathlib import Path

import click

from ..engine.session import ModelError
from .. import resources
from ..install_models import target_dir

EXECUTABLE = 'ocrd-ppocr-recognize'


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
              help='name of the new model (NAME.onnx, NAME.txt and the report are written)')
@click.option('-m', '--model', 'base', default='PP-OCRv6_rec_small', show_default=True,
              help='recogniser to start from: an installed resource name or an .onnx path')
@click.option('--dictionary', help='the base model\'s dictionary file, for models without `character` metadata')
@click.option('--file-grp', default='OCR-D-GT-SEG-LINE', show_default=True,
              help='PAGE fileGrp with the GT lines, for METS workspaces')
@click.option('--val', 'val_paths', multiple=True, type=click.Path(exists=True),
              help='explicit validation GT (folders or METS, repeatable); else split off the training GT')
@click.option('--val-fraction', default=0.1, show_default=True,
              help='share of the lines for validation, taken as whole works or pages')
@click.option('--split-by', type=click.Choice(['work', 'page']), default='work', show_default=True,
              help='unit of the validation split: line folders / workspaces (work) or METS pages (page)')
@click.option('--install-dir', type=click.Path(file_okay=False),
              help='where NAME.onnx goes (default: the OCR-D data resource location of ocrd-ppocr-recognize)')
@click.option('--overwrite', is_flag=True, help='replace an existing model of that name')
@click.option('--epochs', default=10, show_default=True)
@click.option('--batch-size', default=8, show_default=True)
@click.option('--learning-rate', default=5e-4, show_default=True)
@click.option('--trainable', type=click.Choice(['neck', 'stage', 'all']), default='neck', show_default=True,
              help="'neck': backbone frozen (runs in ONNX Runtime, fast on CPU); "
                   "'stage': also the backbone's last stage; 'all': every layer")
@click.option('--augment', default='all', show_default=True,
              help='augmentations: all, none, or a list of margin,rotate,scale,blur,noise,contrast,binarise')
@click.option('--augment-probability', default=0.5, show_default=True, help='of each augmentation per line')
@click.option('--patience', default=3, show_default=True, help='epochs without improvement before stopping')
@click.option('--seed', default=1, show_default=True, help='fixes data order and augmentation')
@click.option('--max-steps', default=0, show_default=True, help='stop after this many batches (0: no limit)')
@click.option('--stop-after-epoch', default=0, show_default=True,
              help='end this run after that epoch, keeping the schedule of --epochs (continue with --resume)')
@click.option('--threads', default=0, show_default=True, help='CPU threads (0: all)')
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
def main(ground_truth, name, base, dictionary, file_grp, val_paths, val_fraction, split_by, install_dir,
         overwrite, epochs, batch_size, learning_rate, trainable, augment, augment_probability, patience,
         seed, max_steps, stop_after_epoch, threads, device, resume, work_dir, patch, patch_base=None):
    """Fine-tune a PP-OCR CTC recogniser on GROUND_TRUTH: folders of line
    images with .gt.txt beside them, or METS workspaces (mets.xml or their
    folder) whose --file-grp PAGE lines carry TextEquiv.

    Characters the GT uses and the base dictionary lacks are added to the
    model. The result NAME.onnx (dictionary in its metadata, and NAME.txt)
    is installed so that `ocrd-ppocr-recognize -P model NAME` finds it; a
    report (NAME.report.json, NAME.cer.png) goes beside it.
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


def run(ground_truth, name, base, dictionary, file_grp, val_paths, val_fraction, split_by, install_dir,
        overwrite, epochs, batch_size, learning_rate, trainable, augment, augment_probability, patience,
        seed, max_steps, stop_after_epoch, threads, device, resume, work_dir, patch, patch_base=None):
    try:
        import torch
    except ImportError:
        raise click.ClickException('training needs PyTorch: pip install "ocrd_ppocr[train]" '
                                   '(or make train-deps)') from None
    import onnx
    from tqdm import tqdm

    from .augment import parse_kinds
    from .data import load_ground_truth, split_by_group
    from .report import plot_cer, write_report
    from .trainer import TrainOptions, Trainer

    if device == 'cuda' and not torch.cuda.is_available():
        raise click.ClickException('--device cuda: PyTorch sees no CUDA GPU here')
    name = name[:-5] if name.endswith('.onnx') else name
    if not name or '/' in name or os.sep in name:
        raise click.ClickException(f'--output {name!r}: give a plain model name, not a path '
                                   '(use --install-dir for the folder)')
    out_dir = Path(install_dir) if install_dir else target_dir('data', EXECUTABLE)
    model_path = out_dir / f'{name}.onnx'
    if model_path.exists() and not overwrite:
        raise click.ClickException(f'{model_path} exists: choose another name or add --overwrite')
    base_path = find_model(base)
    dictionary = dictionary or dictionary_beside(base_path)
    options = TrainOptions(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                           trainable=trainable, augment=parse_kinds(augment),
                           augment_probability=augment_probability, patience=patience, seed=seed,
                           threads=threads, device=device, max_steps=max_steps,
                           stop_after_epoch=stop_after_epoch)
    log = click.echo
    lines, skipped = load_ground_truth(ground_truth, file_grp, split_by, log)
    if val_paths:
        train_lines, (val_lines, val_skipped) = lines, load_ground_truth(val_paths, file_grp, split_by, log)
        skipped += val_skipped
    else:
        train_lines, val_lines = split_by_group(lines, val_fraction, seed)
    for source, reason in skipped[:20]:
        log(f'skipped {source}: {reason}')
    if len(skipped) > 20:
        log(f'... and {len(skipped) - 20} more lines skipped')
    log(f'{len(train_lines)} training lines ({len({l.group for l in train_lines})} works/pages), '
        f'{len(val_lines)} validation lines ({len({l.group for l in val_lines})})')

    trainer = Trainer(base_path, train_lines, val_lines, options, dictionary=dictionary, log=log)
    if trainer.added:
        log(f"characters added to the dictionary: {' '.join(shown(char) for char in trainer.added)}")
    own_work_dir = not work_dir
    work_dir = Path(work_dir) if work_dir else default_work_dir(name, out_dir)
    log(f'checkpoints in {work_dir} (continue an interrupted run with --resume {work_dir / "checkpoint.pt"})')
    if resume:
        trainer.resume(resume)
    started = time.time()

    def progress(epoch, total):
        return tqdm(total=total, desc=f'epoch {epoch}', unit='line', file=sys.stderr, leave=False,
                    disable=None)

    history = trainer.fit(work_dir, progress)
    seconds = time.time() - started
    exported = trainer.export()
    out_dir.mkdir(parents=True, exist_ok=True)
    if patch:
        from ..weight_patch import make_patch
        patch_base_path = find_model(patch_base) if patch_base else base_path
        model_bytes = make_patch(patch_base_path, os.path.basename(patch_base_path), exported, patch)
    else:
        model_bytes = exported.SerializeToString()
    partial = model_path.with_name(model_path.name + '.part')
    partial.write_bytes(model_bytes)
    partial.replace(model_path)
    (out_dir / f'{name}.txt').write_text('\n'.join(trainer.dictionary) + '\n', encoding='utf-8')
    check = trainer.compare_export(model_path, val_lines)
    log(f'exported model reads {100 * check["same_text_share"]:.1f} % of the validation lines exactly as '
        f'the PyTorch model (largest probability difference {check["max_probability_difference"]:.2g}); '
        f'CER through ocrd-ppocr-recognize\'s engine {100 * check["engine_cer"]:.2f} %')
    trained_epochs = [e for e in history.epochs if e['epoch'] > 0]
    seen = sum(e.get('lines', 0) for e in trained_epochs)
    train_seconds = sum(e.get('seconds', 0) for e in trained_epochs)
    report = {
        'model': model_path.name, 'base': os.path.basename(base_path), 'onnx': onnx.__version__,
        'command': ' '.join(['ocrd-ppocr-train'] + sys.argv[1:]), 'resumed_from': resume,
        'options': {k: list(v) if isinstance(v, tuple) else v for k, v in vars(options).items()},
        'ground_truth': [str(p) for p in ground_truth], 'validation': [str(p) for p in val_paths] or 'split',
        'train_lines': len(train_lines), 'val_lines': len(val_lines), 'skipped': len(skipped),
        'skipped_lines': [f'{source}: {reason}' for source, reason in skipped],
        'val_groups': sorted({l.group for l in val_lines}),
        'added_characters': trainer.added, 'history': history.epochs,
        'base_val_cer': history.epochs[0]['val_cer'], 'best_epoch': history.best_epoch,
        'best_val_cer': history.best_cer, 'export_check': check,
        'training_seconds': round(seconds, 1),
        'lines_per_second': round(seen / max(train_seconds, 1e-6), 2),
        'torch': torch.__version__, 'device': device, 'threads': torch.get_num_threads(),
    }
    write_report(out_dir / f'{name}.report.json', report)
    plot_cer(out_dir / f'{name}.cer.png', history.epochs, f'{name}: validation CER per epoch')
    finished = not (options.stop_after_epoch and history.epochs[-1]['epoch'] < epochs)
    if own_work_dir and finished:  # nothing left to resume: the checkpoints (tens of MB) go
        shutil.rmtree(work_dir, ignore_errors=True)
    log(f'{model_path}: best validation CER {100 * history.best_cer:.2f} % (epoch {history.best_epoch}; '
        f'base model {100 * history.epochs[0]["val_cer"]:.2f} %); use it with '
        f'ocrd-ppocr-recognize -P model {name}')
