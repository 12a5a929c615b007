"""Print what a processor wrote into a fileGrp: `python -m ocrd_ppocr.summary WS GRP`."""
import sys
from pathlib import Path

from ocrd import Resolver
from ocrd_models.ocrd_page import parse


def summarise(workspace_dir, file_grp):
    workspace = Resolver().workspace_from_url(str(Path(workspace_dir, 'mets.xml')))
    files = list(workspace.mets.find_files(fileGrp=file_grp, mimetype='application/vnd.prima.page+xml'))
    totals = {'regions': 0, 'lines': 0, 'words': 0, 'characters': 0}
    for ocrd_file in files:
        page = parse(str(Path(workspace_dir, ocrd_file.local_filename)), silence=True).get_Page()
        regions = page.get_AllRegions(classes=['Text'], order='reading-order')
        lines = [line for region in regions for line in region.get_TextLine()]
        words = [word for line in lines for word in line.get_Word()]
        text = '\n'.join(line.get_TextEquiv()[0].Unicode for line in lines if line.get_TextEquiv())
        totals['regions'] += len(regions)
        totals['lines'] += len(lines)
        totals['words'] += len(words)
        totals['characters'] += len(text)
        print(f'{ocrd_file.pageId}: {len(regions)} regions, {len(lines)} lines, {len(words)} words')
        for line in running_text(regions):
            print(f'    {line}')
    print(f'{len(files)} pages in {Path(workspace_dir).resolve()}/{file_grp}: '
          + ', '.join(f'{count} {name}' for name, count in totals.items()))
    return totals


def running_text(regions, count=3):
    """The first `count` lines of the page's main text: the region with the
    most characters, so that a page number or a running head (a page's first
    line) does not stand for what was read."""
    texts = [[line.get_TextEquiv()[0].Unicode for line in region.get_TextLine() if line.get_TextEquiv()]
             for region in regions]
    return max(texts, key=lambda lines: sum(map(len, lines)), default=[])[:count]


if __name__ == '__main__':
    summarise(*sys.argv[1:3])
