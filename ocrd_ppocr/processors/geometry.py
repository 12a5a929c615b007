"""Polygons between engine (image pixels) and PAGE (absolute page coordinates)."""
from functools import lru_cache
from itertools import chain

import numpy as np
import shapely
from ocrd_utils import coordinates_for_segment, polygon_from_points, transform_coordinates
from ocrd_validators.page_validator import PARENT_SLACK, POLY_TOLERANCE
from shapely.geometry import Polygon, box
from shapely.validation import make_valid

from .dewarped import to_source_frame


def points_array(points):
    """(n, 2) float64 array of a Coords/@points string, as
    np.array(polygon_from_points(points)) (raising as it does on bad
    input). A line's points are read up to five times per page (cutting,
    words, checks), each a few hundred pairs parsed in Python: parsed once."""
    return _parsed_points(points).copy()


@lru_cache(maxsize=4096)
def _parsed_points(points):
    return np.array(polygon_from_points(points))


def has_polygon(segment):
    """Whether a segment's Coords/@points can be read as a polygon (the
    schema requires them, but PAGE files from the wild may lack them)."""
    coords = segment.get_Coords()
    points = coords.get_points() if coords is not None else None
    if not points or not points.strip():
        return False
    try:
        return len(_parsed_points(points)) > 0
    except (ValueError, IndexError):
        return False


def coordinates_of_segment(segment, parent_image, parent_coords):
    """Core's `coordinates_of_segment` (the segment's polygon in the pixels of
    its parent's image: the same transform and rounding, on the points
    parsed once), except that a segment without readable Coords/@points
    gives an empty (0, 2) polygon, which callers skip as a segment without
    pixels, instead of an AttributeError."""
    if not has_polygon(segment):
        return np.empty((0, 2), dtype=np.int64)
    polygon = transform_coordinates(points_array(segment.get_Coords().points), parent_coords['transform'])
    return np.round(polygon).astype(np.int32)


def valid_polygon(points):
    """A shapely polygon for `points`, repaired if self-intersecting (largest part)."""
    polygon = Polygon(points)
    if not polygon.is_valid:
        polygon = largest_part(make_valid(polygon))
    return polygon


def exterior_points(polygon):
    """(n, 2) float array of a polygon's outer ring without the closing point
    (as np.array(exterior.coords[:-1]), without slicing shapely's coordinate
    sequence point by point in Python)."""
    return shapely.get_coordinates(polygon.exterior)[:-1]


def largest_part(geometry):
    """The largest Polygon in any (multi-part) shapely geometry; empty if none."""
    if geometry.geom_type == 'Polygon':
        return geometry
    parts = [largest_part(g) for g in getattr(geometry, 'geoms', [])]
    parts = [p for p in parts if not p.is_empty]
    return max(parts, key=lambda g: g.area) if parts else Polygon()


def clip_to(points, parent):
    """`points` clipped to `parent` (absolute points, or a shapely polygon of
    them, which saves repairing it again for each child); None if nothing of
    it is left."""
    if not isinstance(parent, Polygon):
        parent = valid_polygon(parent)
    polygon = largest_part(valid_polygon(points).intersection(parent))
    if polygon.is_empty or polygon.area < 1:
        return None
    return exterior_points(polygon)


def to_page_polygon(points, coords, page_width, page_height, parent_points=None):
    """Image-pixel polygon -> integer polygon in absolute page coordinates, clipped
    to the page (and to `parent_points` if given); None if nothing is left."""
    points = to_source_frame(points, coords)  # dewarped pixels -> through the grid (else unchanged)
    absolute = coordinates_for_segment(np.asarray(points, dtype=np.float32), None, coords)
    frame = np.array(box(0, 0, page_width - 1, page_height - 1).exterior.coords[:-1])
    if parent_points is None:
        return integer_polygon(clip_to(absolute, frame))
    return nested_polygon(clip_to(absolute, frame), parent_points)


def as_validated(parent):
    """A parent polygon (points, or shapely) cut down to the part that is
    inside it also as core's validator sees it, simplified: a child clipped
    to this passes the validator's test even where simplifying straightens a
    staircase outline (a word clipped to a GT line's, a glyph to its word's)."""
    if not isinstance(parent, Polygon):
        parent = valid_polygon(parent)
    if parent.is_empty:
        return parent
    inner = largest_part(parent.intersection(parent.simplify(POLY_TOLERANCE)))
    return parent if inner.is_empty else inner


def nested_polygon(points, parent):
    """`points` (absolute page coordinates) as an integer polygon clipped to
    `parent` (its points as written to PAGE, or their shapely polygon) that
    nests in it as `ocrd workspace validate` tests it: both simplified by
    its tolerance, the child within the parent grown by its slack. Where
    the clipped outline fails that test (simplifying a staircase of ink
    can cut a corner of the parent's notch), it is clipped to the parent
    shrunk by a pixel, then two. None if nothing of it is left inside:
    callers fall back to another outline, the parent's at last."""
    if points is None:
        return None
    parent = parent if isinstance(parent, Polygon) else valid_polygon(parent)
    if parent.is_empty:
        return None
    inner = as_validated(parent)
    for shrink in (0, 1, 2):
        region = largest_part(inner.buffer(-shrink)) if shrink else inner
        if region.is_empty:
            break
        polygon = at_least_four_points(integer_polygon(clip_to(points, region)))
        if polygon is not None and nests(polygon, parent):
            return polygon
    return None


