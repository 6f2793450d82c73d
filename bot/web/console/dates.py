"""Dates and times as the console shows them, with the month's and the weekday's short names in the
reader's language ('Sat 4 May 2030, 19:00', 'Sad 4 Mai 2030, 19:00'), never the machine's locale."""
from __future__ import annotations

from datetime import datetime

from bot.web.i18n import gettext


def month(moment: datetime) -> str:
    """The month's short name: Jan … Dec, Ion … Rhag."""
    return (gettext("Jan"), gettext("Feb"), gettext("Mar"), gettext("Apr"), gettext("May"), gettext("Jun"),
            gettext("Jul"), gettext("Aug"), gettext("Sep"), gettext("Oct"), gettext("Nov"),
            gettext("Dec"))[moment.month - 1]


def weekday(moment: datetime) -> str:
    """The weekday's short name: Mon … Sun, Llun … Sul."""
    return (gettext("Mon"), gettext("Tue"), gettext("Wed"), gettext("Thu"), gettext("Fri"), gettext("Sat"),
            gettext("Sun"))[moment.weekday()]


def day(moment: datetime, with_time: bool = True, with_weekday: bool = False) -> str:
    """'4 May 2030, 19:00' (or without the time; or with the weekday first)."""
    shown = f"{moment.day} {month(moment)} {moment.year}" + (f", {moment:%H:%M}" if with_time else "")
    return f"{weekday(moment)} {shown}" if with_weekday else shown
