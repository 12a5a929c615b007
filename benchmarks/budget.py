"""Page error budget: where the points of a page CER go.

    python -m benchmarks.budget WORKSPACE/mets.xml --gt-grp OCR-D-GT-SEG-LINE --out-grp OCR-D-OCR [--json FILE]

The page CER is ../shared/eval/evaluate.py's (imported, never re-computed
here): the GT lines joined by newlines against the output lines joined by
newlines, over the GT's length. The budget repairs the output one kind of
mistake at a time, in this order, and charges each kind the errors that its
repair removes (evaluate.py's page CER before minus after, in errors), so the
parts add up to the page CER exactly; what the last repair leaves is
recognition:

1. not_in_gt: output lines that overlap no GT line (running heads or page
   numbers the GT leaves out, noise read as text) are removed;
2. not_found: GT lines that no output line overlaps are put in, with the GT's
   text, after the output of the GT line before them;
3. split_merged: where output and GT lines overlap other than one to one (a
   GT line read as several output lines, several GT lines read as one, or
   both), the group's output text is re-cut at the places that align with
   the GT's line breaks (its characters kept, so its misreadings stay);
4. reading_order: the output lines, now one per GT line, put in the GT's
   reading order (its regions as its PAGE ReadingOrder lists them, each
   region's lines top to bottom: benchmarks.scores.gt_lines_in_order, what
   the bench's `page CER GT ordered` compares with);
   gt_order: then in the order the GT file stores its lines, which
   evaluate.py's page CER compares with (bebel's and laube's GT store some
   lines out of reading order: this part is charged to every system alike);
5. conventions, one class after the other, each normalised on both sides:
   line-end hyphens (any of -⸗—–¬= after a letter at a line end, and ⸗ or ¬
   inside a line, as -), dashes (–—―‒ as -), quotes („“”»« as ", ‚‘’›‹ as '),
   combining e (aͤ oͤ uͤ, and MUFI's private-use forms of them, as ä ö ü), long s (ſ as s), r rotunda (ꝛ as r);
6. recognition: the errors left, on lines matched one to one.

Lines overlap when their intersection is at least half the smaller one's
area (evaluate.py's matches, IoU >= 0.5, always do). The order decides who
is charged where two causes meet (a merged line in the wrong place is charged
to split_merged); a repair can also cost errors (a negative part), which the
sum keeps.
"""
import argparse
import json
import re
import sys
from pathlib import Path

from .grid import markdown_grid, text_grid
from .scores import _evaluate, gt_lines_in_order

OVERLAP = 0.5  # intersection over the smaller line's area that makes two lines one group

STRUCTURE = [('not_in_gt', 'not in GT'), ('not_found', 'not found'), ('split_merged', 'split/merged'),
             ('reading_order', 'order'), ('gt_order', 'GT file order')]

LINE_END_HYPHENS = '-⸗—–¬='  # as ocrd_ppocr.engine.orthography, whose `hyphen` parameter writes them
DOUBLE_QUOTES, SINGLE_QUOTES = '„“”‟»«″', '‚‘’‛›‹′'
COMBINING_E = {'a\u0364': 'ä', 'o\u0364': 'ö', 'u\u0364': 'ü', 'A\u0364': 'Ä', 'O\u0364': 'Ö', 'U\u0364': 'Ü',
               # MUFI's private-use a, o, u with e above (clauren's GT writes them)
               '\ue42c': 'ä', '\ue644': 'ö', '\ue72b': 'ü'}


def _hyphens(text):
    if len(text) >= 2 and text[-1] in LINE_END_HYPHENS and text[-2].isalpha():
        text = text[:-1] + '-'
    return text.replace('⸗', '-').replace('¬', '-')


def _combining_e(text):
    for marked, umlaut in COMBINING_E.items():
        text = text.replace(marked, umlaut)
    return text


