"""An organiser's own preferences: the language they read the web console in (audited)."""
from __future__ import annotations

from datetime import datetime

from flows.core.texts import LANGUAGE_NAMES
from flows.organiser import audit
from flows.organiser.access import Actor
from flows.organiser.errors import SupporterError
from storage import organisers
from storage.db import Tx


async def set_console_language(tx: Tx, actor: Actor, phone: str | None, telegram_id: int | None,
                               language: str, now: datetime) -> None:
    """Read the console in `language` from now on, for every role this organiser holds."""
    if language not in LANGUAGE_NAMES:
        raise SupporterError("Choose English or Cymraeg.")
    organisers.set_language(tx, phone, telegram_id, language)
    audit.note(tx, actor, now, "organiser.language", detail=f"language {language}")
