"""What every ocrd-ppocr processor shares: model lookup across the package's
resource directories, page images as arrays (grey or BGR), and one-line page errors."""
import logging
import os
import re
from dataclasses import dataclass

import cv2
import numpy as np
from lxml.etree import XMLSyntaxError
from ocrd import Processor
from ocrd_utils import config, list_resource_candidates
from PIL import Image
from requests import HTTPError

from ..engine.presets import PRESETS
from ..engine.session import ModelError
from ..resources import EXECUTABLES, find_model
from .geometry import has_polygon

# where models of a kind that ocrd-tool.json does not declare are installed
# (ocrd-ppocr-train puts recognisers beside ocrd-ppocr-recognize's)
KIND_EXECUTABLE = {'detection': 'ocrd-ppocr-detect', 'recognition': 'ocrd-ppocr-recognize',
                   'dewarping': 'ocrd-ppocr-dewarp'}


@dataclass
class SegmentImage:
    pil: Image.Image
    pixels: np.ndarray  # uint8: (h, w) for bilevel and grey images, else BGR (h, w, 3)
    coords: dict  # core's transform of this image, for coordinates_for_segment
    page_id: str = None  # the page it belongs to, for messages
    # Grey pages stay one channel: the engine gives them their channels after
    # shrinking (a BGR copy of a 15000x10000 page would be 450 MB).


class PageInputError(Exception):
    """Bad input data on one page (unreadable image, malformed PAGE...); the
    message is one line that names the page and the problem."""


class UsageError(Exception):
    """A command line that cannot work with this workspace (e.g. an unknown
    -g page); the message is one line."""


