"""Which image a text line is read from, and how it is cut out: the one path
used by ocrd-ppocr-recognize, ocrd-ppocr-detect at level=region and
ocrd-ppocr-train (PAGE ground truth), so that training sees the pixels
recognition reads.

The rule, the same at page, region and line level:
- among the segment's AlternativeImages, those whose @comments name a
  feature of `feature_filter` are never read; of the others, core's choice
  (the latest with the most features core cannot redo itself, i.e. other than
  cropped/deskewed/rotated) is taken;
- an AlternativeImage whose file does not exist is passed over with a
  warning, and the choice falls to the next one, down to the parent's image
  (at page level the original, which core crops, rotates and deskews as
  PAGE says): Coords are absolute, so nothing moves, only the missing image's
  pixel features (binarised, despeckled...) are lost. OCR-D GT repositories
  often name binarised images they do not ship;
- a region or line is cut from its own image only where it has a usable
  AlternativeImage; else from its parent's (region) or the page image, so a
  line is never masked by its region's outline without reason;
- on a dewarped page (a page image with an ocrd-ppocr-dewarp grid) the grid
  maps each line polygon onto the dewarped pixels; AlternativeImages of
  regions and lines are not read there (core would cut them out of the
  dewarped page at undewarped positions);
- a line with a polygon of less than 4 pixels' area (after repairing a
  self-intersecting outline) or entirely outside its image is skipped, and
  the reason returned.
"""
import os
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..engine.crop import LineCrop, crop_polygon
from ..engine.maixcam_pipeline import station_crop
from .base import SegmentImage, load_page_image, load_segment_image
from .dewarped import GRID_KEY, OFFSET_KEY, attach_grid, to_image_frame
from .geometry import coordinates_of_segment, has_polygon, valid_polygon

AUTOMATIC = {'cropped', 'deskewed', 'rotated-90', 'rotated-180', 'rotated-270'}  # core redoes these itself


@dataclass
class LineImage:
    line: object  # the TextLine
    crop: LineCrop  # the pixels read, with their transform to `coords`' image
    coords: dict  # core's transform of the image the crop was cut from


def chosen_alternative(segment, feature_filter, directory, warn=None, where=''):
    """The AlternativeImage of `segment` that is read (None: the parent's
    image or the original), by core's rule among those that pass
    `feature_filter` and whose file exists."""
    banned = {feature for feature in feature_filter.split(',') if feature}
    best, best_rank = None, -1
    for alternative in segment.get_AlternativeImage():
        features = set((alternative.get_comments() or '').split(',')) - {''}
        if features & banned:
            continue
        rank = len(features - AUTOMATIC)
        if rank < best_rank:
            continue
        name = alternative.get_filename() or ''
        if '://' not in name and not os.path.isfile(os.path.join(directory or '', name)):
            if warn:
                warn('%s: its AlternativeImage %s (%s) does not exist: passed over (read from another '
                     'AlternativeImage or the image below)', where, name, alternative.get_comments() or 'no features')
            continue
        best, best_rank = alternative, rank
    return best


@contextmanager
def only_alternative(segment, alternative):
    """`segment` seen by core with `alternative` as its only AlternativeImage
    (or none): core would otherwise fail on a missing file, and at segment
    level (ocrd 3.x image_from_segment) it loads the last AlternativeImage
    listed, not the one it chose."""
    saved = segment.get_AlternativeImage()
    segment.AlternativeImage = [alternative] if alternative is not None else []
    try:
        yield
    finally:
        segment.AlternativeImage = saved


def read_page(workspace, pcgts, page_id, feature_filter='', log=None):
    """The page image lines are cut from (a SegmentImage), with the dewarp
    grid attached where the page was dewarped by ocrd-ppocr-dewarp."""
    image = load_page_image(workspace, pcgts.get_Page(), page_id, feature_filter=feature_filter, log=log)
    return attach_grid(image, pcgts, workspace.directory, log, page_id)


