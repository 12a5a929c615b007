"""The ground-truth workspaces benchmarked, and scratch copies of them.

A dataset is a METS workspace with an image fileGrp and a ground-truth PAGE
fileGrp. The originals (../shared/data) are read-only: every system runs in
a copy made under the results folder."""
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ocrd import Resolver

PAGE_MIMETYPE = 'application/vnd.prima.page+xml'
DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'


@dataclass
class Dataset:
    name: str
    mets: Path  # the original mets.xml
    gt_grp: str
    img_grp: str = 'OCR-D-IMG'
    tesseract_model: str = 'eng'  # the Tesseract model that fits the script and language
    # our recogniser's `orthography` that fits the print (fraktur: ſ and aͤ as the
    # GT transcribes them), chosen per set as the Tesseract model is
    orthography: str = 'as-read'
    pages: Optional[List[str]] = None  # physical page IDs (None: all)
    # the MaixCAM preset's rows: page scale for its 224x320 detection windows
    # (about 0.3 for 600 dpi scans); None: no MaixCAM rows for this set
    maixcam_tile_scale: Optional[float] = None


def shared_datasets(data=DATA):
    """The real GT sets in ../shared/data with PAGE ground truth on text lines."""
    return [Dataset('bebel_frau_1879', Path(data) / 'bebel_frau_1879' / 'mets.xml',
                    'OCR-D-GT-SEG-LINE', tesseract_model='deu', maixcam_tile_scale=0.3),
            Dataset('kant_aufklaerung_1784', Path(data) / 'kant_aufklaerung_1784' / 'data' / 'mets.xml',
                    'OCR-D-GT-PAGE', tesseract_model='frk', orthography='fraktur')]


@dataclass
class Page:
    page_id: str
    image: Path  # absolute, in the scratch workspace
    gt: Path  # absolute, in the scratch workspace


class ScratchWorkspace:
    """A writable copy of a dataset's workspace directory."""

    def __init__(self, dataset, directory):
        self.dataset = dataset
        self.directory = Path(directory)
        if self.directory.exists():
            shutil.rmtree(self.directory)
        shutil.copytree(dataset.mets.parent, self.directory)
        self.mets = self.directory / dataset.mets.name
        workspace = self.workspace()
        all_pages = workspace.mets.physical_pages
        self.page_ids = [p for p in all_pages if dataset.pages is None or p in dataset.pages]
        if not self.page_ids:
            raise ValueError(f'{dataset.name}: none of the pages {dataset.pages} in {dataset.mets}')
        self.pages = [Page(page_id, self.file_of(workspace, dataset.img_grp, page_id),
                           self.file_of(workspace, dataset.gt_grp, page_id)) for page_id in self.page_ids]

    def workspace(self):
        return Resolver().workspace_from_url(str(self.mets), download=False)

    def file_of(self, workspace, grp, page_id, mimetype=None):
        """The local file of `grp` on `page_id` (exactly one must exist)."""
        files = list(workspace.mets.find_files(fileGrp=grp, pageId=page_id, mimetype=mimetype))
        if len(files) != 1 or not files[0].local_filename:
            raise ValueError(f'{self.dataset.name}: expected one local file in {grp} for page {page_id}, '
                             f'found {len(files)}')
        return (self.directory / files[0].local_filename).resolve()

    def outputs(self, grp):
        """{page_id: PAGE file} of fileGrp `grp`, for the benchmarked pages (all must exist)."""
        workspace = self.workspace()
        return {page_id: self.file_of(workspace, grp, page_id, PAGE_MIMETYPE) for page_id in self.page_ids}

    @property
    def page_args(self):
        """The `-g` option restricting a processor to the benchmarked pages."""
        return ['-g', ','.join(self.page_ids)]