class PpocrProcessor(Processor):
    """Base of the ocrd-ppocr processors; subclasses set `executable` and the
    model `role` names they resolve."""

    @property
    def metadata_filename(self):
        return 'ocrd-tool.json'

    # -- models ---------------------------------------------------------------

    def resolve_model(self, value, kind, suffix='.onnx'):
        """Absolute path of a model given as a resource name or a path.

        Looks in the OCR-D resource locations of every executable of this
        package; raises ModelError naming the places searched and the installed
        alternatives."""
        return find_model(value, kind, suffix, first=self.executable, moduled=self.moduledir,
                          installed=lambda: self.installed_models(kind))

    def list_all_resources(self):
        """Models and dictionaries only: core would also list the package's
        own data files (model_sources.json), the MaixCAM build manifests and
        the reports and CER plots that training writes beside a model
        (NAME.report.json, NAME.cer.png), which are no values for -P model."""
        for name in super().list_all_resources():
            if name.endswith('.ensemble.json') or not name.endswith(('.json', '.png')):  # ensembles are values for model
                yield name

    def installed_models(self, kind):
        """Names of the installed resources whose ocrd-tool.json description
        starts with `kind` (e.g. 'detection'), and the models of that kind
        that ocrd-tool.json does not know (ocrd-ppocr-train's): the other
        .onnx files in the resource directories of the executable that
        installs that kind."""
        resources = self.ocrd_tool.get('resources', [])
        declared = {res['name'] for res in resources if res.get('description', '').lower().startswith(kind)}
        found = set()
        for name in declared:
            for executable in EXECUTABLES:
                if any(os.path.isfile(c) for c in list_resource_candidates(executable, name,
                                                                         moduled=self.moduledir)):
                    found.add(name)
        if kind in KIND_EXECUTABLE:
            known = {res['name'] for res in resources}
            found |= {name for name in self.resource_files(KIND_EXECUTABLE[kind])
                      if name.endswith('.onnx') and name not in known}
        return sorted(found)

    def resource_files(self, executable):
        """Names of the files in the resource directories of `executable`."""
        names = set()
        for candidate in list_resource_candidates(executable, 'any', moduled=self.moduledir):
            directory = os.path.dirname(candidate)
            if os.path.isdir(directory) and os.path.realpath(directory) != os.path.realpath(self.moduledir):
                names.update(n for n in os.listdir(directory) if os.path.isfile(os.path.join(directory, n)))
        return names

    def preset(self):
        """The Preset named by the `preset` parameter, or None."""
        name = self.parameter.get('preset')
        return PRESETS[name] if name else None

    def ensure_preset_models(self, preset):
        """A preset's graphs are derived from installed models (the MaixCAM
        ones by static INT8 quantisation): built on first use, with a log
        line, into the OCR-D data resource location."""
        try:
            self.resolve_model(preset.det_model, 'detection')
            self.resolve_model(preset.rec_model, 'recognition')
            return
        except ModelError:
            pass
        from ..install_models import build_maixcam, target_dir
        self.logger.warning('preset %s: its derived graphs are not built yet; building them now into %s '
                            '(once: about 7 minutes on 2 cores; `make maixcam` does it ahead)',
                            preset.name, target_dir('data', self.executable).parent)
        try:
            sources = [os.path.dirname(self.resolve_model(name, 'detection'))
                       for name in ('PP-OCRv3_det_mobile', 'PP-OCRv4_rec_mobile')]
            build_maixcam('data', log=self.logger.info, sources=sources)
        except (FileNotFoundError, ModelError) as err:
            raise ModelError(f'preset {preset.name} cannot be built: {err} (run `make models` first)') from None

    def with_preset(self, name, preset_value):
        """`preset_value` for parameter `name`, unless the user gave the
        parameter a value other than its default: then the user's value wins."""
        value, default = self.parameter[name], self.ocrd_tool['parameters'][name].get('default')
        if value != default:
            self.logger.info('preset %s: %s=%s given explicitly, used instead of the preset\'s %s',
                             self.parameter['preset'], name, value, preset_value)
            return value
        self.logger.info('preset %s: %s=%s', self.parameter['preset'], name, preset_value)
        return preset_value

    # -- images ---------------------------------------------------------------

    def page_image(self, page, page_id, **kwargs):
        """The page's best image (see images.py for the rule): load_page_image."""
        return load_page_image(self.workspace, page, page_id, log=self.logger, **kwargs)

    # -- errors ---------------------------------------------------------------
    # The overrides below wrap core's page scheduling (ocrd.processor.base of
    # core 3.13: process_page_file, process_workspace_submit_page_task,
    # process_workspace_handle_page_task, zip_input_files) and each calls
    # core's own method for the work: they only turn bad input into one line
    # and keep core's policies (OCRD_MISSING_OUTPUT, OCRD_MAX_MISSING_OUTPUTS).
    # Core has no hook for that; setup.cfg bounds `ocrd` below 4, whose
    # scheduling may differ (tests/test_error_policy.py and test_bad_input.py
    # check the behaviour against the installed core).

    def verify(self):
        """Core's checks of the fileGrps, and one that core misses: without
        -O every page would fail on writing its output."""
        if not self.output_file_grp:
            raise UsageError('-O/--output-file-grp is required')
        return super().verify()

    def process_page_file(self, *input_files):
        """Bad input (unreadable image, malformed PAGE...) leaves here as a
        PageInputError whose message is one line naming the page and the
        problem; core then applies OCRD_MISSING_OUTPUT (SKIP, COPY, ABORT) and
        counts the page towards OCRD_MAX_MISSING_OUTPUTS."""
        try:
            return super().process_page_file(*input_files)
        except (PageInputError, FileExistsError):  # FileExistsError: core's OCRD_EXISTING_OUTPUT
            raise
        except (XMLSyntaxError, OSError) as err:
            # OSError: core could not open the input image to build a PAGE for it
            page_id = next(f.pageId for f in input_files if f is not None)
            if isinstance(err, XMLSyntaxError):
                raise PageInputError(f'malformed PAGE-XML for page {page_id}: {_short(err)}') from None
            raise PageInputError(f'cannot read the input of page {page_id}: {_short(err)}') from None

    def process_workspace_submit_page_task(self, executor, max_seconds, input_file_tuple):
        """Core's scheduling of a page, its input files fetched here: core
        logs a file it cannot fetch in two lines with object dumps. A local
        file that is missing says nothing here (the page then fails with one
        line naming it); a file that cannot be downloaded is one line."""
        if not self.download:
            return super().process_workspace_submit_page_task(executor, max_seconds, input_file_tuple)
        for input_file in filter(None, input_file_tuple):
            try:
                self.workspace.download_file(input_file)
            except (ValueError, FileNotFoundError, HTTPError) as err:
                if input_file.local_filename and not os.path.exists(
                        os.path.join(self.workspace.directory, input_file.local_filename)):
                    continue
                self.logger.error('page %s: cannot download %s: %s', input_file.pageId,
                                  input_file.url or input_file.local_filename, _short(err))
        self.download = False  # done above
        try:
            return super().process_workspace_submit_page_task(executor, max_seconds, input_file_tuple)
        finally:
            self.download = True

    def process_workspace_handle_page_task(self, page_id, input_files, task):
        """Core's handling of a page's result, except that with
        OCRD_MISSING_OUTPUT=ABORT bad input ends the run with its one line
        (core would log it once more before), and with COPY an input that
        cannot be copied either (an unreadable image without PAGE) is one
        more failed page, not the end of the run."""
        if config.OCRD_MISSING_OUTPUT == 'ABORT':
            task = _Outcome.of(task)
            if isinstance(task.error, PageInputError):
                raise task.error
        try:
            return super().process_workspace_handle_page_task(page_id, input_files, task)
        except (XMLSyntaxError, OSError) as err:
            if config.OCRD_MISSING_OUTPUT != 'COPY' or isinstance(err, FileExistsError):
                raise
            message = f'page {page_id}: its input cannot be copied either ({_short(err)}): no output'
            self.logger.error(message)
            return PageInputError(message)

    def zip_input_files(self, *args, **kwargs):
        """Core's input files per page; a -g/--page-id that matches no page
        of the workspace is a UsageError with one line."""
        try:
            return super().zip_input_files(*args, **kwargs)
        except ValueError as err:
            if 'match none of the pages' not in str(err):
                raise
            pages = self.workspace.mets.physical_pages
            listed = ', '.join(pages) if len(pages) <= 6 else f'{", ".join(pages[:3])} ... {pages[-1]} ({len(pages)})'
            raise UsageError(f'-g/--page-id {self.page_id}: no such page in the workspace '
                             f'({_short(err)}); its pages: {listed}') from None


