"""Ground truth for training: text lines with their transcription.

Two forms, as OCR-D users have them:
- folders of line images, each beside a `<stem>.gt.txt` (the tesstrain /
  kraken / calamari convention); a line's group (for splitting) is its folder,
  so a folder per work or per page keeps a work's lines on one side;
- METS workspaces with a PAGE fileGrp whose TextLines carry TextEquiv; lines
  are cut by ocrd-ppocr-recognize's own path (processors.images: the same
  image choice with its default feature_filter, the same crop), so training
  sees the crops recognition sees; a line's group is its page, or its workspace.

Lines with empty text or unreadable images are reported and skipped.
"""
import os
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..engine.orthography import line_end_hyphen_text

SHOWN_REASONS = 5  # skipped lines named when none is usable
IMAGE_SUFFIXES = ('.png', '.bin.png', '.nrm.png', '.jpg', '.jpeg', '.tif', '.tiff')


class GroundTruthError(ValueError):
    """Ground truth that cannot be used at all (nothing found, unreadable METS...)."""


@dataclass
class Line:
    image: np.ndarray  # uint8 BGR crop of one upright text line
    text: str  # NFC, whitespace collapsed (as ../shared/eval/evaluate.py compares)
    group: str  # work or page: lines of one group stay on one side of a split
    source: str  # where it came from, for reports


def normalise(text):
    """The text as the evaluation compares it: NFC, runs of whitespace as one
    space; a line-end hyphenation mark (⸗, —, ¬...) written -, as OCR-D GT and
    our recogniser's default do."""
    return line_end_hyphen_text(unicodedata.normalize('NFC', ' '.join((text or '').split())))


def load_ground_truth(paths, file_grp='OCR-D-GT-SEG-LINE', split_by='work', log=print, margin=None):
    """Lines of every folder or METS file in `paths`; (lines, skipped) where
    skipped lists (source, reason). Workspace lines are cut with `margin`
    (lines_from_workspace); line images in folders are taken as they are."""
    lines, skipped = [], []
    for path in paths:
        path = Path(path)
        if path.is_dir() and (path / 'mets.xml').is_file() and not any(path.rglob('*.gt.txt')):
            path = path / 'mets.xml'
        if path.is_file() and path.suffix == '.xml':
            found, lost = lines_from_workspace(path, file_grp, split_by, margin=margin)
        elif path.is_dir():
            found, lost = lines_from_folder(path)
        else:
            raise GroundTruthError(f'{path}: neither a folder of line images with .gt.txt nor a METS file')
        log(f'{path}: {len(found)} lines' + (f', {len(lost)} skipped' if lost else ''))
        lines += found
        skipped += lost
    if not lines:
        reasons = '; '.join(f'{source}: {reason}' for source, reason in skipped[:SHOWN_REASONS])
        more = f' (and {len(skipped) - SHOWN_REASONS} more)' if len(skipped) > SHOWN_REASONS else ''
        raise GroundTruthError(f"no usable text lines in {', '.join(map(str, paths))}"
                               + (f': skipped {reasons}{more}' if skipped else ''))
    return lines, skipped


def _image_beside(gt_file):
    stem = str(gt_file)[:-len('.gt.txt')]
    for suffix in IMAGE_SUFFIXES:
        if os.path.isfile(stem + suffix):
            return stem + suffix
    return None


