"""Which of a recogniser's characters it may read.

PP-OCR recognisers share one dictionary of about 18000 characters, Chinese
and Latin alike, so on European print a dash can come out as the ideograph
一 (bebel's page numbers "— 180 —" read "一 180 —"). Restricting the CTC
decoding to a set of characters lets the best allowed character win at each
frame instead, as Tesseract's whitelist and blacklist do (ocrd-tesserocr's
`char_whitelist` and `char_blacklist`).

`allowed_classes` gives the output classes to decode over; the blank (class
0) and the space (the last class) are always kept, so words still split.
"""
import numpy as np

# Latin-script text: letters with their diacritics (precomposed and
# combining), digits, the punctuation and symbols of European print (every
# mark the `hyphen` parameter writes: -, ⸗, ¬). Not in it: CJK, kana, hangul,
# Greek, Cyrillic, fullwidth forms, arrows, mathematical operators.
LATIN_RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B (ſ among them)
    (0x0250, 0x036F),  # IPA extensions, spacing modifiers, combining diacritics (U+0364 ͤ)
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # General Punctuation (dashes, quotes „ “ ‚ ‘ ‹ ›, †, ‡, ellipsis, ⁂)
    (0x2070, 0x209F),  # superscript and subscript digits (footnote marks ⁴ ⁵)
    (0x20A0, 0x20CF),  # currency symbols
    (0x2100, 0x218F),  # letterlike symbols, number forms (fractions, Roman numerals)
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0x2E00, 0x2E7F),  # Supplemental Punctuation (⸗, Fraktur's hyphen and a `hyphen` value; ⸺ ⸻)
    (0xA720, 0xA7FF),  # Latin Extended-D
    (0xAB30, 0xAB6F),  # Latin Extended-E
    (0xFB00, 0xFB06),  # Latin ligatures
)
# single marks of European print outside those blocks: minus sign, pointing
# hands (manicules), the cross and the Maltese cross (death, dagger-like notes)
LATIN_SYMBOLS = '\u2212\u261c\u261e\u271d\u2720'
SCRIPTS = ('any', 'latin')


def is_latin(char):
    return all(c in LATIN_SYMBOLS or any(low <= ord(c) <= high for low, high in LATIN_RANGES) for c in char)


def allowed_classes(labels, script='any', whitelist='', blacklist=''):
    """Indices into `labels` (blank first, space last) that decoding may
    choose, in ascending order, or None for all of them.

    `whitelist`, if given, allows only its characters (`script` is then
    ignored); else `script` ('any' or 'latin') does; `blacklist` removes its
    characters from either."""
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r}: choose one of {', '.join(SCRIPTS)}")
    if not whitelist and script == 'any' and not blacklist:
        return None
    if whitelist:
        allowed = set(whitelist)
        keep = [label in allowed for label in labels]
    elif script == 'latin':
        keep = [is_latin(label) for label in labels]
    else:
        keep = [True] * len(labels)
    banned = set(blacklist) - {' '}
    keep = [k and label not in banned for k, label in zip(keep, labels)]
    keep[0] = keep[-1] = True  # blank and space
    return np.flatnonzero(keep)