class _Outcome:
    """A page task's result or error, awaited once (core's in-process tasks
    run when asked for their result), for core to handle after us."""

    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    @classmethod
    def of(cls, task):
        try:
            return cls(value=task.result())
        except BaseException as err:  # KeyboardInterrupt and TimeoutError too: core handles them
            return cls(error=err)

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class _OneLinePageErrors(logging.Filter):
    """Core logs a page that failed under OCRD_MISSING_OUTPUT=SKIP or COPY
    with a traceback ("Failure on page ..."). For a PageInputError, bad
    input and not a bug, its message is all there is to say: the record is
    shortened to that message and the policy applied."""

    def filter(self, record):
        err = record.exc_info[1] if record.exc_info else None
        if isinstance(err, PageInputError):
            record.msg, record.args = f'{err} (OCRD_MISSING_OUTPUT={config.OCRD_MISSING_OUTPUT})', ()
            record.exc_info = record.exc_text = None
        return True


# On core's page-scheduling logger only (not the root logger), and it changes
# nothing but records whose exception is our PageInputError: other
# processors in the same process (ocrd process chains run each in its own)
# log as before.
logging.getLogger('ocrd.processor.base').addFilter(_OneLinePageErrors())


def _short(err):
    """The first line of an error message, without core's description of the file."""
    text = str(err).strip().splitlines()
    return re.sub(r'\s*\(<OcrdFile .*$', '', text[0]) if text else err.__class__.__name__


def tiff_pages(path):
    """How many full-resolution images (pages) a TIFF file holds: its frames
    less those marked as reduced-resolution versions (thumbnails). 1 for
    other formats (a JPEG's MPO preview is no second page) and for files
    that are not local."""
    try:
        with Image.open(path) as image:
            if image.format != 'TIFF' or getattr(image, 'n_frames', 1) < 2:
                return 1
            pages = 0
            for frame in range(image.n_frames):
                image.seek(frame)
                pages += not int(image.tag_v2.get(254, 0)) & 1  # NewSubfileType bit 0: reduced resolution
            return max(pages, 1)
    except (OSError, ValueError, EOFError):  # a URL, or a file core read but PIL cannot walk
        return 1


