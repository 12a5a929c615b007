"""Console entry points: one short click command per OCR-D executable."""
import sys

import click
from ocrd.decorators import ocrd_cli_options, ocrd_cli_wrap_processor

from .engine.session import ModelError
from .processors.base import PageInputError


def run(processor_class, executable, **kwargs):
    """Run an OCR-D processor; expected failures (unknown model, bad input,
    missing fileGrp) end with one line on stderr and exit code 1."""
    try:
        ocrd_cli_wrap_processor(processor_class, **kwargs)
    except (ModelError, PageInputError) as err:
        click.echo(f'{executable}: error: {err}', err=True)
        sys.exit(1)
    except Exception as err:
        # core reports bad fileGrps, parameters and METS as plain exceptions
        first = str(err).strip().replace('\n\t', ' ').splitlines()
        if not first or not first[0].startswith(('Invalid input/output file grps', 'Invalid parameters',
                                                    'File not found', 'No such file')):
            raise
        click.echo(f'{executable}: error: {" ".join(first)}', err=True)
        sys.exit(1)


@click.command()
@ocrd_cli_options
def ocrd_ppocr_detect(*args, **kwargs):
    from .processors.detect import DetectProcessor
    run(DetectProcessor, 'ocrd-ppocr-detect', **kwargs)


@click.command()
@ocrd_cli_options
def ocrd_ppocr_recognize(*args, **kwargs):
    from .processors.recognize import RecognizeProcessor
    run(RecognizeProcessor, 'ocrd-ppocr-recognize', **kwargs)


@click.command()
@ocrd_cli_options
def ocrd_ppocr_orient(*args, **kwargs):
    from .processors.orient import OrientProcessor
    run(OrientProcessor, 'ocrd-ppocr-orient', **kwargs)


@click.command()
@ocrd_cli_options
def ocrd_ppocr_dewarp(*args, **kwargs):
    from .processors.dewarp import DewarpProcessor
    run(DewarpProcessor, 'ocrd-ppocr-dewarp', **kwargs)