CONVENTIONS = [  # (key, title, normalisation of one line's text)
    ('hyphens', 'hyphens', _hyphens),
    ('dashes', 'dashes', lambda text: re.sub('[–—―‒]', '-', text)),
    ('quotes', 'quotes', lambda text: re.sub(f'[{SINGLE_QUOTES}]', "'", re.sub(f'[{DOUBLE_QUOTES}]', '"', text))),
    ('combining_e', 'comb. e', _combining_e),
    ('long_s', 'long s', lambda text: text.replace('ſ', 's')),
    ('r_rotunda', 'ꝛ', lambda text: text.replace('ꝛ', 'r')),
]
PARTS = [key for key, _ in STRUCTURE] + [key for key, _, _ in CONVENTIONS] + ['recognition']
TITLES = dict(STRUCTURE + [(key, title) for key, title, _ in CONVENTIONS] + [('recognition', 'recognition')])


def page_errors(gt, out, evaluate):
    """evaluate.py's page CER of (polygon, text) lists, as a count of errors."""
    length = max(len('\n'.join(text for _, text in gt)), 1)
    return round(evaluate.score(gt, out)['page_CER'] * length)


def groups(gt, out, evaluate):
    """Connected groups of overlapping lines: [(GT indices, output indices)], both sorted."""
    gt_shapes, out_shapes = [evaluate.shape(p) for p, _ in gt], [evaluate.shape(p) for p, _ in out]
    parent = {node: node for node in [('g', i) for i in range(len(gt))] + [('o', j) for j in range(len(out))]}

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for i, g in enumerate(gt_shapes):
        for j, o in enumerate(out_shapes):
            if g.area > 0 and o.area > 0 and g.intersects(o) \
                    and g.intersection(o).area >= OVERLAP * min(g.area, o.area):
                parent[root(('g', i))] = root(('o', j))
    members = {}
    for node in parent:
        members.setdefault(root(node), []).append(node)
    return sorted((sorted(i for kind, i in nodes if kind == 'g'), sorted(j for kind, j in nodes if kind == 'o'))
                  for nodes in members.values())


def recut(gt_texts, out_text):
    """`out_text` cut into len(gt_texts) pieces where it aligns with the breaks
    between the GT texts (rapidfuzz's alignment), its characters kept."""
    from rapidfuzz.distance import Levenshtein
    joined = '\n'.join(gt_texts)
    breaks = [p for p, char in enumerate(joined) if char == '\n']
    cuts = []
    for position in breaks:
        for op in Levenshtein.opcodes(joined, out_text):
            if op.src_start <= position < op.src_end:
                offset = 0 if op.tag in ('delete', 'insert') else min(position - op.src_start,
                                                                      op.dest_end - op.dest_start)
                cuts.append(op.dest_start + offset)
                break
        else:
            cuts.append(len(out_text))
    bounds = [0] + [max(c, p) for c, p in zip(cuts, [0] + cuts)] + [len(out_text)]
    return [' '.join(out_text[a:b].split()) for a, b in zip(bounds, bounds[1:])]


def page_budget(gt, out, evaluate=None, reading_order=None):
    """Errors of each part (PARTS) for one page; (polygon, text) lines as evaluate.load gives;
    `reading_order`: the rank of each GT line in the GT's reading order (default: the file's order).
    Returns {'errors': {part: count}, 'total': count, 'length': GT text length, 'page_CER': evaluate.py's,
    'lines': {'not_in_gt': n, 'not_found': n, 'split_merged_groups': n, 'matched': n}}."""
    evaluate = evaluate or _evaluate()
    total = page_errors(gt, out, evaluate)
    errors, before = {}, total
    found = groups(gt, out, evaluate)
    # items: [GT indices of the item's group, polygon, text] in output order
    group_of = {j: g for g, o in found for j in o}
    items = [[group_of[j], polygon, text] for j, (polygon, text) in enumerate(out) if group_of[j]]

    def charge(part, new_items, new_gt=gt):
        nonlocal before
        after = page_errors(new_gt, [(polygon, text) for _, polygon, text in new_items], evaluate)
        errors[part], before = before - after, after

    charge('not_in_gt', items)
    for g, o in found:
        if not o:  # a GT line nobody found: after the output of the GT line before it
            i = g[0]
            position = max((n + 1 for n, (indices, _, _) in enumerate(items) if min(indices) < i), default=0)
            items.insert(position, [[i], gt[i][0], gt[i][1]])
    charge('not_found', items)
    recut_items = []
    for g, o in found:
        if len(g) + len(o) > 2 and g and o:  # split or merged: the group's output re-cut at the GT's breaks
            own = [item for item in items if item[0] == g]
            own.sort(key=lambda item: min(x for x, _ in item[1]))  # pieces of one line left to right
            pieces = recut([gt[i][1] for i in g], ' '.join(text for _, _, text in own))
            first = next(n for n, item in enumerate(items) if item[0] == g)
            items = [item for item in items if item[0] != g]
            items[first:first] = [[[i], gt[i][0], piece] for i, piece in zip(g, pieces)]
            recut_items.append(g)
    charge('split_merged', items)
    rank = reading_order or list(range(len(gt)))
    items.sort(key=lambda item: rank[item[0][0]])
    charge('reading_order', items)
    items.sort(key=lambda item: item[0][0])
    charge('gt_order', items)
    new_gt = gt
    for key, _, normalise in CONVENTIONS:
        new_gt = [(polygon, normalise(text)) for polygon, text in new_gt]
        items = [[indices, polygon, normalise(text)] for indices, polygon, text in items]
        charge(key, items, new_gt)
    errors['recognition'] = before
    length = max(len('\n'.join(text for _, text in gt)), 1)
    return {'errors': errors, 'total': total, 'length': length, 'page_CER': evaluate.score(gt, out)['page_CER'],
            'lines': {'not_in_gt': sum(len(o) for g, o in found if not g),
                      'not_found': sum(len(g) for g, o in found if not o),
                      'split_merged_groups': len(recut_items),
                      'matched': sum(1 for g, o in found if len(g) == len(o) == 1)}}


