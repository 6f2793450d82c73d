"""How a supporter's text is read as a keyword: any case, stray punctuation and spaces ignored."""
from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\s/]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_BOT_NAME = re.compile(r"^(/\w+)@\w+")  # /start@muster_bot


def normalise(text: str) -> str:
    """'  stop! ' → 'STOP'; 'Opt-out' → 'OPTOUT'; '/start@muster_bot x' → '/START X'."""
    if text.isalnum():  # one word of letters and digits (most replies): nothing to take out
        return text.upper()
    text = _BOT_NAME.sub(r"\1", text.strip())
    text = _PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text).strip().upper()


def split(text: str) -> tuple[str, str]:
    """The first word as a keyword, and the rest of the original text as its argument."""
    stripped = _BOT_NAME.sub(r"\1", text.strip())
    head, _, rest = stripped.partition(" ")
    return normalise(head), rest.strip()


# A message that plainly asks to stop, in words rather than the keyword (flows/supporter/consent.py answers it).
_STOP_REQUEST = re.compile(
    r"\b(?:"
    r"UNSUBSCRIBE|UNSUB|OPT ME OUT|OPT OUT|OPTOUT|LEAVE ME ALONE|REMOVE ME|TAKE ME OFF|"
    r"(?:STOP|QUIT|CEASE) "
    r"(?:TEXTING|TEXTS|MESSAGING|MESSAGES|SENDING|CONTACTING|EMAILING|SPAMMING|BOTHERING|HARASSING)|"
    r"(?:DONT|DO NOT|NEVER) (?:TEXT|MESSAGE|CONTACT|SPAM|BOTHER|EMAIL) ME|"
    r"NO MORE (?:TEXTS|MESSAGES|TEXTING|MESSAGING|SPAM)|"
    r"(?:DONT|DO NOT) WANT (?:THESE|THIS|ANY|YOUR|MORE|TO GET|TO RECEIVE)|"
    r"(?:WANT|WANNA|WISH|LIKE) TO (?:STOP|UNSUBSCRIBE)"
    r"(?: (?:GETTING|RECEIVING|THESE|THE|YOUR|MESSAGES|TEXTS|NOW|PLEASE|ALL))*$"
    r")\b"
    r"|^(?:PLEASE |PLS |PLZ |JUST |OK |OKAY |NO |OH )*STOP"
    r"(?: (?:IT|THIS|THESE|NOW|PLEASE|PLS|PLZ|ALL|THANKS|THANK YOU))*$"
)
_NOT_STOPPING = re.compile(r"\b(?:DONT|DO NOT|NEVER|NOT) (?:STOP|UNSUBSCRIBE|REMOVE)\b")


def asks_to_stop(text: str) -> bool:
    """'Please stop texting me!', 'unsubscribe me', 'leave me alone', 'no more messages' → True.

    The opt-out keywords themselves (a whole message STOP, UNSUBSCRIBE, …) are matched before this,
    as the providers match them; this reads the rest, in any case and with any punctuation. A
    message that says not to stop ("don't stop texting me") is not a request to stop.
    """
    return stop_request(normalise(text))


def stop_request(words: str) -> bool:
    """asks_to_stop, for a text already normalised (Context.word)."""
    return bool(words) and len(words) <= 160 and bool(_STOP_REQUEST.search(words)) and not _NOT_STOPPING.search(words)