def pil_to_pixels(pil):
    """Any PIL mode (1-bit, 8/16/32-bit grey, palette, RGBA, LA, CMYK, YCbCr...)
    as uint8 pixels: grey (h, w) for bilevel and grey modes, else BGR (h, w, 3);
    transparency is composited onto white."""
    mode = pil.mode
    if mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
        array = np.asarray(pil, dtype=np.float32)
        low, high = float(array.min()), float(array.max())
        array = (array - low) * (255.0 / max(high - low, 1e-6))
        return array.astype(np.uint8)
    if mode in ('RGBA', 'LA', 'PA') or (mode == 'P' and 'transparency' in pil.info):
        rgba = pil.convert('RGBA')
        background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
        pil = Image.alpha_composite(background, rgba)
    if mode in ('1', 'L'):  # most scans
        return np.asarray(pil.convert('L') if mode == '1' else pil)
    # an RGB image is not converted to RGB first: a copy of a 15000x10000 page is 600 MB
    return cv2.cvtColor(np.asarray(pil if pil.mode == 'RGB' else pil.convert('RGB')), cv2.COLOR_RGB2BGR)



def load_page_image(workspace, page, page_id, feature_filter='', log=None):
    """The page's best image (AlternativeImage, cropping, rotation applied by
    core; an AlternativeImage whose file is missing passed over, see
    images.py), with its pixels and coordinate transform. A missing or
    unreadable original, or a multi-page TIFF (core reads its first page
    only, and PAGE cannot name another), is bad input (a PageInputError)."""
    from .images import chosen_alternative, only_alternative
    alternative = chosen_alternative(page, feature_filter, workspace.directory,
                                     log.warning if log else None, f'page {page_id}')
    try:
        with only_alternative(page, alternative):
            pil, coords, _ = workspace.image_from_page(page, page_id, feature_filter=feature_filter)
    except Exception as err:  # missing file, unreadable or truncated image, bad Border...
        missing = _missing_image(workspace, page, err)
        raise PageInputError(f'cannot load the image of page {page_id}: {missing} not found' if missing else
                             f'cannot load the image of page {page_id} '
                             f'({page.get_imageFilename()}): {_short(err)}') from None
    if pil.width == 0 or pil.height == 0:
        raise PageInputError(f'the image of page {page_id} is empty ({pil.width}x{pil.height})')
    name = page.get_imageFilename()
    pages = tiff_pages(os.path.join(workspace.directory or '', name)) if name else 1
    if pages > 1:
        raise PageInputError(f'the image of page {page_id} ({name}) is a multi-page TIFF with {pages} pages, '
                             f'of which only the first would be read: OCR-D expects one image per page '
                             f'(split it into one file per page)')
    return SegmentImage(pil, pil_to_pixels(pil), coords, page_id)


def load_segment_image(workspace, segment, parent, feature_filter=''):
    """Core's image of a region or line inside `parent` (a SegmentImage) as
    the segment's AlternativeImages stand (images.py chooses among them
    first); None if the segment has no pixels (or no readable Coords)."""
    if not has_polygon(segment):
        return None
    try:
        pil, coords = workspace.image_from_segment(segment, parent.pil, parent.coords, feature_filter=feature_filter)
    except Exception as err:  # its AlternativeImage unreadable
        missing = _missing_image(workspace, segment, err)
        kind = segment.__class__.__name__.replace('Type', '')
        raise PageInputError(f'cannot load the image of {kind} {segment.id} on page {parent.page_id}: '
                             f'{f"{missing} not found" if missing else _short(err)}') from None
    if pil.width < 2 or pil.height < 2:
        return None
    return SegmentImage(pil, pil_to_pixels(pil), coords, parent.page_id)


def _missing_image(workspace, segment, err):
    """The image file (page image or AlternativeImage) of `segment` that
    `err` names and that does not exist, if that is why loading failed."""
    names = [alt.get_filename() for alt in segment.get_AlternativeImage()]
    if hasattr(segment, 'get_imageFilename'):
        names.insert(0, segment.get_imageFilename())
    for name in names:
        if name and name in str(err) and not os.path.exists(os.path.join(workspace.directory, name)):
            return name
    return None
