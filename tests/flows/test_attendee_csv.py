"""An event's attendee file, as the CLI and the console give it: every cell a spreadsheet shows and never runs."""
from __future__ import annotations

import csv
import io

from flows.organiser.events import RSVP_WORDS
from flows.organiser.exports import ATTENDEE_HEADER, attendee_csv


def test_a_formula_in_a_name_is_shown_never_run():
    rows = [{"supporter_id": 1, "first_name": '=HYPERLINK("http://x","click")', "phone": "+447400000001",
             "telegram_id": None, "status": "declined", "attended": None, "updated_at": "2026-12-01T10:00:00Z"}]
    read = list(csv.reader(io.StringIO(attendee_csv(rows, RSVP_WORDS))))
    assert read[0] == ATTENDEE_HEADER
    assert read[1] == ["1", '\'=HYPERLINK("http://x","click")', "'+447400000001", "", "can't go", "",
                       "2026-12-01T10:00:00Z"]
