"""Peak memory of every processor on a 15000x10000 page (ten real bebel
pages side by side, as a 1-bit and as an RGB TIFF): the limit is 2.5 GB.

    python -m benchmarks.huge_page [--data ../shared/data] [--results results]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .datasets import DATA
from .measure import measure

LIMIT_MB = 2560
STEPS = [  # (processor, input fileGrp, output fileGrp, parameters)
    ('ocrd-ppocr-orient', 'OCR-D-IMG', 'OCR-D-ORIENT', []),
    ('ocrd-ppocr-dewarp', 'OCR-D-IMG', 'OCR-D-DEWARP', ['-P', 'skip_flat_below', '0']),
    ('ocrd-ppocr-detect', 'OCR-D-IMG', 'OCR-D-SEG', []),
    ('ocrd-ppocr-recognize', 'OCR-D-SEG', 'OCR-D-OCR', []),
]


def huge_pages(data, out):
    Image.MAX_IMAGE_PIXELS = None
    images = sorted((Path(data) / 'bebel_frau_1879').rglob('*.tif'))
    pages = [np.asarray(Image.open(path).convert('L')) for path in images]
    strip = np.concatenate([pages[i % len(pages)][:4660, :3068] for i in range(5)], axis=1)[:, :15000]
    huge = np.full((10000, 15000), 255, dtype=np.uint8)
    huge[:strip.shape[0], :strip.shape[1]] = strip
    huge[5000:5000 + strip.shape[0], :strip.shape[1]] = strip
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(huge).convert('1').save(out / 'huge.tif', compression='group4', dpi=(300, 300))
    tinted = np.stack([huge, np.maximum(huge, 10) - 10, huge], axis=2)
    Image.fromarray(tinted).save(out / 'huge_rgb.tif', compression='tiff_adobe_deflate', dpi=(300, 300))
    return {'1-bit': out / 'huge.tif', 'RGB': out / 'huge_rgb.tif'}


def workspace_with(image, directory, env):
    directory.mkdir(parents=True, exist_ok=True)
    measure(['ocrd', 'workspace', '-d', directory, 'init'], env=env)
    measure(['ocrd', 'workspace', '-d', directory, 'add', '-g', 'PHYS_0001', '-G', 'OCR-D-IMG', '-i', 'IMG_0001',
             '-m', 'image/tiff', image], env=env)
    return directory


def huge_page_section(data, out, log=print):
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    rows = []
    # the images are made in a process of their own: a child forked from a
    # process that held them would count their pages in its peak RSS
    images = Path(out) / 'images'
    subprocess.run([sys.executable, '-m', 'benchmarks.huge_page', '--data', str(data), '--make-images', str(images)],
                   check=True, cwd=Path(__file__).resolve().parents[1])
    for kind, image in {'1-bit': images / 'huge.tif', 'RGB': images / 'huge_rgb.tif'}.items():
        directory = workspace_with(image, Path(out) / kind, env)
        for processor, in_grp, out_grp, params in STEPS:
            m = measure([processor, '-I', in_grp, '-O', out_grp] + params, cwd=directory, env=env,
                        log=Path(out) / f'{kind}-{processor}.log')
            rows.append({'page': f'15000x10000 {kind}', 'processor': processor, 'peak_rss_mb': m.max_rss_mb,
                         'wall_s': m.wall_s, 'within_limit': m.max_rss_mb <= LIMIT_MB})
            log(f'  {kind} {processor}: peak RSS {m.max_rss_mb:.0f} MB, {m.wall_s:.0f} s')
    return rows


def table(rows):
    lines = ['page                processor              peak RSS MB  s    <= 2.5 GB']
    lines += [f"{r['page']:<20}{r['processor']:<23}{r['peak_rss_mb']:>11.0f}  {r['wall_s']:>4.0f} "
              f"{'yes' if r['within_limit'] else 'NO'}" for r in rows]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.huge_page', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    parser.add_argument('--make-images', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_images:
        huge_pages(args.data, Path(args.make_images))
        return
    out = Path(args.results).resolve() / (time.strftime('%Y%m%d-%H%M%S') + '-huge-page')
    rows = huge_page_section(args.data, out)
    print('\n' + table(rows))


if __name__ == '__main__':
    main()