def region_image(workspace, region, page_image, feature_filter='', log=None, own_only=True):
    """The image of a region: its own AlternativeImage where it has a usable
    one; else, with `own_only`, None (meaning: the page image, which lines
    are cut from), without it the region's area of the page image (what
    region-level detection reads). On a dewarped page, always the region's
    area of the dewarped page image (None with `own_only`)."""
    if page_image.coords.get(GRID_KEY) is not None:
        if region.get_AlternativeImage() and log:
            log.warning('page %s: region %s has an AlternativeImage, not read on a dewarped page '
                        '(its area of the dewarped page image is read)', page_image.page_id, region.id)
        return None if own_only else dewarped_area(region, page_image)
    warn = log.warning if log else None
    alternative = chosen_alternative(region, feature_filter, workspace.directory, warn,
                                     f'page {page_image.page_id}, region {region.id}')
    if alternative is None and own_only:
        return None
    with only_alternative(region, alternative):
        return load_segment_image(workspace, region, page_image, feature_filter=feature_filter)


def dewarped_area(segment, page_image):
    """The bounding box of a segment's polygon mapped onto a dewarped page
    image, as a SegmentImage whose coords carry the grid and the box's
    offset (so that polygons found on it map back through the grid); None
    if it has no pixels."""
    if not has_polygon(segment):
        return None
    polygon = to_image_frame(coordinates_of_segment(segment, page_image.pil, page_image.coords), page_image.coords)
    height, width = page_image.pixels.shape[:2]
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int).clip(0, [width, height])
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int).clip(0, [width, height])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    coords = dict(page_image.coords)
    offset = np.asarray(coords.get(OFFSET_KEY, (0, 0))) + (x0, y0)
    coords[OFFSET_KEY] = (float(offset[0]), float(offset[1]))
    pixels = page_image.pixels[y0:y1, x0:x1]
    return SegmentImage(page_image.pil.crop((x0, y0, x1, y1)) if page_image.pil is not None else None,
                        pixels, coords, page_image.page_id)


def line_images(workspace, regions, page_image, feature_filter='', station=False, log=None):
    """Every TextLine of `regions` cut out for reading: ([LineImage], [(line,
    reason)] for the lines skipped)."""
    warn = log.warning if log else None
    dewarped = page_image.coords.get(GRID_KEY) is not None
    cut, skipped = [], []
    for region in regions:
        parent = region_image(workspace, region, page_image, feature_filter, log) or page_image
        for line in region.get_TextLine():
            if not has_polygon(line):
                skipped.append((line, 'no readable Coords'))
                continue
            alternative = None if dewarped else chosen_alternative(
                line, feature_filter, workspace.directory, warn, f'page {page_image.page_id}, line {line.id}')
            if alternative is not None:
                with only_alternative(line, alternative):
                    image = load_segment_image(workspace, line, parent, feature_filter=feature_filter)
                if image is not None:
                    # the line's own image is the crop: its transform is the identity
                    cut.append(LineImage(line, crop_polygon(image.pixels, _frame(image.pixels), mask=False, margin=0),
                                         image.coords))
                    continue
            polygon = to_image_frame(coordinates_of_segment(line, parent.pil, parent.coords), parent.coords)
            if not has_area(polygon, parent.pixels.shape):
                skipped.append((line, 'polygon of zero area or outside the image'))
                continue
            crop = station_crop(parent.pixels, polygon) if station else crop_polygon(parent.pixels, polygon)
            cut.append(LineImage(line, crop, parent.coords))
    return cut, skipped


def _frame(image):
    height, width = image.shape[:2]
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)


def has_area(polygon, shape):
    """Whether a polygon has pixels on an image of `shape`: at least 4 pixels'
    area and not entirely outside."""
    polygon = np.asarray(polygon, dtype=np.float64)
    if len(polygon) < 3:
        return False
    x, y = polygon[:, 0], polygon[:, 1]
    # on the repaired polygon: a self-intersecting (bow-tie) outline of real
    # ink has area, though its signed (shoelace) area may cancel to zero
    area = valid_polygon(polygon).area
    inside = (x.max() > 0) and (y.max() > 0) and (x.min() < shape[1]) and (y.min() < shape[0])
    return area >= 4 and inside
