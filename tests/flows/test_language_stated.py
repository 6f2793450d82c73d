"""A supporter's language is known once they state it (ENGLISH or CYMRAEG, at sign-up or any time):
English by default is not a choice, so with MUSTER_UNKNOWN_LANGUAGE=all a supporter who never said
gets every version, and one who texted ENGLISH the English only."""
from __future__ import annotations

from flows.core.settings import FlowSettings
from flows.organiser import sending
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import supporters
from storage.broadcasts import Audience
from tests.harness import Harness

SAID, SILENT = "+447700900101", "+447700900102"


async def test_english_stated_is_known_and_english_by_default_is_not(harness: Harness) -> None:
    for phone in (SAID, SILENT):
        await harness.say("sms", phone, "JOIN")
    await harness.say("sms", SAID, "ENGLISH")
    async with harness.db.transaction() as tx:
        said, silent = [await supporters.find(tx, "sms", p) for p in (SAID, SILENT)]
        assert (said.language, said.language_stated) == ("en", 1)
        assert (silent.language, silent.language_stated) == ("en", 0)
        await tx.execute("UPDATE supporters SET status = 'active', sms_consent = 'opted_in'")
        settings = FlowSettings(sms_quiet_hours="", languages=("en", "cy"), unknown_language="all")
        actor = Actor(trusted=True)
        b = await compose(tx, actor, harness.clock.now(), body="Rally on Saturday", audience=Audience(),
                          bodies={"cy": "Rali ddydd Sadwrn"}, settings=settings)
        await sending.confirm(tx, b, actor, harness.clock.now(), settings)
        texts = dict(await tx.query("SELECT address, payload FROM outbox WHERE broadcast_id = ?", (b.id,)))
    assert "Rali ddydd Sadwrn" not in texts[SAID] and "Rally on Saturday" in texts[SAID]
    assert "Rali ddydd Sadwrn" in texts[SILENT] and "Rally on Saturday" in texts[SILENT]
