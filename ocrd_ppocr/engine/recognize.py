"""CTC text-line recognition (PP-OCRv4/v5/v6 recognisers).

Behaviour follows PaddleOCR's TextRecognizer and CTCLabelDecode: each crop is
resized to height 48 keeping its aspect ratio, normalised to [-1, 1] and
padded on the right with zeros to the widest crop of its batch (at least 320,
PaddleOCR's base width); the network emits, per frame, a softmax over
blank + dictionary + space; greedy decoding takes the best class per frame,
collapses repeats and drops blanks. Each character keeps the span of the frames
that produced it, mapped back to crop pixels, its confidence (the probability
at its first frame, as PaddleOCR) and the top-k classes there.

Very long lines (beyond `max_width` pixels at height 48, where the cost per
pixel starts to grow) are cut at blank columns, between words where
possible, into pieces that are read separately and joined again.
"""
import math
import os
import unicodedata
from dataclasses import dataclass, field
from typing import List, Tuple

import cv2
import numpy as np

from .charset import allowed_classes
from .crop import LineCrop, image_of
from .int8 import with_precision
from .pixels import as_bgr
from .session import ModelError, load_session, model_metadata

HEIGHT = 48
MIN_WIDTH = 320  # PaddleOCR's rec_image_shape width: narrower batches are padded to it
# Batch size: CPU seconds per line (1 thread, so that the other load on the
# shared 2-core x86 test machine does not blur it; onnxruntime 1.32), page
# bebel 0146, 50 GT line crops sorted by width, batch 1 / 2 / 4 / 8:
#   PP-OCRv4 mobile 0.089 / 0.093 / 0.124 / 0.134
#   PP-OCRv5 mobile 0.134 / 0.150 / 0.165 / 0.179
#   PP-OCRv6 small  0.147 / 0.146 / 0.152 / 0.156
# Wall time with 2 threads (best of 3, machine busy with other jobs) was
# 0.190 / 0.117 / 0.149 / 0.126 s, too noisy (+-50 %) to overrule that:
# bigger batches only add padding.
BATCH_SIZE = 1
# Longest input (pixels at height 48) read in one piece. Reading 1-12 bebel
# lines glued side by side (1300-14400 px), CER of v4/v5/v6-small did not
# grow with width (v5: 0.33 % at 1300 px, 0.71 % at 14400 px unsplit, 0.65 %
# cut at 2400), but CPU time per pixel does beyond ~2400 px (v5: 128 ms per
# 1000 px at 2400, 152 at 4800, 166 at 14400). So 2400 (ratio 50): a cheap
# safety net that real page lines (ratio 25-40 at 600 dpi) rarely reach.
MAX_WIDTH = 2400
# A cut in a blank run at least this fraction of the line's ink height wide is
# a word gap (joined with a space). On the bebel lines, gaps between letters
# are at most 0.22 and gaps between words at least 0.28 (after a comma).
WORD_GAP = 0.25
# Margin above and below a line (fraction of its height) that a recogniser
# reads best with, where it differs from what the crops carry (crop.MARGIN,
# 0.4, best for PaddleOCR's own recognisers, trained on padded detector
# boxes). Our Fraktur model learnt from tight line images (fraktur_lines):
# at 0.4 a condensed Fraktur line is squeezed into 48 rows with too few CTC
# frames for its letters, which it drops ("hinte de Huͤte" for "hinter der
# Hütte"). Line CER of its readings of the default chain's detected lines,
# margin 0 / 0.05 / 0.1 / 0.2 / 0.4 (tuned on bebel and kant; clauren and
# laube agreed): bebel 0.92 / 0.82 / 0.80 / 0.76 / 0.79 %, kant 1.65 / 1.65 /
# 1.51 / 1.69 / 3.06 %, clauren 4.89 / 4.93 / 4.94 / 5.27 / 8.13 %, laube
# 1.09 % at all. PP-OCRv6_rec_small: bebel 0.87 % at 0.4, 0.88 at 0.1.
READING_MARGINS = {'PP-OCRv6_rec_small_fraktur': 0.1}
# Models trained here record theirs (that of their base) in this metadata key.
MARGIN_KEY = 'reading_margin'


@dataclass
class CharResult:
    char: str
    conf: float
    x0: float  # horizontal span in crop pixels
    x1: float
    alternatives: List[Tuple[str, float]] = field(default_factory=list)  # top-k (char, prob)


@dataclass
class LineResult:
    text: str
    confidence: float  # mean of the character confidences (0 for an empty line)
    chars: List[CharResult] = field(default_factory=list)
    model: str = ''  # name of the recogniser that read it, where a choice was made (model_choice.py)


