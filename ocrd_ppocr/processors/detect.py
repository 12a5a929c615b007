"""ocrd-ppocr-detect: PP-OCR DB text detection as an OCR-D segmentation step."""
import copy
import dataclasses

import cv2
import numpy as np
from ocrd import OcrdPageResult, OcrdPageResultImage
from ocrd_models.ocrd_page import (CoordsType, OrderedGroupType, ReadingOrderType,
                                   RegionRefIndexedType, TextLineType, TextRegionType)
from ocrd_utils import polygon_from_points, transform_coordinates
from PIL import Image

from ..engine.detect import DetectorOptions, TextDetector
from ..engine.maixcam_pipeline import StationDetector
from ..engine.presets import STATION
from ..engine.ink import ink_mask
from ..engine.pixels import as_bgr, as_grey
from ..engine.layout import Line, clean_lines, layout, region_outline
from .base import PpocrProcessor
from .images import read_page, region_image
from .geometry import integer_polygon, points_string, to_page_polygon

OPTION_NAMES = ('limit_side_len', 'limit_type', 'max_side_len', 'thresh', 'box_thresh',
                'unclip_ratio', 'max_candidates', 'use_dilation', 'score_mode', 'box_type')


def detector_options(parameter):
    return DetectorOptions(**{name: parameter[name] for name in OPTION_NAMES})


def fixed_for_preset(options, preset, tile_scale=0):
    """Detector options for a preset's fixed input: the whole image
    letterboxed into it (a close-up capture), or with `tile_scale` > 0 the
    page scaled by it and read in windows of that size."""
    options.fixed_shape = preset.det_shape
    options.tile_below_scale = 0
    options.tile_scale = tile_scale
    return options


def station_detector(processor, preset, model_parameter='model'):
    """MaixCDK's detection for a station preset (`maixcam`, `maixcam-fp32`):
    its box geometry, not our detector options; thresh and box_thresh, which
    MaixPy's PP_OCR.detect takes as arguments, can be given explicitly where
    the processor has them. Returns (detector, model path)."""
    model = processor.resolve_model(processor.with_preset(model_parameter, preset.det_model), 'detection')
    processor.logger.info('preset %s: the MaixCAM station\'s pipeline (engine.maixcam_pipeline)', preset.name)
    thresholds = {name: processor.with_preset(name, getattr(STATION, name))
                  for name in ('thresh', 'box_thresh') if name in processor.parameter}
    return StationDetector(model, threads=processor.parameter['num_threads'], device=processor.parameter['device'],
                           tile_scale=processor.parameter['tile_scale'],
                           settings=dataclasses.replace(STATION, **thresholds)), model


def station_line_options(processor, preset):
    """(merge, fit, min_contrast) for writing a station preset's boxes: the
    station neither merges fragments, nor fits boxes to the ink, nor drops
    faint lines, unless asked explicitly."""
    if not (preset and preset.station):
        return processor.parameter['merge_lines'], processor.parameter['fit_to_ink'], processor.parameter['min_contrast']
    return (processor.with_preset('merge_lines', False), processor.with_preset('fit_to_ink', False),
            processor.with_preset('min_contrast', 0.0))


