"""English texts. Keys are dotted by flow; {names} are filled in by flows.texts.t()."""
from __future__ import annotations

TEXTS: dict[str, str] = {
    # engine
    "engine.sorry": "Sorry, something went wrong on our side. Please try again in a minute.",
    # menu
    "menu.title": "What would you like to do?",
    "menu.join": "Join",
    "menu.events": "Events near me",
    "menu.help": "Help",
    "menu.unknown": "Sorry, I didn't understand that.",
    "help.text": (
        "This is {movement}. We send news, events and action alerts to supporters who ask for them.\n"
        "Reply MENU for options, STOP to stop messages, MYDATA to see what we hold, DELETE to erase it.\n"
        "Privacy notice: {privacy_url}"
    ),
    # choices rendered as text (SMS and the terminal chat)
    "render.reply_one": "Reply with a number:",
    "render.reply_many": "Reply with one or more numbers, e.g. 1 3:",
}
