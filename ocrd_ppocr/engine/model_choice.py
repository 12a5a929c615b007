"""Reading each line of a page with the better of two recognisers.

The general recogniser (PP-OCRv6_rec_small) reads Antiqua and modern print,
any script; the Fraktur one (PP-OCRv6_rec_small_fraktur) reads Fraktur far
better and Antiqua English worse. Real books mix both, often on one page
(Antiqua running heads or Latin words over Fraktur text), so a page is read
cheaply like this:

1. a few of the page's lines (the sample: the longest of each part of the
   page, see spread_sample) are read by both models; the
   general model's output is decoded twice, over all its characters and over
   Latin ones only (one inference: see TextRecognizer.recognize). A page
   whose sample reads as Latin script is Latin: the general model then
   decodes Latin characters only (no CJK look-alikes on European print,
   as `script latin`); any other page is read by the general model alone,
   with all its characters, as before;
2. the page's primary model, which reads every other line, is the Fraktur
   one if its reading of the sample shows the marks of Fraktur print (ſ, aͤ:
   FRAKTUR_MARKS), else the one with the more confident sample (mean
   character confidence; the Fraktur one by PAGE_MARGIN);
3. a line whose primary reading is less confident than RECHECK_BELOW is read
   by the other model too, and the more confident reading is kept (by
   MARGIN at least, for the other model to win); both by the primary model.

Each reading keeps the name of the model that gave it (LineResult.model),
and `FONTS` maps the roles to the typeface each reads, for PAGE's
TextStyle/@fontFamily.
"""
from dataclasses import dataclass, field, replace
from typing import Dict

import numpy as np

from .charset import allowed_classes, is_latin
from .crop import image_of
from .orthography import COMBINING_E
from .recognize import TextRecognizer

GENERAL, FRAKTUR = 'general', 'fraktur'
AUTO = 'auto'  # the `model` value that chooses
AUTO_MODELS = {GENERAL: 'PP-OCRv6_rec_small', FRAKTUR: 'PP-OCRv6_rec_small_fraktur'}  # resource names
FONTS = {GENERAL: 'Antiqua', FRAKTUR: 'Fraktur'}  # what each role reads best, as OCR-D font classifiers name it
# Tuned on the lines our detector finds on bebel, kant, clauren, laube and
# oldbooks_en (page CER against their GT; fraktur_lines/val never used), each
# set read by both models once and the rule replayed on those readings
# (benchmarks/choice_tuning.py; the figures below are from before a letter
# with its small e counted as a letter before a line-end hyphen: kant 2.72
# is 2.68 % now):
# - SAMPLE 3 (the cost: 9 % more recognition on bebel and oldbooks_en); with
#   FRAKTUR_MARKS it picks the better model for all 28 pages;
# - a line is re-read by the other model when its reading is less confident
#   than RECHECK_BELOW, and the other reading taken if MARGIN more confident
#   (both by the page's primary model). The general model is confident on
#   Fraktur it misreads (lines below 0.95: kant 65 %, clauren 67 %, bebel and
#   oldbooks_en 1-2 %), so on an Antiqua page lines below 0.95 are re-read and
#   the Fraktur reading wins if more confident at all, and on a Fraktur page
#   lines below 0.8, where the general reading must be 0.1 more confident.
#   Page CER with these, in brackets the better fixed model: clauren 36.42 %
#   (Fraktur 36.42 %), laube 10.23 % (10.31 %), kant 2.72 % (2.72 %),
#   oldbooks_en 2.98 % (general, script latin 2.93 %), bebel 11.42 % (11.43 %;
#   bebel's GT orders some lines apart from the page, hence the high page
#   CER). Margin 0 on Fraktur pages: kant 3.35 %; re-reading below 0.9
#   there: clauren +37 % cost, no gain. Each line keeps its model's spelling
#   (ſ, aͤ from the Fraktur model; s, ä from the general one, right for an
#   Antiqua line): Fraktur spelling for the general model's lines on Fraktur
#   pages would gain clauren 0.06 points and give Antiqua words ſ.
SAMPLE = 3
RECHECK_BELOW = {GENERAL: 0.95, FRAKTUR: 0.8}
MARGIN = {GENERAL: 0.0, FRAKTUR: 0.1}
# The other model's reading replaces the primary's only if at least this
# confident itself (by the model that read it): on an Antiqua page a Fraktur
# reading below the Fraktur model's own unsure bound (RECHECK_BELOW) is noise
# read as text by both (a rule on a magazine page of tesseract_testing, the
# Fraktur model's 'anſnnvsnnane' at 0.62). Replayed with the reading margins
# of 2026-12-07 (benchmarks/choice_tuning.py): oldbooks_en 2.71 -> 2.69 %
# at 0.7, 0.8 and 0.9 alike, bebel, kant, clauren, laube unchanged.
TRUST = {GENERAL: 0.0, FRAKTUR: 0.8}
# A page is Fraktur when the Fraktur model's reading of its sample has at
# least 2 long s or small e, and at least 1 per 100 letters (16 of the 19
# Fraktur pages of kant, clauren and laube; none of the 14 Antiqua pages of
# bebel and oldbooks_en), else when the Fraktur model's sample is more
# confident by PAGE_MARGIN: the 3 Fraktur pages without marks (title pages,
# a page of footnotes) by 0.020 to 0.054, the Antiqua pages by 0.003 at most.
# Confidence alone misleads: the general model is the more confident on 3
# of clauren's pages that the Fraktur model reads better.
FRAKTUR_MARKS = (2, 0.01)
PAGE_MARGIN = 0.01
LATIN_SHARE = 0.9  # share of the sample's characters (general model, all characters) that makes a page Latin


