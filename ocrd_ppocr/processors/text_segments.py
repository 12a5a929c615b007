"""PAGE text results: TextEquiv on lines, Word and Glyph segments placed along
the line from the recogniser's character positions."""
import numpy as np
import shapely
from ocrd_models.ocrd_page import CoordsType, GlyphType, TextEquivType, WordType
from ocrd_utils import coordinates_for_segment, polygon_from_points

from .dewarped import GRID_KEY, to_source_frame
from .geometry import clip_to, integer_polygon, largest_part, points_string, valid_polygon


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


class LinePlacer:
    """Maps horizontal spans of a line crop to polygons in absolute page
    coordinates, clipped to a parent polygon."""

    def __init__(self, crop, coords, line_polygon):
        self.crop = crop  # engine LineCrop: image and crop -> image transform
        self.coords = coords  # core's transform of the image the crop was cut from
        self.line_polygon = valid_polygon(line_polygon)  # every word is clipped to it

    def span(self, x0, x1, parent):
        """The integer page polygon of the crop's columns x0..x1 (full crop
        height), clipped to `parent`; None if nothing of it is left."""
        return integer_polygon(clip_to(self._absolute_corners([(x0, x1)])[0], parent))

    def spans(self, spans, parent):
        """`span` for many (x0, x1) at once: one transform for all corners and
        one vectorised GEOS intersection (a line's words, a word's glyphs)."""
        if not spans:
            return []
        if GRID_KEY in self.coords:  # dewarped: each outline is densified along the mesh on its own
            return [self.span(x0, x1, parent) for x0, x1 in spans]
        quads = self._absolute_corners(spans)
        if not isinstance(parent, shapely.Polygon):
            parent = valid_polygon(parent)
        shapes = shapely.polygons(quads.astype(np.float64))
        for i in np.flatnonzero(~shapely.is_valid(shapes)):
            shapes[i] = valid_polygon(quads[i])
        polygons = []
        for clipped in shapely.intersection(shapes, parent):
            clipped = largest_part(clipped)
            if clipped.is_empty or clipped.area < 1:
                polygons.append(None)
            else:
                polygons.append(integer_polygon(np.array(clipped.exterior.coords[:-1])))
        return polygons

    def _absolute_corners(self, spans):
        """(n, 4, 2) int32 page corners of the crop column spans."""
        height = self.crop.image.shape[0]
        spans = np.asarray(spans, dtype=np.float64)
        xs = spans[:, [0, 1, 1, 0]]  # top-left, top-right, bottom-right, bottom-left
        ys = np.broadcast_to(np.array([0, 0, height, height], dtype=np.float64), xs.shape)
        corners = np.stack([xs, ys], axis=2)
        if GRID_KEY in self.coords:
            return [coordinates_for_segment(to_source_frame(self.crop.to_image(c), self.coords), None, self.coords)
                    for c in corners]
        absolute = coordinates_for_segment(self.crop.to_image(corners.reshape(-1, 2)), None, self.coords)
        return absolute.reshape(-1, 4, 2)


def add_words(line, result, placer, glyphs, overwrite_text):
    """Word (and with `glyphs`, Glyph) segments of a recognised line; returns
    the line text as the words joined by single spaces."""
    words = []
    groups = words_of(result.chars)
    word_polygons = placer.spans([placer.crop.clamp_span(chars[0].x0, chars[-1].x1) for chars in groups],
                                 placer.line_polygon)
    for number, (chars, word_polygon) in enumerate(zip(groups, word_polygons), 1):
        if word_polygon is None:
            continue
        text = ''.join(char.char for char in chars)
        word = WordType(id=f'{line.id}_word{number:04d}', Coords=CoordsType(points=points_string(word_polygon)))
        if glyphs:
            glyph_polygons = placer.spans([placer.crop.clamp_span(char.x0, char.x1) for char in chars], word_polygon)
            for glyph_number, (char, glyph_polygon) in enumerate(zip(chars, glyph_polygons), 1):
                if glyph_polygon is None:
                    glyph_polygon = word_polygon
                glyph = GlyphType(id=f'{word.id}_glyph{glyph_number:04d}',
                                  Coords=CoordsType(points=points_string(glyph_polygon)))
                for index, (alternative, prob) in enumerate(char.alternatives or [(char.char, char.conf)], 1):
                    glyph.add_TextEquiv(TextEquivType(Unicode=alternative, conf=round(prob, 4), index=index))
                word.add_Glyph(glyph)
        set_text(word, text, np.mean([char.conf for char in chars]), overwrite_text)
        line.add_Word(word)
        words.append(text)
    return ' '.join(words)


def line_polygon_of(segment):
    return np.array(polygon_from_points(segment.get_Coords().points))
