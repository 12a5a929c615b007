"""PAGE text results: TextEquiv on lines, Word and Glyph segments placed along
the line from the recogniser's character positions."""
import numpy as np
import shapely
from ocrd_models.ocrd_page import CoordsType, GlyphType, TextEquivType, WordType
from ocrd_utils import coordinates_for_segment, transform_coordinates

from ..engine.crop import apply_transform
from ..engine.ink import ink_rows, polygon_mask, region_ink, word_boxes
from .dewarped import GRID_KEY, to_image_frame, to_source_frame
from .geometry import (all_nest, as_validated, coordinates_of_segment, exterior_points, integer_parts, largest_part,
                       nested_polygon, points_array, points_string, valid_polygon)


def words_of(chars):
    """Group recognised characters into words (runs without spaces)."""
    words, current = [], []
    for char in chars:
        if char.char.isspace():
            if current:
                words.append(current)
            current = []
        else:
            current.append(char)
    if current:
        words.append(current)
    return words


def set_text(segment, text, conf, overwrite, index=None):
    """Add a TextEquiv to `segment`: replacing existing ones with `overwrite`,
    else after them (next index)."""
    if overwrite:
        segment.set_TextEquiv([])
    existing = segment.get_TextEquiv()
    if index is None:
        index = max((te.index or 0 for te in existing), default=0) + 1 if existing else None
    segment.add_TextEquiv(TextEquivType(Unicode=text, conf=round(float(conf), 4), index=index))


def clear_text(line):
    """Remove the TextEquiv of a line and of its words and glyphs."""
    line.set_TextEquiv([])
    for word in line.get_Word():
        word.set_TextEquiv([])
        for glyph in word.get_Glyph():
            glyph.set_TextEquiv([])


class LinePlacer:
    """Maps horizontal spans of a line crop to polygons in absolute page
    coordinates, clipped to a parent polygon."""

    def __init__(self, crop, coords, line_polygon):
        self.crop = crop  # engine LineCrop: image and crop -> image transform
        self.coords = coords  # core's transform of the image the crop was cut from
        self.line_polygon = valid_polygon(line_polygon)  # every word is clipped to it
        self._ink = None

    def ink(self):
        """(mask, inside): the crop's ink mask inside the line's polygon
        (grown as crop_polygon keeps it unmasked: by a tenth of its height)
        and that region, computed once."""
        if self._ink is None:
            inside = polygon_mask(self.crop.image.shape[:2], self.crop_outline())
            self._ink = region_ink(self.crop.image, inside), inside
        return self._ink

    def crop_outline(self):
        """The line polygon in crop pixels, grown by a tenth of its height;
        None where it cannot be mapped (the whole crop is taken then)."""
        if self.line_polygon.is_empty:
            return None
        points = exterior_points(self.line_polygon)
        points = to_image_frame(transform_coordinates(points, self.coords['transform']), self.coords)
        points = apply_transform(np.linalg.inv(self.crop.transform), points)
        height = np.ptp(points[:, 1])
        grown = shapely.Polygon(points).buffer(max(1.0, 0.1 * height), join_style='round')
        return exterior_points(largest_part(grown)) if not grown.is_empty else None

    def span(self, box, parent):
        """The integer page polygon of the crop box (x0, x1[, y0, y1]; full
        crop height without y), nested in `parent` (geometry.nested_polygon);
        None if nothing of it is left."""
        return nested_polygon(self._absolute_corners([box])[0], parent)

    def spans(self, spans, parent):
        """`span` for many boxes at once: one transform for all corners and
        one vectorised GEOS intersection (a line's words, a word's glyphs)."""
        if not spans:
            return []
        parent = parent if isinstance(parent, shapely.Polygon) else valid_polygon(parent)
        if GRID_KEY in self.coords:  # dewarped: each outline is densified along the mesh on its own
            return [self.span(box, parent) for box in spans]
        quads = self._absolute_corners(spans)
        shapes = shapely.polygons(quads.astype(np.float64))
        for i in np.flatnonzero(~shapely.is_valid(shapes)):
            shapes[i] = valid_polygon(quads[i])
        polygons = integer_parts(shapely.intersection(shapes, as_validated(parent)))
        for i, nesting in enumerate(all_nest(polygons, parent)):
            if polygons[i] is not None and not nesting:
                polygons[i] = nested_polygon(quads[i], parent)  # the careful way, for the few that need it
        return polygons

    def _absolute_corners(self, spans):
        """(n, 4, 2) page corners of crop boxes (x0, x1) or (x0, x1, y0, y1)."""
        height = self.crop.image.shape[0]
        boxes = np.array([tuple(box) + (0, height) if len(box) == 2 else box for box in spans], dtype=np.float64)
        xs = boxes[:, [0, 1, 1, 0]]  # top-left, top-right, bottom-right, bottom-left
        ys = boxes[:, [2, 2, 3, 3]]
        corners = np.stack([xs, ys], axis=2)
        if GRID_KEY in self.coords:
            return [coordinates_for_segment(to_source_frame(self.crop.to_image(c), self.coords), None, self.coords)
                    for c in corners]
        absolute = coordinates_for_segment(self.crop.to_image(corners.reshape(-1, 2)), None, self.coords)
        return absolute.reshape(-1, 4, 2)


