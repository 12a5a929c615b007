"""ocrd-ppocr-suggest: which lines to transcribe next.

Reads every line of a workspace (a PAGE fileGrp) or of folders of line
images with a model or, better, an ensemble (ocrd-ppocr-train --folds), and
ranks the lines by how much transcribing them would teach the models
(Reul et al. 2018's active learning): first the lines whose models
disagree most (engine.voting.disagreement), then those read with the
lowest confidence. Score = disagreement + (1 - voted confidence).

Writes the ranking as TSV (rank, score, disagreement, confidence, line,
reading) and, for a workspace, a new PAGE fileGrp in which every line
holds the voted reading (TextEquiv with @conf: a first draft for the
transcriber) and `@custom` "suggest {rank:N; score:S;}", so the lines can
be corrected in a PAGE editor in that order; then retrain on that fileGrp.
"""
import os
import re
from pathlib import Path

import click

from .engine.ensemble import EnsembleRecognizer
from .engine.session import ModelError
from .engine.voting import disagreement
from .processors.text_segments import set_text
from .predict import find_recognizer, line_images, recognizer_for


def rank(recognizer, crops):
    """[(score, disagreement, voted LineResult)] per crop."""
    if isinstance(recognizer, EnsembleRecognizer):
        readings = recognizer.read_all(crops)
        voted = recognizer.vote(readings)
        spread = [disagreement(list(line), v) for line, v in zip(zip(*readings), voted)]
    else:
        voted = recognizer.recognize(crops)
        spread = [0.0] * len(voted)
    return [(s + (1 - v.confidence), s, v) for s, v in zip(spread, voted)]


