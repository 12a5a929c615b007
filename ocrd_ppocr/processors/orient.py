"""ocrd-ppocr-orient: page orientation (0/90/180/270) with PP-LCNet doc_ori."""
from ocrd import OcrdPageResult, OcrdPageResultImage
from ocrd_models.ocrd_page import AlternativeImageType

from ..engine.page_orientation import PageOrientation, unclassifiable
from .base import PpocrProcessor


class OrientProcessor(PpocrProcessor):
    executable = 'ocrd-ppocr-orient'

    def setup(self):
        model = self.resolve_model(self.parameter['model'], 'orientation')
        self.classifier = PageOrientation(model, threads=self.parameter['num_threads'],
                                          device=self.parameter['device'])
        self.logger.info('page orientation model %s', model)

    def process_page_pcgts(self, *input_pcgts, page_id=None):
        """Find whether the page is turned by 90, 180 or 270 degrees.

        Classifies the page's best image (AlternativeImage, cropping and any
        @orientation already applied by core). When the top class is not 0
        and its confidence reaches `threshold`, adds the correction to
        Page/@orientation (clockwise, as PAGE defines it, so core's
        image_from_page returns the upright page) and a page-level
        AlternativeImage of the upright page with core's `rotated-N` feature
        in @comments. Otherwise the page is left as it is; the decision is
        logged either way. Coords are not touched: they stay in the original
        image's frame. An image too small or too thin to be a page (a side
        under 32 pixels, sides more than 20:1) is left as it is with a warning.
        """
        pcgts = input_pcgts[0]
        page = pcgts.get_Page()
        image = self.page_image(page, page_id)
        reason = unclassifiable(*image.pixels.shape[:2])
        if reason:
            self.logger.warning('page %s: image too small or thin to classify its orientation (%s): '
                                'left as it is', page_id, reason)
            return OcrdPageResult(pcgts)
        angle, confidence = self.classifier.classify(image.pixels)
        if angle == 0 or confidence < self.parameter['threshold']:
            self.logger.info('page %s: content turned by %d degrees (confidence %.3f, threshold %.2f): '
                             'left as it is', page_id, angle, confidence, self.parameter['threshold'])
            return OcrdPageResult(pcgts)
        # class `angle`: the content is turned clockwise by `angle`; PAGE
        # @orientation is the clockwise turn that corrects it, in (-180, 180]
        old = page.get_orientation() or 0.0
        new = _normalised(old - angle)
        page.set_orientation(new)
        del image  # a 15000x10000 page is not held twice
        upright = self.page_image(page, page_id)  # core applies the rotation (and names the feature)
        features = upright.coords['features'].strip(',')
        self.logger.info('page %s: content turned clockwise by %d degrees (confidence %.3f): '
                         '@orientation %g -> %g, AlternativeImage %s', page_id, angle, confidence,
                         old, new, features)
        alternative = AlternativeImageType(comments=features)
        page.add_AlternativeImage(alternative)
        result = OcrdPageResult(pcgts)
        result.images.append(OcrdPageResultImage(upright.pil, 'IMG-ORIENT', alternative))
        return result


def _normalised(angle):
    """An angle in degrees mapped into (-180, 180]."""
    angle = angle % 360
    return angle - 360 if angle > 180 else angle
