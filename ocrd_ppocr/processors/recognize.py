"""ocrd-ppocr-recognize: PP-OCR CTC text-line recognition as an OCR-D step."""
import os

import numpy as np
from ocrd import OcrdPageResult
from ocrd_models.ocrd_page import LabelsType, LabelType, TextStyleType

from ..engine.detect import DetectorOptions, TextDetector
from ..engine.ensemble import EnsembleRecognizer
from ..engine.layout import FAINT_LINE_RATIO
from ..engine.maixcam_pipeline import StationRecognizer
from ..engine.model_choice import AUTO, AUTO_MODELS, FRAKTUR, GENERAL, build_chooser, model_counts
from ..engine.orthography import text_options
from ..engine.stray_marks import BARE_ALTERNATIVES, drop_stray_marks
from ..engine.recognize import TextRecognizer
from ..engine.textline_orientation import TextlineOrientation
from ..resources import recognizer_members
from .base import PpocrProcessor
from .detect import fixed_for_preset, segment_page, station_detector
from .images import line_images, read_page
from .text_segments import LinePlacer, add_words, clear_text, fill_words, line_polygon_of, set_text


# Mean character confidence above which a reading is taken as upright, without
# asking the orientation classifier. The 132 GT lines of bebel 0146/0176 and kant 0020
# read turned by 180 degrees (as an upside-down line is read as it stands)
# score 0.83 at most, median 0.49; read upright 0.74 to 1.0, median 0.99. Of the
# 24 of them the classifier flags, 21 are above 0.9 and need no second reading;
# of the 164 lines our detector finds on bebel, 163 are above 0.9.
UPSIDE_DOWN_MAX_CONFIDENCE = 0.9
# model=auto: the general recogniser and the Fraktur one, each line read by the better (engine/model_choice.py)