def nests(points, parent):
    """Whether the polygon `points` is valid and lies in the shapely polygon
    `parent` by core's PageValidator (ocrd_validators.page_validator:
    make_poly and the test on Coords of children)."""
    if len(points) < 4:
        return False  # "has too few points"
    child = Polygon(points).simplify(POLY_TOLERANCE)
    if not child.is_valid or child.is_empty:
        return False
    return child.within(validator_outline(parent))


_OUTLINE = (None, None)  # (parent, its validator outline): a line's words, a word's glyphs share one parent


def validator_outline(parent):
    """The shapely polygon `parent` as core's validator tests children
    against it (simplified by its tolerance, grown by its slack), prepared
    for repeated tests; made once for consecutive calls with the same parent
    object (simplifying and buffering it for each child was a third of the
    word and glyph polygon time)."""
    global _OUTLINE
    cached_parent, outline = _OUTLINE
    if cached_parent is not parent:
        outline = parent.simplify(POLY_TOLERANCE).buffer(PARENT_SLACK)
        shapely.prepare(outline)
        _OUTLINE = (parent, outline)
    return outline


def at_least_four_points(polygon):
    """An integer polygon with a vertex added halfway along its longest
    edge if it is a triangle: PAGE's validator wants four points at least."""
    if polygon is None or len(polygon) >= 4:
        return polygon
    edges = np.roll(polygon, -1, axis=0) - polygon
    i = int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))
    middle = np.round(polygon[i] + edges[i] / 2).astype(polygon.dtype)
    if any(np.all(middle == p) for p in polygon):
        return None
    return np.insert(polygon, i + 1, middle, axis=0)


def integer_polygon(points):
    """`points` rounded to a valid integer polygon (PAGE Coords), or None.

    Rounding can fold a thin polygon onto itself: repeated points are
    dropped, and a polygon still invalid is replaced by its convex hull."""
    if points is None:
        return None
    polygon = _rounded(points)
    if polygon is None:
        return None
    shape = Polygon(polygon)
    for _ in range(3):
        if shape.is_valid:
            break
        # repair the fold and round again (new vertices are intersections)
        repaired = largest_part(shape.buffer(0))
        if repaired.is_empty:
            break
        polygon = np.round(exterior_points(repaired)).astype(np.int32)
        shape = Polygon(polygon)
    if not shape.is_valid:
        polygon = exterior_points(shape.convex_hull).astype(np.int32)
        shape = Polygon(polygon)
    if len(polygon) < 3 or shape.area < 1:
        return None
    return polygon


def integer_parts(geometries):
    """For an array of shapely geometries (children clipped to their
    parent): each one's largest part as an integer polygon
    (integer_polygon), None where that part is empty or under a pixel's
    area, as a loop over them would give; with the shapely tests of all of
    them at once (a line's words, a word's glyphs: these per-child calls
    were a third of the word polygon time). Rounded outlines that are not
    valid polygons take integer_polygon's repair, one by one."""
    polygons = [None] * len(geometries)
    if not len(geometries):
        return polygons
    simple = shapely.get_type_id(geometries) == 3  # a Polygon is its own largest part
    usable = ~shapely.is_empty(geometries) & (shapely.area(geometries) >= 1)
    rounded = []  # (index, integer outline) of the Polygons to test at once
    for i, geometry in enumerate(geometries):
        if not simple[i]:
            part = largest_part(geometry)
            if not part.is_empty and part.area >= 1:
                polygons[i] = integer_polygon(exterior_points(part))
        elif usable[i]:
            outline = _rounded(exterior_points(geometry))
            if outline is not None:
                rounded.append((i, outline))
    if rounded:
        shapes = polygons_of([outline for _, outline in rounded])
        for (i, outline), valid, area in zip(rounded, shapely.is_valid(shapes), shapely.area(shapes)):
            if valid:  # integer_polygon without repairs
                polygons[i] = outline if area >= 1 else None
            else:
                polygons[i] = integer_polygon(exterior_points(geometries[i]))
    return polygons


def all_nest(polygons, parent):
    """[nests(polygon, parent) for each of `polygons`] (False for None),
    with the shapely tests of all of them at once."""
    result = np.zeros(len(polygons), dtype=bool)
    tested = [i for i, polygon in enumerate(polygons) if polygon is not None and len(polygon) >= 4]
    if tested:
        children = shapely.simplify(polygons_of([polygons[i] for i in tested]), POLY_TOLERANCE)
        ok = shapely.is_valid(children) & ~shapely.is_empty(children)
        ok &= shapely.within(children, validator_outline(parent))
        result[tested] = ok
    return result


def polygons_of(outlines):
    """A shapely array of Polygon(outline) for each (n, 2) outline of at least 3 points."""
    lengths = [len(outline) for outline in outlines]
    coordinates = np.concatenate(outlines).astype(np.float64)
    rings = shapely.linearrings(coordinates, indices=np.repeat(np.arange(len(outlines)), lengths))
    return shapely.polygons(rings)


def _rounded(points):
    """integer_polygon's first step: `points` rounded, repeated points
    dropped; None if fewer than 3 are left."""
    polygon = np.round(points).astype(np.int32)
    keep = np.ones(len(polygon), dtype=bool)
    keep[1:] = np.any(polygon[1:] != polygon[:-1], axis=1)
    polygon = polygon[keep]
    if len(polygon) > 1 and np.all(polygon[0] == polygon[-1]):
        polygon = polygon[:-1]
    return polygon if len(polygon) >= 3 else None


def points_string(polygon):
    """Core's points_from_polygon(polygon.tolist()) ("x,y x,y ..." with
    %i), as one format operation: joining a string per point took a
    millisecond for a fitted line's few hundred points."""
    pairs = polygon.tolist()
    return ('%i,%i ' * len(pairs) % tuple(chain.from_iterable(pairs)))[:-1]
