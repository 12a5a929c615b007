"""Coordinates that stay true on dewarped pages.

ocrd-ppocr-dewarp writes the dewarped page as an AlternativeImage (feature
`dewarped`) and stores the sampling grid beside it, named by a MetadataItem
(type `other`, name `ocrd-ppocr-dewarp-grid`, value: the grid file's path in
the workspace). Core's image_from_page hands that image out with the
transform of the image it was made from (it cannot invert a mesh warp), so
pixel positions on it are not positions on the original. `attach_grid` finds
the grid for a page image and puts it into the image's coords dict; then

- `to_source_frame` (used by geometry.to_page_polygon and the word placer)
  maps polygons found on the dewarped pixels back through the grid into the
  frame core's transform describes, before that transform takes them to
  absolute page coordinates: Coords stay valid on the original image;
- `to_image_frame` (used by the recogniser) maps polygons from that frame
  onto the dewarped pixels, so lines are cut out of the dewarped image.

An image cut out of the dewarped page (a region's area, for region-level
detection: images.dewarped_area) carries the grid and its offset on the
dewarped page (OFFSET_KEY), which both functions take into account.

Without a grid (any other page), both are the identity.
"""
import os
from functools import lru_cache

import numpy as np

from ..engine.dewarp import SamplingGrid, densify

GRID_ITEM = 'ocrd-ppocr-dewarp-grid'
GRID_KEY = 'ppocr_dewarp_grid'  # the key in core's coords dict
# where an image cut out of the dewarped page (a region's area) lies on it:
# (x, y) of its top left corner in dewarped page pixels
OFFSET_KEY = 'ppocr_dewarp_offset'


def grid_items(pcgts):
    """The grid MetadataItems of a PAGE document, newest last."""
    metadata = pcgts.get_Metadata()
    items = metadata.get_MetadataItem() if metadata else []
    return [item for item in items if item.get_type() == 'other' and item.get_name() == GRID_ITEM]


def attach_grid(image, pcgts, workspace_directory, logger=None, page_id=None):
    """Put the sampling grid of a dewarped page image (a SegmentImage) into
    its coords, if it is the dewarped image of a grid MetadataItem. Returns the image."""
    if 'dewarped' not in image.coords.get('features', '').split(','):
        return image
    size = (image.pixels.shape[1], image.pixels.shape[0])
    for item in reversed(grid_items(pcgts)):
        path = os.path.join(workspace_directory or '', item.get_value())
        try:
            grid = _load(path, os.path.getmtime(path))
        except (OSError, ValueError, KeyError) as err:
            if logger:
                logger.warning('page %s: dewarping grid %s unreadable (%s)', page_id, path, err)
            continue
        if grid.size == size:
            image.coords[GRID_KEY] = grid
            if logger:
                logger.info('page %s: dewarped image, polygons mapped through the grid %s', page_id,
                            item.get_value())
            return image
    if logger:
        logger.warning('page %s: dewarped image (%s) without a matching ocrd-ppocr-dewarp grid: '
                       'Coords follow core\'s transform only and may be off on the original image',
                       page_id, image.coords.get('features'))
    return image


@lru_cache(maxsize=8)
def _load(path, mtime):
    with open(path, 'rb') as fobj:
        return SamplingGrid.load(fobj)


def _step(grid):
    """Densify polygons to a quarter of a grid cell, so they follow the mesh."""
    return max(2.0, min(grid.size[0] / (grid.cols - 1), grid.size[1] / (grid.rows - 1)) / 4)


def to_source_frame(points, coords):
    """Polygon on the (possibly dewarped) image -> the frame of core's transform."""
    grid = coords.get(GRID_KEY)
    if grid is None:
        return points
    points = np.asarray(points, dtype=np.float64) + coords.get(OFFSET_KEY, (0.0, 0.0))
    return grid.to_source(densify(points, _step(grid)))


def to_image_frame(points, coords):
    """Polygon in the frame of core's transform -> the (possibly dewarped) image."""
    grid = coords.get(GRID_KEY)
    if grid is None:
        return points
    return grid.to_dewarped(densify(np.asarray(points, dtype=np.float64), _step(grid))) - coords.get(OFFSET_KEY, (0.0, 0.0))