def folder_lines(paths):
    """[(name, crop)] of the line images in `paths`."""
    import cv2

    lines = []
    for path, _, _ in line_images(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 2:
            lines.append((str(path), image))
    return lines


def workspace_lines(mets, file_grp):
    """(workspace, [(file, pcgts)], [(name, crop, file, TextLine)]) of a workspace's PAGE fileGrp,
    cut as recognition and training cut them (processors/images.py: the same
    image choice, feature_filter binarized, dewarp grid and crop)."""
    import logging

    from ocrd import Resolver
    from ocrd_modelfactory import page_from_file
    from ocrd_utils import MIMETYPE_PAGE, pushd_popd

    from .processors.images import line_images, read_page
    from .training.data import default_feature_filter

    workspace = Resolver().workspace_from_url(str(Path(mets).resolve()), download=False)
    files = list(workspace.find_files(file_grp=file_grp, mimetype=MIMETYPE_PAGE))
    if not files:
        raise click.ClickException(f'{mets}: no PAGE files in fileGrp {file_grp} '
                                   f'(fileGrps: {", ".join(workspace.mets.file_groups)})')
    pages, lines = [], []
    feature_filter, log = default_feature_filter(), logging.getLogger('ocrd_ppocr.suggest')
    for file in files:
        with pushd_popd(workspace.directory):
            pcgts = page_from_file(workspace.download_file(file))
            try:
                page_image = read_page(workspace, pcgts, file.pageId, feature_filter, log)
                regions = pcgts.get_Page().get_AllRegions(classes=['Text'], order='reading-order')
                cut, _ = line_images(workspace, regions, page_image, feature_filter, log=log)
            except Exception as err:
                raise click.ClickException(f'page {file.pageId}: cannot load its image '
                                           f'({str(err).splitlines()[0]})') from None
        pages.append((file, pcgts))
        lines += [(f'{file.pageId}/{item.line.id}', item.crop, file, item.line) for item in cut]
    return workspace, pages, lines


def mark(line, rank_number, score, voted):
    """The voted reading as the line's only text (TextEquiv with conf; its
    Words, whose text would contradict it, removed), the rank in @custom."""
    line.set_Word([])
    set_text(line, ' '.join(voted.text.split()), voted.confidence, overwrite=True)
    custom = re.sub(r'\s*suggest \{[^}]*\}', '', line.get_custom() or '').strip()  # an older mark of ours
    line.set_custom((custom + ' ' if custom else '') + f'suggest {{rank:{rank_number}; score:{score:.4f};}}')


def region_texts(pcgts):
    """Each text region's text: its lines' texts joined, as PAGE wants it consistent."""
    for region in pcgts.get_Page().get_AllRegions(classes=['Text']):
        texts = [line.get_TextEquiv()[0] for line in region.get_TextLine() if line.get_TextEquiv()]
        if texts:
            set_text(region, '\n'.join(te.Unicode or '' for te in texts),
                     sum(te.conf or 0 for te in texts) / len(texts), overwrite=True)


@click.command(context_settings={'help_option_names': ['-h', '--help']})
@click.argument('paths', nargs=-1, required=True, type=click.Path(exists=True))
@click.option('-m', '--model', required=True,
              help='an ensemble (ocrd-ppocr-train -o NAME with folds; NAME or DIR/NAME), a comma-separated list '
                   'of models, or one model (then by confidence alone)')
@click.option('-I', '--file-grp', 'file_grp', default='OCR-D-GT-SEG-LINE', show_default=True,
              help='for a workspace: the PAGE fileGrp whose lines are ranked')
@click.option('-O', '--output-file-grp', default='OCR-D-SUGGEST', show_default=True,
              help='for a workspace: the new fileGrp with the marked lines')
@click.option('-o', '--output', type=click.Path(dir_okay=False), default='suggest.tsv', show_default=True,
              help='the ranking (TSV)')
@click.option('-n', '--top', default=0, help='list only the first N lines (0: all)')
@click.option('--threads', default=0, show_default=True, help='ONNX Runtime threads (0: one per core)')
def main(paths, model, file_grp, output_file_grp, output, top, threads):
    """Rank the lines of PATHS (a METS workspace, or folders / files of line
    images) by how much transcribing them would teach MODEL: first the lines
    its voters disagree on, then those read with low confidence."""
    try:
        recognizer = recognizer_for(find_recognizer(model), threads=threads, top_k=3)
    except ModelError as err:
        raise click.ClickException(str(err).splitlines()[0]) from None
    mets = _mets_of(paths)
    if mets:
        workspace, pages, lines = workspace_lines(mets, file_grp)
        if output_file_grp in workspace.mets.file_groups:
            raise click.ClickException(f'fileGrp {output_file_grp} exists in {mets}: name another with -O')
    else:
        lines = folder_lines(paths)
    if not lines:
        raise click.ClickException(f'no text lines in {", ".join(paths)}')
    scored = rank(recognizer, [line[1] for line in lines])
    order = sorted(range(len(lines)), key=lambda i: -scored[i][0])
    with open(output, 'w', encoding='utf-8') as out:
        out.write('rank\tscore\tdisagreement\tconfidence\tline\treading\n')
        for number, i in enumerate(order[:top or None], 1):
            score, spread, voted = scored[i]
            out.write(f'{number}\t{score:.4f}\t{spread:.4f}\t{voted.confidence:.4f}\t{lines[i][0]}\t'
                      f'{" ".join(voted.text.split())}\n')
    if mets:
        for number, i in enumerate(order, 1):
            mark(lines[i][3], number, scored[i][0], scored[i][2])
        for _, pcgts in pages:
            region_texts(pcgts)
        write_pages(workspace, pages, output_file_grp)
    click.echo(f'{len(lines)} lines ranked ({output})' +
               (f'; marked in fileGrp {output_file_grp}' if mets else '') +
               '; first: ' + ', '.join(lines[i][0] for i in order[:3]))


def write_pages(workspace, pages, file_grp):
    """The marked PAGE files as a new fileGrp (core's add_file, then one METS save)."""
    from ocrd_models.ocrd_page import to_xml
    from ocrd_utils import MIMETYPE_PAGE, pushd_popd

    with pushd_popd(workspace.directory):
        for file, pcgts in pages:
            file_id = f'{file_grp}_{file.pageId}'
            pcgts.set_pcGtsId(file_id)
            workspace.add_file(file_grp, file_id=file_id, page_id=file.pageId, mimetype=MIMETYPE_PAGE,
                               local_filename=os.path.join(file_grp, file_id + '.xml'), content=to_xml(pcgts))
    workspace.save_mets()


def _mets_of(paths):
    """The METS file when PATHS name one workspace (its mets.xml or its folder)."""
    if len(paths) != 1:
        return None
    path = Path(paths[0])
    if path.is_file() and path.suffix == '.xml':
        return path
    if path.is_dir() and (path / 'mets.xml').is_file():
        return path / 'mets.xml'
    return None


if __name__ == '__main__':
    main()