class DetectProcessor(PpocrProcessor):
    executable = 'ocrd-ppocr-detect'

    def setup(self):
        options = detector_options(self.parameter)
        name = self.parameter['model']
        preset = self.preset()
        if preset:
            self.ensure_preset_models(preset)
        self.merge_lines, self.fit_to_ink, self.min_contrast = station_line_options(self, preset)
        if preset and preset.station:
            self.detector, model = station_detector(self, preset)
            self.logger.info('detection model %s', model)
            return
        if preset:
            name = self.with_preset('model', preset.det_model)
            fixed_for_preset(options, preset, self.parameter['tile_scale'])
        model = self.resolve_model(name, 'detection')
        self.detector = TextDetector(model, options, threads=self.parameter['num_threads'],
                                     device=self.parameter['device'])
        self.logger.info('detection model %s', model)

    def process_page_pcgts(self, *input_pcgts, page_id=None):
        """Detect text lines with the PP-OCR DB detector.

        level=page: find TextLines on the page's best image, merge fragments of
        one line, group lines into new TextRegions (paragraph-like blocks,
        columns kept apart) and write a ReadingOrder. Existing regions are
        removed with overwrite_segments, otherwise the page is left as it is.

        level=region: find TextLines inside each existing TextRegion (on the
        region's best image). Existing lines are removed with
        overwrite_segments, otherwise such regions are left as they are.

        Coords are absolute page coordinates (transformed back through
        cropping, deskewing and rotation); Coords/@conf is the detector's
        score. With a second output fileGrp, an overlay image per page.
        """
        pcgts = input_pcgts[0]
        page = pcgts.get_Page()
        image = read_page(self.workspace, pcgts, page_id, log=self.logger)
        dpi = image.pil.info.get('dpi', (300, 300))
        if self.parameter['level'] == 'page':
            image.pil = None  # only its pixels are read: a 15000x10000 colour page is 600 MB more in PIL
            drawn = self._segment_page(page, page_id, image)
        else:
            drawn = self._segment_regions(page, page_id, image)
        result = OcrdPageResult(pcgts)
        if len(self.output_file_grp.split(',')) > 1:
            overlay = OcrdPageResult(copy.deepcopy(pcgts))
            picture = draw_overlay(image.pixels, drawn)
            scale = picture.width / image.pixels.shape[1]
            picture.info['dpi'] = (dpi[0] * scale, dpi[1] * scale)
            overlay.images.append(OcrdPageResultImage(picture, 'OVERLAY', None))
            return [result, overlay]
        return result

    def _segment_page(self, page, page_id, image):
        existing = page.get_TextRegion()
        if existing and not self.parameter['overwrite_segments']:
            self.logger.warning('page %s already has %d text regions: left unchanged '
                                '(set overwrite_segments=true to replace them, or level=region '
                                'to find lines inside them)', page_id, len(existing))
            return []
        if existing:
            self.logger.info('page %s: removing %d existing text regions', page_id, len(existing))
            page.set_TextRegion([])
            page.set_ReadingOrder(None)
        drawn, region_count = segment_page(page, page_id, image, self.detector, merge=self.merge_lines,
                                           fit=self.fit_to_ink, min_contrast=self.min_contrast)
        self.logger.info('page %s: %d lines in %d regions', page_id, len(drawn), region_count)
        return drawn

    def _segment_regions(self, page, page_id, page_image):
        regions = page.get_AllRegions(classes=['Text'])
        if not regions:
            self.logger.warning('page %s has no text regions: nothing to do at level=region', page_id)
        drawn = []
        width, height = page.get_imageWidth(), page.get_imageHeight()
        for region in regions:
            if region.get_TextLine() and not self.parameter['overwrite_segments']:
                self.logger.warning('region %s on page %s already has lines: left unchanged '
                                    '(set overwrite_segments=true to replace them)', region.id, page_id)
                continue
            region.set_TextLine([])
            # the region's own image, or its area of the page image (of the dewarped page: through the grid)
            image = region_image(self.workspace, region, page_image, log=self.logger, own_only=False)
            if image is None:
                self.logger.warning('region %s on page %s has no pixels', region.id, page_id)
                continue
            lines = clean_lines([Line(d.points, d.score) for d in self.detector.detect(image.pixels).detections],
                                self.merge_lines, *ink_and_grey(image.pixels, self.fit_to_ink, self.min_contrast),
                                min_contrast=self.min_contrast)
            parent = polygon_from_points(region.get_Coords().points)
            for line in lines:
                polygon = to_page_polygon(line.points, image.coords, width, height, parent_points=parent)
                if polygon is None:
                    continue
                region.add_TextLine(TextLineType(
                    id=f'{region.id}_line{len(region.get_TextLine()) + 1:04d}',
                    Coords=CoordsType(points=points_string(polygon), conf=round(line.score, 4))))
                drawn.append(transform_coordinates(polygon, page_image.coords['transform']))
        return drawn


def ink_and_grey(pixels, fit, min_contrast):
    """(ink mask if `fit`, grey page if `min_contrast` > 0), else None for
    each: the page converted to grey once for both."""
    grey = as_grey(pixels) if fit or min_contrast > 0 else None
    return (ink_mask(grey) if fit else None), (grey if min_contrast > 0 else None)


def segment_page(page, page_id, image, detector, merge=True, fit=True, min_contrast=0.0):
    """Detect the lines of a page image (a SegmentImage) and add them to `page`
    as TextRegions with TextLines and a ReadingOrder. Returns the line
    polygons in image pixels (for overlays) and the number of regions."""
    result = detector.detect(image.pixels)
    regions = layout([Line(d.points, d.score) for d in result.detections], merge,
                     *ink_and_grey(image.pixels, fit, min_contrast), min_contrast=min_contrast)
    width, height = page.get_imageWidth(), page.get_imageHeight()
    group = OrderedGroupType(id=f'{page_id}_ro' if page_id else 'ro')
    drawn = []
    for region in regions:
        lines = []
        for line in region.lines:
            polygon = to_page_polygon(line.points, image.coords, width, height)
            if polygon is not None:
                lines.append((polygon, line.score))
                drawn.append(line.points)
        if not lines:
            continue
        index = len(group.get_RegionRefIndexed())
        region_id = f'region{index + 1:04d}'
        outline = integer_polygon(region_outline([np.asarray(p, dtype=np.float64) for p, _ in lines]))
        text_region = TextRegionType(
            id=region_id, type_='paragraph',
            Coords=CoordsType(points=points_string(outline),
                              conf=round(float(np.mean([s for _, s in lines])), 4)))
        for number, (polygon, score) in enumerate(lines, 1):
            text_region.add_TextLine(TextLineType(
                id=f'{region_id}_line{number:04d}',
                Coords=CoordsType(points=points_string(polygon), conf=round(score, 4))))
        page.add_TextRegion(text_region)
        group.add_RegionRefIndexed(RegionRefIndexedType(index=index, regionRef=region_id))
    if group.get_RegionRefIndexed():
        page.set_ReadingOrder(ReadingOrderType(OrderedGroup=group))
    return drawn, len(group.get_RegionRefIndexed())


def draw_overlay(image, polygons, max_side=2000):
    """The page image (BGR or grey) with detected line polygons drawn on it,
    at most `max_side` wide/high (shrunk before drawing: no full-size copy)."""
    scale = min(1.0, max_side / max(image.shape[:2]))
    canvas = as_bgr(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                    if scale < 1.0 else image.copy())
    thickness = max(1, int(round(max(2, image.shape[1] // 600) * scale)))
    for points in polygons:
        cv2.polylines(canvas, [np.round(np.asarray(points) * scale).astype(np.int32)], True, (0, 0, 255), thickness)
    return Image.fromarray(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