@dataclass
class PageChoice:
    """What was decided for one page."""
    primary: str  # GENERAL or FRAKTUR: the model that read the page
    latin: bool  # the general model decoded Latin characters only
    sample_confidence: Dict[str, float] = field(default_factory=dict)  # role -> mean char confidence of the sample
    rechecked: int = 0  # lines read by both models beyond the sample

    def describe(self):
        """One line for the log, e.g. 'Fraktur page (sample confidence Fraktur 0.97, Antiqua 0.91)'."""
        confidence = ', '.join(f'{FONTS[role]} {value:.2f}' for role, value in self.sample_confidence.items())
        return (f'{FONTS[self.primary]} page (sample confidence {confidence}), '
                f'{self.rechecked} more lines read by both models')


def mean_confidence(lines):
    """Mean character confidence over `lines` (each line weighted by its length)."""
    confs = [char.conf for line in lines for char in line.chars]
    return float(np.mean(confs)) if confs else 0.0


def fraktur_marks(lines):
    """True if the Fraktur model's reading of `lines` has the marks of Fraktur
    print: long s and small e above vowels (ſ, aͤ), which it writes only
    where it sees them (FRAKTUR_MARKS)."""
    text = ''.join(line.text for line in lines)
    marks = sum(text.count(mark) for mark in ('ſ', COMBINING_E))
    return marks >= FRAKTUR_MARKS[0] and marks >= FRAKTUR_MARKS[1] * sum(c.isalpha() for c in text)


def spread_sample(crops, count):
    """Indices of `count` crops: the longest (at the same height) of each of
    `count` runs of consecutive lines, so that the sample spans the page
    (a block of Antiqua amid Fraktur does not make the whole sample)."""
    bounds = np.linspace(0, len(crops), min(count, len(crops)) + 1).round().astype(int)
    shapes = [image_of(crop).shape for crop in crops]
    return [max(range(start, end), key=lambda i: shapes[i][1] / max(shapes[i][0], 1))
            for start, end in zip(bounds[:-1], bounds[1:])]


def latin_share(lines):
    chars = [char.char for line in lines for char in line.chars if char.char != ' ']
    return sum(map(is_latin, chars)) / len(chars) if chars else 1.0


