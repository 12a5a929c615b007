"""Console entry points: one short click command per OCR-D executable."""
import logging
import re
import sys

import click
from ocrd.decorators import ocrd_cli_options, ocrd_cli_wrap_processor
from ocrd_utils import config

from .engine.session import ModelError
from .processors.base import PageInputError, UsageError

# How core words the failures that are the user's to fix (usage, workspace,
# its error policy ending the run); it raises them as plain exceptions.
CORE_MESSAGES = ('Invalid input/output file grps', 'Invalid parameters', 'File not found', 'No such file',
                 '-I/--input-file-grp is required', '-O/--output-file-grp is required',
                 'Error parsing',  # an unreadable -p parameter file
                 'Unexpected number of',  # of input or output fileGrps
                 'input fileGrp', 'output fileGrp',
                 "File path passed as 'url'",  # a -m METS that does not exist
                 'too many failures')  # OCRD_MAX_MISSING_OUTPUTS stopped the run


def one_line(err):
    """The one-line report of an expected failure (unknown model, bad input,
    wrong usage, core's error policy ending the run); None for anything
    else, which is a bug and keeps its traceback."""
    if isinstance(err, (ModelError, PageInputError, UsageError)):
        return str(err)
    first = str(err).strip().replace('\n\t', ' ').splitlines()
    if not first or not first[0].startswith(CORE_MESSAGES):
        return None
    line = ' '.join(first)
    if line.startswith('Invalid parameters'):  # core's validation report, as XML
        line = 'Invalid parameters: ' + '; '.join(re.findall(r'<error>(.*?)</error>', line))
    elif line.startswith("File path passed as 'url'"):
        line = 'no METS file at ' + line.split('does not exist: ', 1)[-1].strip("'")
    elif line.startswith('too many failures'):
        line += f' (more than OCRD_MAX_MISSING_OUTPUTS={config.OCRD_MAX_MISSING_OUTPUTS:g} of the pages)'
    return line


class _NoTracebackForExpected(logging.Filter):
    """Core's run_processor logs every failure with its traceback before
    re-raising it; for an expected failure `run` says it in one line instead."""

    def filter(self, record):
        return not (record.exc_info and one_line(record.exc_info[1]) is not None)


def run(processor_class, executable, **kwargs):
    """Run an OCR-D processor; expected failures (unknown model, bad input
    under OCRD_MISSING_OUTPUT=ABORT, too many failed pages for
    OCRD_MAX_MISSING_OUTPUTS, missing fileGrp or METS, unknown page, invalid
    parameters) end with one line on stderr and exit code 1."""
    logger = logging.getLogger('ocrd.processor.helpers.run_processor')
    if not any(isinstance(f, _NoTracebackForExpected) for f in logger.filters):
        logger.addFilter(_NoTracebackForExpected())
    try:
        ocrd_cli_wrap_processor(processor_class, **kwargs)
    except Exception as err:
        line = one_line(err)
        if line is None:
            raise
        click.echo(f'{executable}: error: {line}', err=True)
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