def reading_order_of(gt, path, evaluate=None):
    """The rank of each of `gt`'s lines in the GT file's reading order (benchmarks.scores.gt_lines_in_order)."""
    ordered = gt_lines_in_order(path, evaluate)
    ranks = {}
    for n, (polygon, text) in enumerate(ordered):
        ranks.setdefault((tuple(map(tuple, polygon)), text), n)
    return [ranks.get((tuple(map(tuple, polygon)), text), i) for i, (polygon, text) in enumerate(gt)]


def pooled(pages):
    """Each part in points of page CER over pages, weighted as benchmarks.scores.pooled weights
    page CERs (by the GT's characters); the parts add up to the pooled page CER."""
    weights = {name: page['chars'] for name, page in pages.items()}
    total_weight = max(sum(weights.values()), 1)
    points = {part: 100 * sum(page['errors'][part] / page['length'] * weights[name] for name, page in pages.items())
              / total_weight for part in PARTS}
    return {'page_CER': 100 * sum(page['page_CER'] * weights[name] for name, page in pages.items()) / total_weight,
            'points': points,
            'lines': {key: sum(page['lines'][key] for page in pages.values())
                      for key in next(iter(pages.values()))['lines']} if pages else {}}


def budget_of_files(gt_files, out_files, evaluate=None):
    """{'pages': {page: page_budget + chars}, 'pooled': pooled(...)} for {page: PAGE file or evaluate.py JSON}."""
    evaluate = evaluate or _evaluate()
    pages = {}
    for page, path in out_files.items():
        gt = evaluate.load(str(gt_files[page]))
        order = reading_order_of(gt, gt_files[page], evaluate)
        pages[page] = {**page_budget(gt, evaluate.load(str(path)), evaluate, order),
                       'chars': sum(len(t) for _, t in gt)}
    return {'pages': pages, 'pooled': pooled(pages)}


# -- tables ----------------------------------------------------------------------

HEADER = ['set', 'system', 'pages', 'page CER %'] + [TITLES[part] for part in PARTS]
LEGEND = ('Page error budget (points of page CER, ../shared/eval/evaluate.py; the parts add up to it): the output '
          'repaired one kind of mistake at a time in the column order (python -m benchmarks.budget --help), each '
          'column the errors its repair removes: output lines not in GT, GT lines not found, lines split or merged, '
          "reading order (against the GT's ReadingOrder of regions, lines top to bottom), GT file order (lines the "
          'GT file stores out of reading order, charged to every system alike); then conventions, both sides '
          'normalised (hyphens: -⸗—–¬= at a line end after a letter, and ⸗ ¬, as -; dashes –—―‒ as -; quotes; '
          'comb. e: aͤ oͤ uͤ (and their MUFI private-use forms) as ä ö ü; long s ſ as s; ꝛ as r); '
          'recognition: what is left, on lines matched one to one.')