def read_image(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.shape[0] < 2 or image.shape[1] < 2:
        return None
    return image


def lines_from_folder(root):
    """Line images with `.gt.txt` anywhere below `root`; group: the folder."""
    lines, skipped = [], []
    root = Path(root)
    for gt_file in sorted(root.rglob('*.gt.txt')):
        source = str(gt_file.relative_to(root))
        text = normalise(gt_file.read_text(encoding='utf-8'))
        image_path = _image_beside(gt_file)
        if not text:
            skipped.append((source, 'empty text'))
        elif image_path is None:
            skipped.append((source, 'no image beside it'))
        else:
            image = read_image(image_path)
            if image is None:
                skipped.append((source, 'unreadable image'))
            else:
                group = str(gt_file.parent.relative_to(root)) or root.name
                lines.append(Line(image, text, f'{root.name}/{group}', source))
    return lines, skipped


def default_feature_filter():
    """ocrd-ppocr-recognize's default feature_filter (from ocrd-tool.json)."""
    import json
    tool = json.loads((Path(__file__).parent.parent / 'ocrd-tool.json').read_text(encoding='utf-8'))
    return tool['tools']['ocrd-ppocr-recognize']['parameters']['feature_filter']['default']


def lines_from_workspace(mets, file_grp, split_by='work', feature_filter=None, margin=None):
    """TextLines with text of one METS workspace's PAGE fileGrp, cut by the
    path ocrd-ppocr-recognize reads them through (processors.images:
    AlternativeImages at page, region and line level chosen with its
    feature_filter, missing files passed over, the dewarp grid, the same
    crop; with `margin`, as a recogniser with that reading margin sees it:
    LineCrop.with_margin)."""
    import logging

    from ocrd import Resolver
    from ocrd_modelfactory import page_from_file
    from ocrd_utils import MIMETYPE_PAGE, getLogger, pushd_popd

    from ..processors.images import line_images, read_page

    getLogger('ocrd').setLevel('ERROR')
    if feature_filter is None:
        feature_filter = default_feature_filter()
    try:
        workspace = Resolver().workspace_from_url(str(Path(mets).resolve()), download=False)
    except Exception as err:
        raise GroundTruthError(f'{mets}: not a readable METS file ({err})') from None
    files = list(workspace.find_files(file_grp=file_grp, mimetype=MIMETYPE_PAGE))
    if not files:
        grps = ', '.join(workspace.mets.file_groups)
        raise GroundTruthError(f'{mets}: no PAGE files in fileGrp {file_grp} (fileGrps: {grps})')
    name = Path(workspace.directory).name
    log = logging.getLogger('ocrd_ppocr.training')  # warnings (an AlternativeImage passed over) reach the user
    lines, skipped = [], []
    for file in files:
        try:
            with pushd_popd(workspace.directory):  # local filenames are relative to the workspace
                pcgts = page_from_file(workspace.download_file(file))
                page_image = read_page(workspace, pcgts, file.pageId, feature_filter, log)
                regions = pcgts.get_Page().get_AllRegions(classes=['Text'], order='reading-order')
                cut, lost = line_images(workspace, regions, page_image, feature_filter, log=log)
        except Exception as err:
            skipped.append((f'{name}/{file.pageId}', f'page unreadable: {str(err).splitlines()[0]}'))
            continue
        group = name if split_by == 'work' else f'{name}/{file.pageId}'
        skipped += [(f'{name}/{file.pageId}/{line.id}', reason) for line, reason in lost]
        for item in cut:
            source = f'{name}/{file.pageId}/{item.line.id}'
            equivs = item.line.get_TextEquiv()
            text = normalise(equivs[0].Unicode if equivs else '')
            if not text:
                skipped.append((source, 'empty text'))
                continue
            image = item.crop.image if margin is None else item.crop.with_margin(margin)
            lines.append(Line(image, text, group, source))
    return lines, skipped


def split_by_group(lines, fraction, seed):
    """(train, validation): whole groups (works or pages) go to validation
    until it holds about `fraction` of the lines; never a group on both sides."""
    groups = sorted({line.group for line in lines})
    if len(groups) < 2:
        raise GroundTruthError(f'all {len(lines)} lines come from one work/page ({groups[0]}): give a '
                               'separate validation set (--val), the split never cuts a page apart')
    random.Random(seed).shuffle(groups)
    wanted, chosen, count = fraction * len(lines), set(), 0
    sizes = {group: sum(1 for line in lines if line.group == group) for group in groups}
    for group in groups:
        if count >= wanted and chosen:
            break
        if len(chosen) + 1 < len(groups):
            chosen.add(group)
            count += sizes[group]
    return [l for l in lines if l.group not in chosen], [l for l in lines if l.group in chosen]