def read_dictionary(path):
    """One character per line, as PaddleOCR reads it (a line may be a space)."""
    with open(path, encoding='utf-8') as file:
        lines = file.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return [line.rstrip('\r') for line in lines]


def _classes(session):
    """The number of output classes, running a dummy line if the model leaves it symbolic."""
    count = session.get_outputs()[0].shape[2]
    if isinstance(count, int):
        return count
    dummy = np.zeros((1, 3, HEIGHT, MIN_WIDTH), dtype=np.float32)
    return session.run(None, {session.get_inputs()[0].name: dummy})[0].shape[2]


def reading_margin(model_path, session=None):
    """The margin (fraction of the line height) the recogniser at
    `model_path` reads line crops with: its `reading_margin` metadata (models
    trained here), else READING_MARGINS by its name; None: as the crops are cut."""
    session = session or load_session(model_path)
    recorded = model_metadata(session).get(MARGIN_KEY)
    if recorded:
        return float(recorded)
    name = os.path.basename(str(model_path))
    return READING_MARGINS.get(name[:-5] if name.endswith('.onnx') else name)


def input_width(height, width):
    """Width (pixels) of a crop of `height` x `width` resized to height 48,
    rounded as PaddleOCR does at batch 1: up, unless that exceeds its blob
    width max(320, int(48 * ratio)), i.e. truncated above 320."""
    exact = HEIGHT * width / max(height, 1)
    rounded_up = int(math.ceil(exact))
    return max(1, rounded_up if rounded_up <= MIN_WIDTH else int(exact))


def line_blob(images, widths, batch_width):
    """The network input for BGR line images: each resized to height 48 and
    its width in `widths`, normalised to [-1, 1], zero-padded on the right to
    `batch_width`. Training builds its batches with this function too."""
    blob = np.zeros((len(images), 3, HEIGHT, batch_width), dtype=np.float32)
    for row, (image, width) in enumerate(zip(images, widths)):
        resized = cv2.resize(image, (width, HEIGHT), interpolation=cv2.INTER_LINEAR)
        resized = resized.astype(np.float32).transpose(2, 0, 1)
        blob[row, :, :, :width] = (resized / 255 - 0.5) / 0.5
    return blob