def cells(row):
    budget = row['budget']
    return [row['set'], row['system'], str(len(budget['pages'])), f"{budget['pooled']['page_CER']:.2f}"] + \
        [f"{budget['pooled']['points'][part]:.2f}" for part in PARTS]


def table(rows):
    return text_grid(HEADER, [cells(row) for row in rows])


def markdown(rows):
    return markdown_grid(HEADER, [cells(row) for row in rows])


# -- command line ------------------------------------------------------------------

def group_files(mets, grp, pages=None):
    """{page id: local PAGE file} of fileGrp `grp` in the workspace of `mets`."""
    from ocrd import Resolver
    workspace = Resolver().workspace_from_url(str(mets), download=False)
    files = {f.pageId: Path(mets).parent / f.local_filename for f in workspace.find_files(file_grp=grp)
             if f.local_filename and f.mimetype == 'application/vnd.prima.page+xml'}
    return {page: path for page, path in files.items() if pages is None or page in pages}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.budget', description=__doc__.split('\n\n')[0],
                                     epilog=__doc__.split('\n\n', 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('mets', help="the workspace's mets.xml")
    parser.add_argument('--gt-grp', required=True, help='the ground-truth PAGE fileGrp (with TextLine text)')
    parser.add_argument('--out-grp', required=True, help='the output PAGE fileGrp to judge')
    parser.add_argument('--pages', help='comma-separated physical page IDs (default: every page of --out-grp)')
    parser.add_argument('--name', help='the row label (default: the workspace folder and --out-grp)')
    parser.add_argument('--json', help='also write the budget (per page and pooled) to this file')
    parser.add_argument('--report', help='add the row to this report (created with versions and commit where absent; '
                                         'a row of the same set and system is replaced), e.g. for docs/results')
    parser.add_argument('--chain', default='', help='how --out-grp was made, recorded in the row')
    args = parser.parse_args(argv)
    mets = Path(args.mets)
    if not mets.is_file():
        parser.exit(1, f'{mets}: no such METS file\n')
    pages = args.pages.split(',') if args.pages else None
    gt, out = group_files(mets, args.gt_grp, pages), group_files(mets, args.out_grp, pages)
    missing = sorted(set(out) - set(gt))
    if not out or missing:
        parser.exit(1, f'{mets}: ' + (f'no PAGE files in {args.out_grp}' if not out
                                      else f'pages {missing} of {args.out_grp} have no GT in {args.gt_grp}') + '\n')
    row = {'set': args.name or mets.resolve().parent.name, 'system': args.chain or args.out_grp,
           'budget': budget_of_files(gt, out)}
    print(table([row]))
    print('\n' + LEGEND)
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=1, ensure_ascii=False), encoding='utf-8')
    if args.report:
        add_to_report(Path(args.report), row)
    return 0


def add_to_report(path, row):
    """`row` into the report at `path` (one row per set and system), with what ran it."""
    from . import machine
    report = json.loads(path.read_text(encoding='utf-8')) if path.exists() else {
        'command': 'python -m benchmarks.budget WORKSPACE/mets.xml --gt-grp GT --out-grp OUTPUT --chain ... --report '
                   + path.name, 'machine': machine.describe(), 'versions': machine.our_versions(), 'rows': []}
    report['rows'] = [r for r in report['rows'] if (r['set'], r['system']) != (row['set'], row['system'])] + [row]
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    path.with_suffix('.md').write_text(markdown_report(report), encoding='utf-8')


def markdown_report(report):
    """The report's Markdown twin: what ran, the pooled table, and each page's budget."""
    per_page = [{'set': f"{row['set']} {page}", 'system': row['system'],
                 'budget': {'pages': {page: None}, 'pooled': pooled({page: budget})}}
                for row in report['rows'] for page, budget in row['budget']['pages'].items()]
    return '\n'.join([
        '# Page error budget', '', f"Machine: {report['machine']}", '', f"Command: `{report['command']}`", '',
        'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['versions'].items()), '',
        *([report['note'], ''] if report.get('note') else []), markdown(report['rows']), '', LEGEND, '', '## Per page', '', markdown(per_page)]) + '\n'


if __name__ == '__main__':
    sys.exit(main())
