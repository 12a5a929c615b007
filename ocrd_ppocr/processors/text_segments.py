"""PAGE text results: TextEquiv on lines, Word and Glyph segments placed along
the line from the recogniser's character positions."""
import numpy as np
from ocrd_models.ocrd_page import CoordsType, GlyphType, TextEquivType, WordType
from ocrd_utils import coordinates_for_segment, polygon_from_points

from .dewarped import to_source_frame
from .geometry import clip_to, integer_polygon, points_string, valid_polygon


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
        height = self.crop.image.shape[0]
        corners = np.array([[x0, 0], [x1, 0], [x1, height], [x0, height]], dtype=np.float64)
        absolute = coordinates_for_segment(to_source_frame(self.crop.to_image(corners), self.coords),
                                           None, self.coords)
        return integer_polygon(clip_to(absolute, parent))


def add_words(line, result, placer, glyphs, overwrite_text):
    """Word (and with `glyphs`, Glyph) segments of a recognised line; returns
    the line text as the words joined by single spaces."""
    words = []
    for number, chars in enumerate(words_of(result.chars), 1):
        word_polygon = placer.span(*placer.crop.clamp_span(chars[0].x0, chars[-1].x1), placer.line_polygon)
        if word_polygon is None:
            continue
        text = ''.join(char.char for char in chars)
        word = WordType(id=f'{line.id}_word{number:04d}', Coords=CoordsType(points=points_string(word_polygon)))
        if glyphs:
            for glyph_number, char in enumerate(chars, 1):
                glyph_polygon = placer.span(*placer.crop.clamp_span(char.x0, char.x1), word_polygon)
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
