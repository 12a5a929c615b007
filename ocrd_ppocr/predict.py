"""ocrd-ppocr-predict: recognise line images outside OCR-D, in the layout of
tesstrain, kraken and calamari (`<stem>.png|jpg|tif|bin.png|nrm.png`),
writing `<stem>.pred.txt` for each."""
import os
import sys
import time
from pathlib import Path

import click

from .engine.ensemble import EnsembleRecognizer
from .engine.int8 import PRECISIONS
from .engine.model_choice import AUTO, AUTO_MODELS, FRAKTUR, GENERAL, build_chooser
from .engine.orthography import text_options
from .engine.stray_marks import BARE_ALTERNATIVES, drop_stray_marks
from .engine.recognize import TextRecognizer
from .engine.session import ModelError

# longest first, so that x.bin.png has the stem x
IMAGE_SUFFIXES = ('.bin.png', '.nrm.png', '.png', '.jpg', '.jpeg', '.tif', '.tiff')
BATCH = 64  # lines read (and held in memory) at a time


def find_recognizer(value, dictionary=None, log=None):
    """[(model, dictionary)]: one model, the members of an ensemble
    (NAME.ensemble.json, a path or an installed resource) or a
    comma-separated list of models; names are looked up as
    ocrd-ppocr-recognize and ocrd-ppocr-train look them up."""
    from .resources import recognizer_members
    from .training.cli import dictionary_beside, find_model

    return recognizer_members(value, find_model, lambda model: dictionary or dictionary_beside(model))


def recognizer_for(members, **options):
    """A TextRecognizer for one model, an EnsembleRecognizer for several."""
    if len(members) == 1:
        return TextRecognizer(*members[0], **options)
    return EnsembleRecognizer(members, **options)


def stem_of(path):
    """The line's stem if `path` is a line image, else None."""
    name = str(path)
    for suffix in IMAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return None


def line_images(paths):
    """[(image path, output stem relative to its argument, argument root)],
    one image per stem (the first suffix of IMAGE_SUFFIXES found wins)."""
    found = {}
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob('*') if p.is_file()) if path.is_dir() else [path]
        root = path if path.is_dir() else path.parent
        for file in files:
            stem = stem_of(file)
            if stem is None or stem.endswith('.pred') or stem.endswith('.gt'):
                continue
            found.setdefault(stem, (file, Path(stem).relative_to(root), root))
    return list(found.values())


@click.command(context_settings={'help_option_names': ['-h', '--help']})
@click.argument('paths', nargs=-1, required=True, type=click.Path(exists=True))
@click.option('-m', '--model', default=AUTO, show_default=True,
              help="recogniser: 'auto' (as ocrd-ppocr-recognize: each folder's lines read by the better of "
                   f"{AUTO_MODELS[GENERAL]} and {AUTO_MODELS[FRAKTUR]}, chosen as for a page), "
                   'an installed resource name, an .onnx path, an ensemble (NAME.ensemble.json, '
                   'or NAME / DIR/NAME as ocrd-ppocr-train -o NAME [--install-dir DIR] wrote it), or a '
                   'comma-separated list of models that vote')
@click.option('--dictionary', help='dictionary file, for a model without `character` metadata')
@click.option('-o', '--output-dir', type=click.Path(file_okay=False),
              help='write the .pred.txt files here (below it, as below each folder given) instead of beside the images')
@click.option('--script', type=click.Choice(['any', 'latin']), default='any', show_default=True,
              help="as ocrd-ppocr-recognize's `script`")
@click.option('--char-whitelist', default='', help="as ocrd-ppocr-recognize's `char_whitelist`")
@click.option('--char-blacklist', default='', help="as ocrd-ppocr-recognize's `char_blacklist`")
@click.option('--orthography', type=click.Choice(['as-read', 'fraktur', 'modern']), default='as-read',
              show_default=True, help="as ocrd-ppocr-recognize's `orthography`")
@click.option('--hyphen', type=click.Choice(['-', '⸗', '¬', 'as-read']), default='-', show_default=True,
              help="as ocrd-ppocr-recognize's `hyphen`")
@click.option('--quotes', type=click.Choice(['typographic', 'as-read']), default='typographic', show_default=True,
              help="as ocrd-ppocr-recognize's `quotes`")
@click.option('--punctuation', type=click.Choice(['tight', 'as-read']), default='tight', show_default=True,
              help="as ocrd-ppocr-recognize's `punctuation`")
@click.option('--fraktur-ij', type=click.Choice(['I', 'as-read']), default='I', show_default=True,
              help="as ocrd-ppocr-recognize's `fraktur_ij`")
@click.option('--accents', type=click.Choice(['page', 'as-read']), default='page', show_default=True,
              help="as ocrd-ppocr-recognize's `accents` (the lines of one folder, up to a batch, count as a page)")
