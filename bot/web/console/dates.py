"""Dates and times as the console shows them, with the month's and the weekday's short names in the
reader's language ('Sat 4 May 2030, 19:00', 'Sad 4 Mai 2030, 19:00'), from Babel's CLDR data, never
the machine's locale."""
from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

from bot.web import i18n


def day(moment: datetime, with_time: bool = True, with_weekday: bool = False) -> str:
    """'4 May 2030, 19:00' (or without the time; or with the weekday first), in `moment`'s own zone."""
    pattern = ("EEE " if with_weekday else "") + "d MMM y" + (", HH:mm" if with_time else "")
    return str(format_datetime(moment, pattern, locale=i18n.current.get()))
