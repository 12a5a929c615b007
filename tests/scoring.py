"""Line matching as the project is judged (../shared/eval/evaluate.py): lines
matched one-to-one, greedily by IoU, at IoU >= 0.5. Kept here so the tests run
without ../shared; the benchmark calls the shared evaluator itself."""
from lxml import etree
from shapely.geometry import Polygon


def page_polygons(path, tag='TextLine'):
    tree = etree.parse(str(path))
    ns = {'pc': tree.getroot().nsmap.get(None) or tree.getroot().nsmap.get('pc')}
    polygons = []
    for element in tree.iterfind('.//pc:' + tag, ns):
        points = element.find('./pc:Coords', ns).get('points')
        polygons.append([tuple(map(float, p.split(','))) for p in points.split()])
    return polygons


def _shape(points):
    polygon = Polygon(points)
    return polygon if polygon.is_valid else polygon.buffer(0)


def match(gt, out, threshold=0.5):
    """Number of one-to-one matches at IoU >= threshold."""
    gs, os_ = [_shape(p) for p in gt], [_shape(p) for p in out]
    pairs = []
    for i, g in enumerate(gs):
        for j, o in enumerate(os_):
            if g.area > 0 and o.area > 0 and g.intersects(o):
                inter = g.intersection(o).area
                iou = inter / (g.area + o.area - inter)
                if iou >= threshold:
                    pairs.append((iou, i, j))
    used_g, used_o = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_g and j not in used_o:
            used_g.add(i)
            used_o.add(j)
    return len(used_g)


def hmean(matched, n_gt, n_out):
    precision = matched / n_out if n_out else 0.0
    recall = matched / n_gt if n_gt else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