class TextRecognizer:
    """A CTC recogniser built from an ONNX file and its dictionary."""

    def __init__(self, model_path, dictionary_path=None, threads=0, device='cpu',
                 batch_size=BATCH_SIZE, max_width=MAX_WIDTH, top_k=3, fixed_width=None,
                 script='any', whitelist='', blacklist='', precision='float32', margin=None):
        # precision int8: the INT8 graph derived from this float file (int8.py)
        self.session = load_session(with_precision(model_path, precision, 'rec'), threads, device)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else []
        fixed_height = len(shape) == 4 and isinstance(shape[2], int) and shape[2] != HEIGHT
        if (len(shape) != 4 or shape[1] != 3 or fixed_height
                or len(outputs) != 1 or len(outputs[0].shape) != 3):
            raise ModelError(f'{model_path} is not a text recognition model (expected input Nx3x48xW '
                             f'and output NxTxC, found {inputs[0].shape} -> {outputs[0].shape})')
        if dictionary_path:
            chars, source = read_dictionary(dictionary_path), dictionary_path
        elif 'character' in model_metadata(self.session):
            chars, source = model_metadata(self.session)['character'].split('\n'), f"{model_path}'s metadata"
        else:
            raise ModelError(f'{model_path} has no `character` metadata: give its dictionary file')
        classes = _classes(self.session)
        if len(chars) + 2 != classes:
            raise ModelError(f'dictionary {source} has {len(chars)} characters, so the model should have '
                             f'{len(chars) + 2} output classes (blank + characters + space), but '
                             f'{model_path} has {classes}: wrong dictionary for this model?')
        self.labels = [''] + chars + [' ']
        # decoding chooses among these classes only (see charset.py); None: all
        self.classes = allowed_classes(self.labels, script, whitelist, blacklist)
        self.class_labels = self.labels if self.classes is None else [self.labels[i] for i in self.classes]
        self.input_name = inputs[0].name
        self.batch_size = max(1, int(batch_size))
        # a fixed-shape model (the MaixCAM station's 48x320) reads pieces of at
        # most that width, each padded to exactly that width
        self.fixed_width = int(fixed_width) if fixed_width else None
        self.max_width = self.fixed_width or int(max_width)
        self.top_k = int(top_k)
        # LineCrops are read with this margin (None: as cut); plain images as given
        self.margin = margin if margin is not None else reading_margin(model_path, self.session)

    def recognize(self, crops, class_sets=None):
        """A LineResult for each line crop (upright text): a LineCrop (read
        with this recogniser's margin) or a uint8 BGR / grey image.

        With `class_sets` (a list of allowed-class arrays as
        charset.allowed_classes returns them, None for all classes): one such
        list of LineResults per set, decoded from the same network outputs,
        so reading a line under a second character set costs no inference."""
        sets = [self.classes] if class_sets is None else list(class_sets)
        pieces = []  # (crop index, x offset in crop, word gap before it (bool or None), piece image)
        for index, crop in enumerate(crops):
            crop = as_bgr(self.image_of(crop))
            for offset, gap, piece in self.split(crop):
                pieces.append((index, offset, gap, piece))
        results = self._read([piece for _, _, _, piece in pieces], sets)
        readings = []
        for k in range(len(sets)):
            lines = [LineResult('', 0.0) for _ in crops]
            for (index, offset, gap, _), result in zip(pieces, results):
                _append(lines[index], result[k], offset, gap)
            readings.append([finish_line(line) for line in lines])
        return readings[0] if class_sets is None else readings

    def image_of(self, crop):
        """The pixels this recogniser reads of `crop` (LineCrop or image)."""
        if self.margin is None or not isinstance(crop, LineCrop):
            return image_of(crop)
        return crop.with_margin(self.margin)

    def split(self, crop):
        """[(x offset, word gap before the piece or None, piece)]: the crop cut at
        blank columns into pieces at most ~max_width wide at height 48."""
        height, width = crop.shape[:2]
        limit = self.max_width * height / HEIGHT  # in crop pixels
        if width <= limit or height < 2:
            return [(0, None, crop)]
        cuts = find_cuts(crop, limit)
        bounds = [0] + [cut for cut, _ in cuts] + [width]
        gaps = [None] + [is_gap for _, is_gap in cuts]
        return [(bounds[i], gaps[i], crop[:, bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)]

    def _read(self, images, class_sets):
        """Recognise pieces in batches of similar aspect ratio (fewer padded
        pixels): for each, a list of its characters under each class set."""
        widths = [min(input_width(*image.shape[:2]), self.fixed_width or 1 << 30) for image in images]
        order = np.argsort(widths, kind='stable')
        results = [None] * len(images)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            batch_width = self.fixed_width or max(MIN_WIDTH, max(widths[i] for i in batch))
            blob = line_blob([images[i] for i in batch], [widths[i] for i in batch], batch_width)
            probs = self.session.run(None, {self.input_name: blob})[0]
            for row, i in enumerate(batch):
                # frame t covers [t, t+1) * batch_width / T input pixels; the
                # crop was scaled by widths[i] / crop width to get there
                scale = batch_width / probs.shape[1] * images[i].shape[1] / widths[i]
                results[i] = [self.decode(probs[row], scale, images[i].shape[1], classes)
                              for classes in class_sets]
        return results

    def _labels_of(self, classes):
        """The labels of a class set, built once per set (kept with it)."""
        cache = self.__dict__.setdefault('_label_cache', {})
        if id(classes) not in cache:
            cache[id(classes)] = (classes, [self.labels[i] for i in classes])
        return cache[id(classes)][1]

    def decode(self, probs, frame_width, crop_width, classes=()):
        """Greedy CTC decoding of one line's (T, C) probabilities over the
        allowed `classes` (default: the recogniser's own; None: all); x spans
        are frame runs times `frame_width`, clipped to the crop."""
        classes = self.classes if isinstance(classes, tuple) else classes
        labels = self.labels
        if classes is not None:
            probs = probs[:, classes]  # the allowed columns (a copy); blank stays column 0
            labels = self.class_labels if classes is self.classes else self._labels_of(classes)
        best = probs.argmax(axis=1)
        starts = np.flatnonzero(np.concatenate([[True], best[1:] != best[:-1]]))
        ends = np.concatenate([starts[1:], [len(best)]])
        keep = best[starts] != 0
        starts, ends = starts[keep], ends[keep]
        if not len(starts):
            return []
        top, top_probs = _top_k(probs[starts], best[starts], self.top_k)
        # plain Python numbers in one conversion each, not per element
        x0s = np.minimum(starts * frame_width, crop_width).tolist()
        x1s = np.minimum(ends * frame_width, crop_width).tolist()
        return [CharResult(labels[indices[0]], values[0], x0, x1,
                           [(labels[k], p) for k, p in zip(indices, values)])
                for indices, values, x0, x1 in zip(top.tolist(), top_probs.tolist(), x0s, x1s)]


def _top_k(rows, best, k):
    """Indices and values of the k most probable non-blank classes of each of
    `rows` (the frames where characters start), whose most probable class
    `best` is known not to be blank. A few argmax passes: much cheaper than
    sorting ~18000 classes per character."""
    index_rows = np.arange(len(rows))
    indices, values = [best], [rows[index_rows, best]]
    if k > 1:
        rows[:, 0] = -1  # `rows` is the caller's copy (fancy indexing copied it)
        rows[index_rows, best] = -1
    for _ in range(min(k, rows.shape[1] - 1) - 1):
        index = rows.argmax(axis=1)
        indices.append(index)
        values.append(rows[index_rows, index])
        rows[index_rows, index] = -1
    return np.stack(indices, axis=1)[:, :max(k, 1)], np.stack(values, axis=1)[:, :max(k, 1)]


def finish_line(line):
    """Set a LineResult's text and confidence from its characters, without
    the spaces the model reads at either end (no word gaps: OCR-D text has
    none there). A combining mark read as a class of its own (the Fraktur
    model's small e, U+0364) joins the character before it: one glyph."""
    while line.chars and line.chars[0].char == ' ':
        line.chars.pop(0)
    while line.chars and line.chars[-1].char == ' ':
        line.chars.pop()
    line.text = ''.join(char.char for char in line.chars)
    # the mean over the characters as read (the mark counted on its own)
    line.confidence = float(np.mean([char.conf for char in line.chars])) if line.chars else 0.0
    line.chars = _join_combining(line.chars)
    return line


def _join_combining(chars):
    """`chars` with each combining mark joined to the letter before it
    (span to the mark's end, the lower confidence, the mark added to each
    alternative)."""
    joined = []
    for char in chars:
        if joined and char.char and unicodedata.combining(char.char[0]) and joined[-1].char != ' ':
            base = joined[-1]
            joined[-1] = CharResult(base.char + char.char, min(base.conf, char.conf), base.x0, char.x1,
                                    [(alternative + char.char, p) for alternative, p in base.alternatives])
        else:
            joined.append(char)
    return joined


def _append(line, chars, offset, gap):
    """Add a piece's characters to `line`, shifted by `offset`; a word gap
    before the piece becomes one space."""
    chars = [CharResult(c.char, c.conf, c.x0 + offset, c.x1 + offset, c.alternatives) for c in chars]
    if gap:
        while line.chars and line.chars[-1].char == ' ':
            line.chars.pop()
        while chars and chars[0].char == ' ':
            chars.pop(0)
        if line.chars and chars:
            conf = (line.chars[-1].conf + chars[0].conf) / 2
            line.chars.append(CharResult(' ', conf, line.chars[-1].x1, chars[0].x0, [(' ', conf)]))
    line.chars.extend(chars)


def find_cuts(crop, limit):
    """Cut columns for a crop wider than `limit` pixels: [(x, is word gap)].

    Cuts go near equal divisions of the line, each in the middle of the widest
    run of blank columns (no ink) centred within a window around its target,
    so that they fall between words, else between letters; only where no such
    run exists is the column with least ink taken."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if int(gray.max()) - int(gray.min()) < 32:
        return []
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = np.flatnonzero(ink.any(axis=1))
    ink_height = rows[-1] - rows[0] + 1 if len(rows) else gray.shape[0]
    columns = ink.sum(axis=0)
    blank = columns <= max(1, ink_height // 50)  # tolerate specks
    edges = np.diff(np.concatenate([[0], blank.astype(np.int8), [0]]))
    runs = np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)  # [start, end)
    width = len(columns)
    count = int(math.ceil(width / limit))
    cuts, previous = [], 0
    for k in range(count - 1, 0, -1):  # k pieces still to place after this cut
        span = (width - previous) / (k + 1)
        low = int(previous + 0.6 * span)
        high = int(min(previous + 1.3 * span, previous + limit, width - 1))
        low = min(low, high - 1)
        cut, run = _best_cut(columns, runs, low, high, previous + span)
        cuts.append((cut, bool(run >= WORD_GAP * ink_height)))
        previous = cut
    return cuts


def _best_cut(columns, runs, low, high, target):
    """(x, blank run length) of the best cut in columns [low, high): the middle
    of the widest blank run centred there (nearest `target` on ties), else the
    faintest column."""
    centres = runs.sum(axis=1) // 2
    inside = (centres >= low) & (centres < high)
    if not inside.any():
        faintest = low + np.flatnonzero(columns[low:high] == columns[low:high].min())
        return int(faintest[np.argmin(np.abs(faintest - target))]), 0
    lengths = (runs[:, 1] - runs[:, 0])[inside]
    best = np.lexsort((np.abs(centres[inside] - target), -lengths))[0]
    return int(centres[inside][best]), int(lengths[best])