class ModelChooser:
    """Reads a page's line crops with the general and the Fraktur recogniser
    (engine TextRecognizers), each line by the better one.

    `names` gives each role's model name (written into every LineResult);
    `latin_classes` the general model's classes for a Latin page (None: the
    general model's own set is kept: the user restricted it already)."""

    def __init__(self, general, fraktur, names, latin_classes=None, sample=SAMPLE,
                 recheck_below=RECHECK_BELOW, margin=MARGIN, trust=TRUST):
        self.recognizers = {GENERAL: general, FRAKTUR: fraktur}
        self.names = dict(names)
        self.latin_classes = latin_classes
        self.sample, self.recheck_below, self.margin = sample, dict(recheck_below), dict(margin)
        self.trust = dict(trust)

    def font_of(self, model):
        """The typeface ('Antiqua', 'Fraktur') read by the model named `model`."""
        return next(FONTS[role] for role, name in self.names.items() if name == model)

    def read_page(self, crops):
        """(LineResults, PageChoice) for a page's line crops (upright LineCrops
        or uint8 BGR images): each recogniser reads them with its own margin."""
        if not crops:
            return [], PageChoice(GENERAL, False)
        general = self.recognizers[GENERAL]
        sample = spread_sample(crops, self.sample)
        as_any, as_latin = general.recognize([crops[i] for i in sample], [general.classes, self._latin()])
        if latin_share(as_any) < LATIN_SHARE:  # not European print: the general model alone, as before
            choice = PageChoice(GENERAL, False, {GENERAL: mean_confidence(as_any)})
            known = {i: replace(line, model=self.names[GENERAL]) for i, line in zip(sample, as_any)}
            return self.read_lines(crops, choice, known), choice
        by_role = {GENERAL: as_latin, FRAKTUR: self.recognizers[FRAKTUR].recognize([crops[i] for i in sample])}
        confidence = {role: mean_confidence(lines) for role, lines in by_role.items()}
        fraktur = fraktur_marks(by_role[FRAKTUR]) or confidence[FRAKTUR] > confidence[GENERAL] + PAGE_MARGIN
        primary = FRAKTUR if fraktur else GENERAL
        choice = PageChoice(primary, True, confidence)
        known = {i: self._better(by_role[primary][k], by_role[_other(primary)][k], primary)
                 for k, i in enumerate(sample)}
        return self.read_lines(crops, choice, known), choice

    def read_lines(self, crops, choice, known=None):
        """LineResults for `crops` as `choice` says (the page's primary model,
        unsure lines re-read by the other); `known`: {index: reading} done already."""
        known = dict(known or {})
        todo = [i for i in range(len(crops)) if i not in known]
        for i, line in zip(todo, self._read(choice.primary, [crops[i] for i in todo], choice)):
            known[i] = line
        if choice.latin:
            unsure = [i for i in todo if known[i].confidence < self.recheck_below[choice.primary]]
            other = _other(choice.primary)
            for i, line in zip(unsure, self._read(other, [crops[i] for i in unsure], choice)):
                known[i] = self._better(known[i], line, choice.primary)
            choice.rechecked += len(unsure)
        return [known[i] for i in range(len(crops))]

    def _read(self, role, crops, choice):
        recognizer = self.recognizers[role]
        if not crops:
            return []
        if role == GENERAL and choice.latin:
            lines = recognizer.recognize(crops, [self._latin()])[0]
        else:
            lines = recognizer.recognize(crops)
        return [replace(line, model=self.names[role]) for line in lines]

    def _latin(self):
        """The general model's classes on a Latin page."""
        return self.recognizers[GENERAL].classes if self.latin_classes is None else self.latin_classes

    def _better(self, primary_line, other_line, primary):
        """The more confident of two readings of a line; the other model's
        must beat the primary's by its margin."""
        primary_line = replace(primary_line, model=self.names[primary])
        other_line = replace(other_line, model=self.names[_other(primary)])
        trusted = other_line.confidence >= self.trust[_other(primary)]
        return other_line if trusted and other_line.confidence > primary_line.confidence + self.margin[primary] \
            else primary_line


def _other(role):
    return FRAKTUR if role == GENERAL else GENERAL


def model_counts(lines):
    """{model name: how many of `lines` it read}, in order of first use."""
    counts = {}
    for line in lines:
        counts[line.model] = counts.get(line.model, 0) + 1
    return counts


def build_chooser(general, fraktur_path, fraktur_dictionary=None, script='any', whitelist='', blacklist='',
                  **options):
    """A ModelChooser of the TextRecognizer `general` and the Fraktur model at
    `fraktur_path` (with its own dictionary, never the general model's),
    read with the same character options; on a Latin page the general model
    decodes Latin characters only, unless the user restricted it already.
    Shared by ocrd-ppocr-recognize and ocrd-ppocr-predict."""
    fraktur = TextRecognizer(fraktur_path, fraktur_dictionary, script=script, whitelist=whitelist,
                             blacklist=blacklist, **options)
    latin = None
    if script == 'any' and not whitelist:
        latin = allowed_classes(general.labels, 'latin', blacklist=blacklist)
    return ModelChooser(general, fraktur, AUTO_MODELS, latin)