@click.option('--batch-size', default=1, show_default=True, help="as ocrd-ppocr-recognize's `batch_size`")
@click.option('--threads', default=0, show_default=True, help='ONNX Runtime threads (0: one per core)')
@click.option('--device', type=click.Choice(['cpu', 'cuda']), default='cpu', show_default=True)
@click.option('--precision', type=click.Choice(PRECISIONS), default='float32', show_default=True,
              help="as ocrd-ppocr-recognize's `precision`")
def main(paths, model, dictionary, output_dir, script, char_whitelist, char_blacklist, orthography, hyphen, quotes,
         punctuation, fraktur_ij, accents, batch_size, threads, device, precision):
    """Recognise the line images in PATHS (files, or folders searched
    recursively) and write `<stem>.pred.txt` beside each (or below
    --output-dir). Where a `<stem>.gt.txt` lies beside an image, the CER of
    the readings against it is reported at the end."""
    options = dict(threads=threads, device=device, batch_size=batch_size, precision=precision,
                   top_k=BARE_ALTERNATIVES if accents == 'page' else 1,  # the bare letter among the alternatives
                   script=script, whitelist=char_whitelist, blacklist=char_blacklist)
    chooser = None
    try:
        members = find_recognizer(AUTO_MODELS[GENERAL] if model == AUTO else model, dictionary)
        recognizer = recognizer_for(members, **options)
        if model == AUTO:
            fraktur = find_recognizer(AUTO_MODELS[FRAKTUR])[0]
            chooser = build_chooser(recognizer, *fraktur, **options)
            members = members + [fraktur]  # for the summary: both are used
    except ModelError as err:
        raise click.ClickException(str(err).splitlines()[0]) from None
    images = line_images(paths)
    if not images:
        raise click.ClickException(f'no line images ({", ".join(IMAGE_SUFFIXES)}) in {", ".join(paths)}')
    started, pairs, unreadable, member_pairs = time.time(), [], [], {}
    for chunk in chunks(images):
        batch = [(item, _read(item[0])) for item in chunk]
        unreadable += [str(item[0]) for item, image in batch if image is None]
        batch = [(item, image) for item, image in batch if image is not None]
        crops = [image for _, image in batch]
        if chooser:  # each folder's lines as a page: its sample decides the model
            readings = [chooser.read_page(crops)[0]]
        else:
            readings = recognizer.read_all(crops) if len(members) > 1 else [recognizer.recognize(crops)]
        results = recognizer.vote(readings) if len(readings) > 1 else readings[0]
        if accents == 'page':
            results, readings = drop_stray_marks(results), [drop_stray_marks(reading) for reading in readings]
        for number, (((path, relative, root), _), result) in enumerate(zip(batch, results)):
            text = ' '.join(text_options(result, hyphen, orthography, quotes, punctuation, fraktur_ij).text.split())
            target = Path(output_dir) / relative if output_dir else root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(f'{target}.pred.txt').write_text(text + '\n', encoding='utf-8')
            gt = Path(f'{root / relative}.gt.txt')
            if gt.is_file():
                truth = gt.read_text(encoding='utf-8')
                pairs.append((truth, text))
                for member, reading in enumerate(readings):  # each voter's own reading, for comparison
                    member_pairs.setdefault(member, []).append(
                        (truth, text_options(reading[number], hyphen, orthography, quotes, punctuation, fraktur_ij).text))
    for path in unreadable:
        click.echo(f'{path}: not a readable image, skipped', err=True)
    seconds = time.time() - started
    names = ', '.join(os.path.basename(m) for m, _ in members)
    click.echo(f'{len(images) - len(unreadable)} lines read in {seconds:.1f} s with {names}'
               + (' (chosen per folder and line)' if chooser else ' (voting)' if len(members) > 1 else ''))
    if pairs:
        click.echo(f'CER {100 * line_cer(pairs):.2f} % on the {len(pairs)} lines with a .gt.txt')
        if len(readings) > 1:
            click.echo('CER of each model alone: ' + ' / '.join(f'{100 * line_cer(member_pairs[m]):.2f}'
                                                                 for m in sorted(member_pairs)) + ' %')
    if unreadable:
        sys.exit(1)


def chunks(images):
    """The images in runs of at most BATCH lines of one folder each (a
    folder is a page or a book: `auto` chooses its model per run)."""
    run = []
    for item in images:
        if run and (len(run) == BATCH or Path(item[1]).parent != Path(run[-1][1]).parent):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def line_cer(pairs):
    """CER of (ground truth, reading) pairs as the trainer (and evaluate.py) count it on lines."""
    from .cer import cer
    from .training.data import normalise

    return cer(pairs, normalise)


def _read(path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return image if image is not None and min(image.shape[:2]) >= 2 else None


if __name__ == '__main__':
    main()
