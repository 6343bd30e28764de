"""Turn command text into tokens without ever raising: unbalanced quotes are literal."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Phones and chat clients turn "--" into dashes; accept those as option markers.
_DASHES = ("--", "\u2014", "\u2013")
_OPTION = re.compile(r"^(?:--|\u2014|\u2013)([A-Za-zÀ-ÿ][\w-]*)(?:=(.*))?$", re.S)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201e": "\u201d", "\u2018": "\u2019"}


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


def split(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        close = _QUOTES.get(text[i])
        if close:
            end = text.find(close, i + 1)
            if end != -1 and (end + 1 == n or text[end + 1].isspace()):
                tokens.append(Token(text[i + 1 : end], quoted=True))
                i = end + 1
                continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(Token(text[i:j]))
        i = j
    return tokens


def option_name(token: Token) -> tuple[str, str | None] | None:
    """('level', 'eu') for `--level=eu`, ('open', None) for `--open`, None for a plain word."""
    if token.quoted:
        return None
    m = _OPTION.match(token.text)
    if not m:
        return None
    return m.group(1).lower(), m.group(2)
