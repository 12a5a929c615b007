"""Line matching as the project is judged (../shared/eval/evaluate.py): lines
matched one-to-one, greedily by IoU, at IoU >= 0.5. Kept here so the tests run
without ../shared; the benchmark calls the shared evaluator itself."""
import unicodedata

from lxml import etree
from rapidfuzz.distance import Levenshtein
from shapely.geometry import Polygon


def page_polygons(path, tag='TextLine'):
    return [polygon for polygon, _ in page_lines(path, tag)]


def page_lines(path, tag='TextLine'):
    """(polygon, text) of every `tag` element, text normalised as evaluate.py does
    (NFC, whitespace runs collapsed)."""
    tree = etree.parse(str(path))
    ns = {'pc': tree.getroot().nsmap.get(None) or tree.getroot().nsmap.get('pc')}
    lines = []
    for element in tree.iterfind('.//pc:' + tag, ns):
        points = element.find('./pc:Coords', ns).get('points')
        unicode = element.find('./pc:TextEquiv/pc:Unicode', ns)
        text = unicodedata.normalize('NFC', ' '.join(((unicode.text if unicode is not None else '') or '').split()))
        lines.append(([tuple(map(float, p.split(','))) for p in points.split()], text))
    return lines


def _shape(points):
    polygon = Polygon(points)
    return polygon if polygon.is_valid else polygon.buffer(0)


def match(gt, out, threshold=0.5):
    """Number of one-to-one matches at IoU >= threshold."""
    return len(matched_pairs(gt, out, threshold))


def line_cer(gt_lines, out_lines):
    """evaluate.py's line CER: (polygon, text) lines matched by IoU, edit
    distance over the pairs, unmatched GT lines as deletions, unmatched
    output as insertions, over the GT's characters."""
    pairs = matched_pairs([p for p, _ in gt_lines], [p for p, _ in out_lines])
    errors = sum(Levenshtein.distance(gt_lines[i][1], out_lines[j][1]) for i, j in pairs)
    errors += sum(len(t) for i, (_, t) in enumerate(gt_lines) if i not in {i for i, _ in pairs})
    errors += sum(len(t) for j, (_, t) in enumerate(out_lines) if j not in {j for _, j in pairs})
    return errors / max(1, sum(len(t) for _, t in gt_lines))


def matched_pairs(gt, out, threshold=0.5):
    """[(gt index, out index)] matched one-to-one, greedily by IoU >= threshold."""
    gs, os_ = [_shape(p) for p in gt], [_shape(p) for p in out]
    pairs = []
    for i, g in enumerate(gs):
        for j, o in enumerate(os_):
            if g.area > 0 and o.area > 0 and g.intersects(o):
                inter = g.intersection(o).area
                iou = inter / (g.area + o.area - inter)
                if iou >= threshold:
                    pairs.append((iou, i, j))
    used_g, used_o, matched = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_g and j not in used_o:
            used_g.add(i)
            used_o.add(j)
            matched.append((i, j))
    return matched


def hmean(matched, n_gt, n_out):
    precision = matched / n_out if n_out else 0.0
    recall = matched / n_gt if n_gt else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
