"""Polygons between engine (image pixels) and PAGE (absolute page coordinates)."""
import numpy as np
from ocrd_utils import coordinates_for_segment, points_from_polygon
from shapely.geometry import Polygon, box
from shapely.validation import make_valid


def valid_polygon(points):
    """A shapely polygon for `points`, repaired if self-intersecting (largest part)."""
    polygon = Polygon(points)
    if not polygon.is_valid:
        polygon = largest_part(make_valid(polygon))
    return polygon


def largest_part(geometry):
    """The largest Polygon in any (multi-part) shapely geometry; empty if none."""
    if geometry.geom_type == 'Polygon':
        return geometry
    parts = [largest_part(g) for g in getattr(geometry, 'geoms', [])]
    parts = [p for p in parts if not p.is_empty]
    return max(parts, key=lambda g: g.area) if parts else Polygon()


def clip_to(points, parent_points):
    """`points` clipped to the polygon `parent_points` (both absolute); None if
    nothing of it is left."""
    polygon = largest_part(valid_polygon(points).intersection(valid_polygon(parent_points)))
    if polygon.is_empty or polygon.area < 1:
        return None
    return np.array(polygon.exterior.coords[:-1])


def to_page_polygon(points, coords, page_width, page_height, parent_points=None):
    """Image-pixel polygon -> integer polygon in absolute page coordinates, clipped
    to the page (and to `parent_points` if given); None if nothing is left."""
    absolute = coordinates_for_segment(np.asarray(points, dtype=np.float32), None, coords)
    frame = np.array(box(0, 0, page_width - 1, page_height - 1).exterior.coords[:-1])
    clipped = clip_to(absolute, frame if parent_points is None else parent_points)
    if clipped is None:
        return None
    polygon = np.round(clipped).astype(np.int32)
    # rounding can fold a thin polygon onto itself: drop repeated points
    keep = np.ones(len(polygon), dtype=bool)
    keep[1:] = np.any(polygon[1:] != polygon[:-1], axis=1)
    polygon = polygon[keep]
    if len(polygon) < 3 or Polygon(polygon).area < 1:
        return None
    return polygon


def points_string(polygon):
    return points_from_polygon(polygon.tolist())