class RecognizeProcessor(PpocrProcessor):
    executable = 'ocrd-ppocr-recognize'

    def setup(self):
        threads, device = self.parameter['num_threads'], self.parameter['device']
        preset = self.preset()
        if preset:
            self.ensure_preset_models(preset)
        name = self.with_preset('model', preset.rec_model) if preset else self.parameter['model']
        self.chooser, self._choices = None, {}  # _choices: page (id of its pcgts) -> lines per model
        members = None if preset or name == AUTO else recognizer_members(
            name, lambda value, suffix: self.resolve_model(value, 'recognition', suffix=suffix), self.dictionary_for)
        if name == AUTO:
            name = AUTO_MODELS[GENERAL]
        model = members[0][0] if members else self.resolve_model(name, 'recognition')
        dictionary = members[0][1] if members else self.dictionary_for(model)
        # alternatives are written into Glyphs only; accents=page looks for the bare letter among them
        self.top_k = self.parameter['top_k'] if self.parameter['textequiv_level'] == 'glyph' else 1
        top_k = max(self.top_k, BARE_ALTERNATIVES) if self.parameter['accents'] == 'page' else self.top_k
        charset = {'script': self.parameter['script'], 'whitelist': self.parameter['char_whitelist'],
                   'blacklist': self.parameter['char_blacklist']}
        self.station = bool(preset and preset.station)
        # the presets bring their own (station) graphs: precision is for the installed float models
        self.precision = 'float32' if preset else self.parameter['precision']
        if preset and self.parameter['precision'] != 'float32':
            self.logger.warning('precision %s ignored: preset %s brings its own models', self.parameter['precision'],
                                self.parameter['preset'])
        if self.station:
            # MaixCDK's PP_OCR: its crops (no margin, no masking), 320-pixel pieces, no orientation classifier
            self.recognizer = StationRecognizer(model, dictionary, threads=threads, device=device,
                                                top_k=top_k, **charset)
        elif members and len(members) > 1:  # several models vote on every line (engine/voting.py)
            self.recognizer = EnsembleRecognizer(members, threads=threads, device=device,
                                                 batch_size=self.parameter['batch_size'], top_k=top_k,
                                                 precision=self.precision, **charset)
            self.logger.info('recognition by an ensemble of %d models voting: %s', len(members),
                             ', '.join(os.path.basename(member) for member, _ in members))
        else:
            self.recognizer = TextRecognizer(model, dictionary, threads=threads, device=device,
                                             batch_size=1 if preset else self.parameter['batch_size'],
                                             top_k=top_k, fixed_width=preset.rec_width if preset else None,
                                             precision=self.precision, **charset)
        unreadable = sorted(set(self.parameter['char_whitelist']) - set(self.recognizer.labels))
        if unreadable:
            self.logger.warning('char_whitelist: %s not in the dictionary of %s, so never read',
                                ' '.join(unreadable), os.path.basename(model))
        if self.parameter['model'] == AUTO and not preset:
            self.chooser = self.model_chooser(charset, threads, device, top_k)
        self.orientation = None
        orientation = self.parameter['textline_orientation']
        if self.station:
            orientation = self.with_preset('textline_orientation', '')
        if orientation:
            self.orientation = TextlineOrientation(self.resolve_model(orientation, 'orientation'), threads, device)
        self.detector = None
        if self.parameter['segmentation'] and self.station:
            self.detector, _ = station_detector(self, preset, 'detection_model')
        elif self.parameter['segmentation']:
            options = DetectorOptions()  # ocrd-ppocr-detect's defaults (a test keeps the two equal)
            detection_model = self.parameter['detection_model']
            if preset:
                detection_model = self.with_preset('detection_model', preset.det_model)
                fixed_for_preset(options, preset, self.parameter['tile_scale'])
            self.detector = TextDetector(self.resolve_model(detection_model, 'detection'),
                                         options, threads=threads, device=device)
        if self.chooser:
            self.logger.info('recognition models %s, chosen per line', ' and '.join(AUTO_MODELS.values()))
        else:
            self.logger.info('recognition model %s', model)

    def model_chooser(self, charset, threads, device, top_k):
        """model=auto: the general recogniser (self.recognizer) and the Fraktur
        one, each line read by the better (engine/model_choice.py)."""
        fraktur = self.resolve_model(AUTO_MODELS[FRAKTUR], 'recognition')
        sibling = os.path.splitext(fraktur)[0] + '.txt'  # not the `dictionary` parameter: that is the general model's
        return build_chooser(self.recognizer, fraktur, sibling if os.path.isfile(sibling) else None,
                             threads=threads, device=device, batch_size=self.parameter['batch_size'], top_k=top_k,
                             precision=self.precision, **charset)

    def dictionary_for(self, model):
        """The dictionary parameter resolved; else `<model>.txt` beside the model
        or among the resources (for models without `character` metadata)."""
        if self.parameter['dictionary']:
            return self.resolve_model(self.parameter['dictionary'], 'dictionary', suffix='.txt')
        sibling = os.path.splitext(model)[0] + '.txt'
        if os.path.isfile(sibling):
            return sibling
        return None

    def process_page_pcgts(self, *input_pcgts, page_id=None):
        """Recognise the text of every TextLine with a PP-OCR recogniser.

        Lines are taken at any depth (regions, nested regions) from the best
        image of their region or page (AlternativeImages and core's coordinate
        transforms), cut out along their polygon (minimum-area rectangle,
        neighbours masked), turned by 180 degrees where the text-line
        orientation classifier says so, and read.

        Writes TextEquiv with conf on each line and, by textequiv_level, Word
        and Glyph segments (polygons along the line from the CTC character
        positions, glyphs with their top-k alternatives); each region gets
        its lines' text joined in order. With segmentation=true, a page
        without any TextLine is first segmented by the detector.
        """
        pcgts = input_pcgts[0]
        page = pcgts.get_Page()
        page_image = read_page(self.workspace, pcgts, page_id, self.parameter['feature_filter'], self.logger)
        regions = page.get_AllRegions(classes=['Text'], order='reading-order')
        if not any(region.get_TextLine() for region in regions):
            if self.detector is None:
                self.logger.warning('page %s has no text lines: nothing to recognise (run ocrd-ppocr-detect '
                                    'first, or set segmentation=true)', page_id)
                return OcrdPageResult(pcgts)
            # the station neither merges fragments, nor fits boxes to the ink, nor drops faint lines
            drawn, count = segment_page(page, page_id, page_image, self.detector, merge=not self.station,
                                        fit=not self.station, min_contrast=0.0 if self.station else FAINT_LINE_RATIO)
            self.logger.info('page %s: segmented %d lines in %d regions', page_id, len(drawn), count)
            regions = page.get_AllRegions(classes=['Text'], order='reading-order')
        jobs = self.line_jobs(regions, page_image, page_id)
        self.record_choice(pcgts, page_id, jobs, self.read(jobs))
        level = self.parameter['textequiv_level']
        ours = {}  # line id -> (text, conf) as written by us
        for line, crop, coords, result in jobs:
            ours[line.id] = self.write_line(line, crop, coords, result, level)
        unread = [line for region in regions for line in region.get_TextLine() if line.id not in ours]
        if unread and self.parameter['overwrite_text']:
            # our text replaces the old one: a line we could not read keeps none
            for line in unread:
                clear_text(line)
        for region in regions:
            # the region's text is our lines' text (never their older TextEquiv,
            # kept beside ours with overwrite_text=false); an unread line is empty
            texts = [ours.get(line.id, ('', None)) for line in region.get_TextLine()]
            confs = [conf for _, conf in texts if conf is not None]
            if confs:
                set_text(region, '\n'.join(text for text, _ in texts), np.mean(confs),
                         self.parameter['overwrite_text'])
        if unread:
            self.logger.warning('page %s: %d of %d lines have no pixels (zero area, no points or outside the '
                                'image) and were not read%s: %s', page_id, len(unread), len(unread) + len(ours),
                                ', their old text removed' if self.parameter['overwrite_text'] else '',
                                ' '.join(line.id for line in unread[:10]) + (' ...' if len(unread) > 10 else ''))
        self.logger.info('page %s: recognised %d lines', page_id, len(jobs))
        return OcrdPageResult(pcgts)

    def line_jobs(self, regions, page_image, page_id):
        """[line, crop, coords of the image it was cut from, None] for every
        line with pixels, cut by images.line_images (the path training
        shares); lines without are reported and skipped."""
        cut, skipped = line_images(self.workspace, regions, page_image, self.parameter['feature_filter'],
                                   station=self.station, log=self.logger)
        for line, reason in skipped:
            self.logger.debug('line %s on page %s skipped: %s', line.id, page_id, reason)
        return [[item.line, item.crop, item.coords, None] for item in cut]

    def read(self, jobs):
        """Recognition and orientation (0/180) of all crops of a page at once.

        Every line is read as it stands first. A reading too confident for an
        upside-down line is kept; the others go to the classifier, which alone
        flips too many upright lines of historic print (a fifth of bebel's),
        so a line it wants to turn is read both ways and the reading with the
        higher confidence wins. With model=auto each line is read by the
        better recogniser (returns the page's PageChoice, else None)."""
        crops = [job[1] for job in jobs]
        results, choice = self.recognize(crops)
        unsure = [i for i, result in enumerate(results) if result.confidence < UPSIDE_DOWN_MAX_CONFIDENCE]
        if self.orientation is not None and unsure:
            turned, angles = self.orientation.upright([crops[i] for i in unsure],
                                                      self.parameter['orientation_threshold'])
            flagged = [(i, crop) for i, crop, angle in zip(unsure, turned, angles) if angle == 180]
            second, _ = self.recognize([crop for _, crop in flagged], choice)
            for (i, crop), result in zip(flagged, second):
                if result.confidence > results[i].confidence:
                    crops[i], results[i] = crop, result
        if self.parameter['accents'] == 'page':  # the page confirms the marks it prints (stray_marks.py)
            # only Glyphs write alternatives: trim to top_k there, nowhere else (no copy of every character)
            glyphs = self.parameter['textequiv_level'] == 'glyph'
            results = drop_stray_marks(results, self.top_k if glyphs else None)
        options = [self.parameter[name] for name in ('hyphen', 'orthography', 'quotes', 'punctuation', 'fraktur_ij')]
        results = [text_options(result, *options) for result in results]
        for job, crop, result in zip(jobs, crops, results):
            job[1], job[3] = crop, result
        return choice

    def recognize(self, crops, choice=None):
        """(LineResults, PageChoice or None) for LineCrops (each model reads
        them with its own margin): one model, or with model=auto the better
        per line (a page's second reading, of turned lines, by the `choice`
        made for its first)."""
        if self.chooser is None:
            return self.recognizer.recognize(crops), None
        if choice is None:
            return self.chooser.read_page(crops)
        return self.chooser.read_lines(crops, choice), choice

    def record_choice(self, pcgts, page_id, jobs, choice):
        """model=auto: one log line for the page; the models and how many
        lines each read go into this step's MetadataItem (add_metadata)."""
        if choice is None:
            return
        counts = model_counts(line for _, _, _, line in jobs)
        self.logger.info('page %s: %s; %s', page_id, choice.describe(), ', '.join(
            f'{count} lines {model}' for model, count in counts.items()) or 'no lines')
        self._choices[id(pcgts)] = [('primary', AUTO_MODELS[choice.primary])] + list(counts.items())

    def add_metadata(self, pcgts):
        """Core's MetadataItem of this step, with model=auto one more Labels:
        the primary model of the page and the lines each model read."""
        super().add_metadata(pcgts)
        labels = self._choices.pop(id(pcgts), None)
        if labels is not None:  # ('primary', model name), then (model name, lines read)
            item = pcgts.get_Metadata().get_MetadataItem()[-1]
            item.add_Labels(LabelsType(externalModel='ocrd_ppocr', externalId='model-choice', Label=[
                LabelType(type_=key, value=str(value)) for key, value in labels]))

    def write_line(self, line, crop, coords, result, level):
        """Our reading of one line as TextEquiv, and by `level` as Word and
        Glyph segments: new ones, or the line's existing Words filled with
        our text by position (another tool's word segmentation is kept
        unless overwrite_segments=true). Returns (text, conf) written."""
        overwrite_text = self.parameter['overwrite_text']
        text = ' '.join(result.text.split())
        if line.get_Word() and not self.parameter['overwrite_segments']:
            placer = LinePlacer(crop, coords, line_polygon_of(line))
            text = fill_words(line, result, placer, level == 'glyph', overwrite_text)
        elif level in ('word', 'glyph'):
            line.set_Word([])
            placer = LinePlacer(crop, coords, line_polygon_of(line))
            text = add_words(line, result, placer, level == 'glyph', overwrite_text)
        elif line.get_Word():  # level line, overwrite_segments: their text would contradict ours
            line.set_Word([])
        set_text(line, text, result.confidence, overwrite_text)
        if result.model and self.chooser:  # model=auto: the typeface of the model that read the line
            style = line.get_TextStyle() or TextStyleType()
            style.set_fontFamily(self.chooser.font_of(result.model))
            line.set_TextStyle(style)
        return text, result.confidence