def word_spans(groups, crop, ink, glyphs=True):
    """Crop boxes (x0, x1, y0, y1) of each word (a group of characters) and
    of its glyphs, enclosing their ink: the connected components of the
    line's ink (`ink`: LinePlacer.ink()) that belong to the word
    (engine.ink.word_boxes), a word without any given its frames' columns
    and the rows of ink there; glyphs split their word at the characters'
    first frames (_glyph_cuts), so that together they cover it without
    gaps, each as tall as the word's ink in its columns. Without `glyphs`
    their boxes are not made (None for each word)."""
    spans = [crop.clamp_span(chars[0].x0, chars[-1].x1) for chars in groups]
    mask, inside = ink
    boxes, owner = word_boxes(mask, spans, crop.image.shape[0] // 2, inside, owner=glyphs)
    words, glyph_boxes = [], []
    for number, (span, box, chars) in enumerate(zip(spans, boxes, groups), 1):
        if box is None:
            box, own, offset = _box(mask, *span), mask, 0
        else:
            # within the polygon's extent: ink beyond it would be cut off the word by the line's polygon
            box = crop.clamp_span(*box[:2]) + box[2:]
            offset = int(box[0])
            if glyphs:
                own = owner[:, offset:int(np.ceil(box[1]))] == number  # the word's ink, from its first column
        words.append(box)
        glyph_boxes.append([_box(own, a, b, box[2], box[3], offset)
                            for a, b in _glyph_cuts(box[0], box[1], chars, span)] if glyphs else None)
    return words, glyph_boxes


def _glyph_cuts(x0, x1, chars, span=None):
    """[(a, b)] column spans splitting the word's box x0..x1 at its
    characters' first frames, each glyph at least a pixel wide inside the
    word. The frames are first mapped from the word's frame `span` onto
    its box (CTC fires late, by a growing amount along a line: a final
    comma's frame may lie past the word's last ink)."""
    starts = [char.x0 for char in chars[1:]]
    if span is not None and span[1] > span[0]:
        scale = (x1 - x0) / (span[1] - span[0])
        starts = [x0 + (start - span[0]) * scale for start in starts]
    cuts = [x0] + [min(max(start, x0), x1) for start in starts] + [x1]
    for i in range(len(cuts) - 2, 0, -1):
        cuts[i] = min(cuts[i], cuts[i + 1] - 1)
    for i in range(1, len(cuts)):
        cuts[i] = max(cuts[i], cuts[i - 1] + 1)
    return list(zip(cuts, cuts[1:]))


def _box(mask, x0, x1, top=0, bottom=None, offset=0):
    """(x0, x1, y0, y1): the span with the rows of its ink (rows `top` to
    `bottom`, default all, if blank); `mask` starts at crop column `offset`."""
    rows = ink_rows(mask, x0 - offset, x1 - offset)
    if rows is None:
        return (x0, x1, top, mask.shape[0] if bottom is None else bottom)
    return (x0, x1, rows[0], rows[1])


def _add_glyphs(word, chars, glyph_spans, placer, word_polygon):
    word.set_Glyph([])
    glyph_polygons = placer.spans(glyph_spans, word_polygon)
    for number, (char, glyph_polygon, box) in enumerate(zip(chars, glyph_polygons, glyph_spans), 1):
        if glyph_polygon is None:  # its ink lies outside the word's band: its columns, then
            glyph_polygon = placer.span(box[:2], word_polygon)
        if glyph_polygon is None:
            glyph_polygon = word_polygon
        glyph = GlyphType(id=f'{word.id}_glyph{number:04d}', Coords=CoordsType(points=points_string(glyph_polygon)))
        for index, (alternative, prob) in enumerate(char.alternatives or [(char.char, char.conf)], 1):
            glyph.add_TextEquiv(TextEquivType(Unicode=alternative, conf=round(prob, 4), index=index))
        word.add_Glyph(glyph)


def add_words(line, result, placer, glyphs, overwrite_text):
    """Word (and with `glyphs`, Glyph) segments of a recognised line; returns
    the line text as the words joined by single spaces."""
    words = []
    groups = words_of(result.chars)
    spans, glyph_spans = word_spans(groups, placer.crop, placer.ink(), glyphs)
    word_polygons = placer.spans(spans, placer.line_polygon)
    for number, (chars, box, word_polygon, glyph_span) in enumerate(zip(groups, spans, word_polygons,
                                                                        glyph_spans), 1):
        if word_polygon is None:  # its ink lies outside the line's polygon: its columns, then
            word_polygon = placer.span(box[:2], placer.line_polygon)
        if word_polygon is None:  # nothing of them inside it either: the line's own outline
            word_polygon = line_polygon_of(line)
        text = ''.join(char.char for char in chars)
        word = WordType(id=f'{line.id}_word{number:04d}', Coords=CoordsType(points=points_string(word_polygon)))
        if glyphs:
            _add_glyphs(word, chars, glyph_span, placer, word_polygon)
        set_text(word, text, np.mean([char.conf for char in chars]), overwrite_text)
        line.add_Word(word)
        words.append(text)
    return ' '.join(words)


def fill_words(line, result, placer, glyphs, overwrite_text):
    """Our reading split onto the line's existing Words (another tool's
    segmentation, or GT) by position: each character goes to the word whose
    extent along the line holds its centre, else to the nearest word. Glyphs
    of those words are replaced by ours (`glyphs`) or removed where their
    old text would no longer match (`overwrite_text`). Returns the line text:
    the words' texts joined by single spaces, as PAGE's consistency rules
    concatenate them."""
    words = line.get_Word()
    to_crop = np.linalg.inv(placer.crop.transform)
    extents = []
    for word in words:
        try:
            points = to_image_frame(coordinates_of_segment(word, None, placer.coords), placer.coords)
            xs = apply_transform(to_crop, points)[:, 0]
            extents.append((float(xs.min()), float(xs.max())))
        except (AttributeError, TypeError, ValueError, IndexError):  # Coords without usable points
            extents.append(None)
    assigned = [[] for _ in words]
    usable = [i for i, extent in enumerate(extents) if extent is not None]
    for char in result.chars:
        if char.char.isspace() or not usable:
            continue
        centre = (char.x0 + char.x1) / 2
        distance = [max(extents[i][0] - centre, centre - extents[i][1], 0) for i in usable]
        assigned[usable[int(np.argmin(distance))]].append(char)
    texts = []
    glyph_spans = {}
    if glyphs:  # all words at once: each one's ink is told from its neighbours'
        filled = [i for i, chars in enumerate(assigned) if chars]
        order = sorted(filled, key=lambda i: assigned[i][0].x0)
        _, spans = word_spans([assigned[i] for i in order], placer.crop, placer.ink())
        glyph_spans = dict(zip(order, spans))
    for number, (word, chars) in enumerate(zip(words, assigned)):
        text = ''.join(char.char for char in chars)
        if glyphs and chars:
            word_polygon = line_polygon_of(word)
            _add_glyphs(word, chars, glyph_spans[number], placer, word_polygon)
        elif overwrite_text and word.get_Glyph():
            word.set_Glyph([])  # their old text would contradict the word's new text
        set_text(word, text, np.mean([char.conf for char in chars]) if chars else 0.0, overwrite_text)
        texts.append(text)
    return ' '.join(texts).strip()  # as PAGE consistency compares it (an empty first or last word)


def line_polygon_of(segment):
    return points_array(segment.get_Coords().points)
