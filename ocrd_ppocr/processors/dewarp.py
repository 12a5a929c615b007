"""ocrd-ppocr-dewarp: page unwarping with UVDoc, the sampling grid kept."""
import io
import os

import cv2
from ocrd import OcrdPageResult, OcrdPageResultImage
from ocrd_models.ocrd_page import AlternativeImageType, LabelsType, LabelType, MetadataItemType
from ocrd_utils import config
from PIL import Image

from ..engine.dewarp import Unwarper
from ..engine.ink import no_ink
from .base import PpocrProcessor
from .dewarped import GRID_ITEM

GRID_MIMETYPE = 'application/x-npz'  # numpy .npz: grid (2x45x31 float32), size, source_size


class DewarpProcessor(PpocrProcessor):
    executable = 'ocrd-ppocr-dewarp'

    def setup(self):
        model = self.resolve_model(self.parameter['model'], 'dewarping')
        self.unwarper = Unwarper(model, threads=self.parameter['num_threads'], device=self.parameter['device'])
        self.logger.info('dewarping model %s', model)

    def process_page_pcgts(self, *input_pcgts, page_id=None):
        """Dewarp (unwarp) a photographed, curved page with UVDoc.

        On the page's best image (orientation, cropping already applied by
        core), UVDoc predicts a 45x31 sampling grid; the grid, upsampled
        bilinearly, resamples the full-resolution image into a page-level
        AlternativeImage with the previous features plus `dewarped`.

        The grid (in pixels of the image it was predicted on) is written into
        the output fileGrp as a .npz file, and a MetadataItem (type `other`,
        name `ocrd-ppocr-dewarp-grid`, value: its path) names it, the image
        it belongs to and the frame of the Coords: all Coords stay in the
        original image's frame. ocrd-ppocr-detect/-recognize map polygons
        through the grid; other processors see only core's transform.

        Pages whose grid bends less than `skip_flat_below` (flat scans; the
        bend of the mean grid of the page and its mirror images, in which
        UVDoc's noise on flat pages cancels) are left as they are; so are pages without text lines to straighten
        (blank white, black or grey pages: too little contrast between dark
        and light pixels, or almost no dark ones) and pages that already
        have a dewarped image. Each such decision is one log line.
        """
        pcgts = input_pcgts[0]
        page = pcgts.get_Page()
        image = self.page_image(page, page_id)
        features = image.coords['features'].strip(',')
        if 'dewarped' in features.split(','):
            self.logger.warning('page %s is already dewarped (%s): left as it is', page_id, features)
            return OcrdPageResult(pcgts)
        blank = no_ink(image.pixels)
        if blank:
            self.logger.info('page %s: no text lines to straighten (%s): left as it is', page_id, blank)
            return OcrdPageResult(pcgts)
        grid = self.unwarper.grid(image.pixels)
        bend, shift = self.unwarper.steady_flatness(image.pixels, grid), grid.displacement()
        if bend < self.parameter['skip_flat_below']:
            self.logger.info('page %s: flat (grid bend %.5f < skip_flat_below %.5f, mean shift %.3f): '
                             'left as it is', page_id, bend, self.parameter['skip_flat_below'], shift)
            return OcrdPageResult(pcgts)
        self.logger.info('page %s: dewarped (grid bend %.5f, mean shift %.3f of the page)', page_id, bend, shift)
        dewarped = dewarped_image(grid, image)
        features = ','.join(filter(None, [features, 'dewarped']))
        alternative = AlternativeImageType(comments=features)
        page.add_AlternativeImage(alternative)
        result = OcrdPageResult(pcgts)
        result.images.append(OcrdPageResultImage(dewarped, 'IMG-DEWARP', alternative))
        grid_path = self.save_grid(grid, page_id)
        pcgts.get_Metadata().add_MetadataItem(MetadataItemType(
            type_='other', name=GRID_ITEM, value=grid_path,
            Labels=[LabelsType(externalModel='ocrd-ppocr-dewarp', Label=[
                LabelType(type_='image-features', value=features),
                LabelType(type_='grid', value='numpy .npz: grid = (2, 45, 31) float32, the (x, y) pixel of the '
                          'image before dewarping that each node of the dewarped image samples (nodes on the '
                          'image corners, bilinear in between); size = dewarped (width, height)'),
                LabelType(type_='coords-frame', value='original: all Coords are in the coordinates of '
                          '@imageFilename, as everywhere in PAGE; ocrd-ppocr processors map polygons found '
                          'on the dewarped image back through the grid'),
            ])]))
        return result

    def save_grid(self, grid, page_id):
        """Write the grid into the output fileGrp; returns its path in the workspace."""
        grp = self.output_file_grp.split(',')[0]
        file_id = f'{grp}_{page_id}_GRID'
        path = os.path.join(grp, file_id + '.npz')
        buffer = io.BytesIO()
        grid.save(buffer)
        self.workspace.add_file(file_grp=grp, file_id=file_id, page_id=page_id, mimetype=GRID_MIMETYPE,
                                local_filename=path, content=buffer.getvalue(),
                                force=config.OCRD_EXISTING_OUTPUT == 'OVERWRITE')
        return path


def dewarped_image(grid, image):
    """The page image (a SegmentImage) dewarped through `grid`, as a PIL
    image: grey for grey and bilevel pages, else RGB. Built tile by tile, so
    that besides the page and its result only one tile is in memory."""
    grey = image.pil.mode in ('1', 'L', 'LA', 'I;16', 'I', 'F') or image.pixels.ndim == 2
    dewarped = Image.new('L' if grey else 'RGB', grid.size)
    for (x0, y0), tile in grid.tiles(image.pixels):
        if tile.ndim == 3:
            tile = Image.fromarray(cv2.cvtColor(tile, cv2.COLOR_BGR2RGB))
            dewarped.paste(tile.convert('L') if grey else tile, (x0, y0))
        else:
            dewarped.paste(Image.fromarray(tile), (x0, y0))
    dewarped.info['dpi'] = image.pil.info.get('dpi', (300, 300))
    return dewarped
