"""vosk-style words for ``/v1/asr`` clients that parse them: lowercase, no punctuation, numbers
spelled out ("Call 911 at 3:30, 2nd floor!" -> "call nine one one at three thirty second floor").

Kaldi models emit exactly that; Whisper writes cased, punctuated text with digits. This module
turns one into the other, word by word, so word times can be kept.
"""

from __future__ import annotations

import re

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth",
            "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_SYMBOLS = {"%": "percent", "&": "and", "+": "plus", "=": "equals", "@": "at"}
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*(?:st|nd|rd|th)?|[%&+=@]|[^\W\d_]+(?:'[^\W\d_]+)*")


def number_words(n: int) -> list[str]:
    """0 <= n < 10**12 in words: 1205 -> one thousand two hundred five."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [_ONES[hundreds], "hundred"] + (number_words(rest) if rest else [])
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return number_words(high) + [name] + (number_words(rest) if rest else [])
    raise ValueError(n)  # pragma: no cover - the scales cover every n >= 1000


def _ordinal(words: list[str]) -> list[str]:
    last = words[-1]
    if last in _ORDINAL:
        ordinal = _ORDINAL[last]
    elif last.endswith("y"):
        ordinal = last[:-1] + "ieth"
    else:
        ordinal = last + "th"
    return [*words[:-1], ordinal]


def _digits(text: str) -> list[str]:
    return [_ONES[int(d)] for d in text]


def _number_token(token: str) -> list[str]:
    suffix = token[-2:] if token[-2:] in ("st", "nd", "rd", "th") else ""
    body = token[: -len(suffix)] if suffix else token
    if ":" in body:  # a time of day: 3:30 -> three thirty, 10:05 -> ten oh five
        hours, _, minutes = body.partition(":")
        out = number_words(int(hours))
        minutes = minutes.split(":")[0]
        if int(minutes) == 0:
            return [*out, "o'clock"]
        return out + (["oh", _ONES[int(minutes)]] if minutes.startswith("0")
                      else number_words(int(minutes)))
    body = body.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", body) else body
    if "." in body:  # 2.5 -> two point five
        whole, _, frac = body.partition(".")
        return number_words(int(whole)) + ["point"] + _digits(frac.replace(".", ""))
    if not body.isdigit():
        return _digits(re.sub(r"\D", "", body))
    if len(body) > 1 and body.startswith("0") or len(body) >= 7 and not suffix:
        return _digits(body)  # phone numbers, codes: digit by digit
    if len(body) == 3 and body in ("911", "999", "111", "112"):
        return _digits(body)  # emergency numbers are said digit by digit
    words = number_words(int(body))
    return _ordinal(words) if suffix else words


def vosk_words(text: str) -> list[str]:
    """``text`` as the lowercase, unpunctuated words a Kaldi model would emit."""
    out: list[str] = []
    for token in _TOKEN.findall(text):
        if token[0].isdigit():
            out.extend(_number_token(token))
        elif token in _SYMBOLS:
            out.append(_SYMBOLS[token])
        else:
            out.append(token.lower())
    return out
