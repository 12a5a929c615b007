"""dinglehopper's page CER and WER (grapheme clusters, its own text
extraction at TextLine level) for many (GT, OCR) file pairs in one process.

    python dinglehopper_pairs.py PAIRS.json OUT.json
PAIRS: [[gt_path, ocr_path], ...] (OCR: PAGE-XML or plain text)
OUT: [{cer, wer, gt_graphemes, gt_words}, ...] in the same order."""
import json
import sys

from dinglehopper.character_error_rate import character_error_rate_n
from dinglehopper.ocr_files import extract
from dinglehopper.word_error_rate import word_error_rate_n


def main(pairs_path, out_path):
    results = []
    for gt_path, ocr_path in json.load(open(pairs_path)):
        gt = extract(gt_path, textequiv_level='line', plain_encoding='utf-8-sig')  # not guessed from its first bytes
        ocr = extract(ocr_path, textequiv_level='line', plain_encoding='utf-8')
        cer, graphemes = character_error_rate_n(gt, ocr)
        wer, words = word_error_rate_n(gt, ocr)
        results.append({'cer': cer, 'wer': wer, 'gt_graphemes': graphemes, 'gt_words': words})
    json.dump(results, open(out_path, 'w'), indent=1)


if __name__ == '__main__':
    main(*sys.argv[1:])
