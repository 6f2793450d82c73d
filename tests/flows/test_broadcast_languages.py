"""Broadcasts and action alerts per language: each supporter gets the version in their language,
else the default's; a supporter whose language is unknown gets the default's or, with
MUSTER_UNKNOWN_LANGUAGE=all, every version in one message; the preview counts each language's cost."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, draft
from flows.organiser.errors import BroadcastError
from storage import broadcasts as store
from storage.broadcasts import Audience
from tests.flows.broadcast_support import NOW, person

ADMIN = Actor(trusted=True)
WALES = FlowSettings(sms_quiet_hours="", languages=("en", "cy"))
ENGLISH = "Hi {first_name}, the rally is on Saturday."
WELSH = "Helo {first_name}, mae'r rali ddydd Sadwrn yn Abertawe. Dewch â ffrind i'r ŵyl!"


async def _mixed(tx) -> dict[str, int]:
    """One SMS supporter per language stated: English, Welsh, unknown (blank), another; one who never
    stated a language (English by default); and one on Telegram in Welsh."""
    found = {}
    for label, lang in (("en", "en"), ("cy", "cy"), ("unknown", ""), ("other", "und")):
        sid = await person(tx, name=label)
        await tx.execute("UPDATE supporters SET language = ?, language_stated = 1 WHERE id = ?", (lang, sid))
        found[label] = sid
    found["unstated"] = await person(tx, name="unstated")
    found["cy_telegram"] = await person(tx, sms=None, telegram="opted_in", name="Siân")
    await tx.execute("UPDATE supporters SET language = 'cy', language_stated = 1 WHERE id = ?", (found["cy_telegram"],))
    return found


async def _texts(tx, broadcast_id: int) -> dict[int, dict]:
    rows = await tx.query("SELECT supporter_id, payload FROM outbox WHERE broadcast_id = ?", (broadcast_id,))
    return {r[0]: json.loads(r[1]) for r in rows}


@pytest.mark.parametrize("unknown", ["default", "all"])
async def test_each_supporter_gets_their_language_and_the_unknown_the_setting(db, unknown):
    settings = FlowSettings(sms_quiet_hours="", languages=("cy", "en"), unknown_language=unknown)
    async with db.transaction() as tx:
        who = await _mixed(tx)
        b = await compose(tx, ADMIN, NOW, body=ENGLISH, audience=Audience(), bodies={"cy": WELSH}, settings=settings)
        await broadcast_send.confirm(tx, b, ADMIN, NOW, settings)
        texts = await _texts(tx, b.id)
    assert len(texts) == 6  # one message each, whatever their language
    assert texts[who["en"]]["text"] == "Hi en, the rally is on Saturday.\nReply STOP to stop."
    assert texts[who["cy"]]["text"] == WELSH.format(first_name="cy") + "\nAtebwch STOP neu STOPIO i stopio."
    assert texts[who["cy_telegram"]]["text"] == WELSH.format(first_name="Siân")
    for label in ("unknown", "other", "unstated"):
        text = texts[who[label]]["text"]
        if unknown == "default":
            assert text == f"Hi {label}, the rally is on Saturday.\nReply STOP to stop."
        else:  # Welsh first, as MUSTER_LANGUAGES lists it, then English; both stop lines
            assert text == (WELSH.format(first_name=label) + "\n\n" + ENGLISH.format(first_name=label)
                            + "\nAtebwch STOP neu STOPIO i stopio.\nReply STOP to stop.")


async def test_without_a_welsh_version_welsh_speakers_get_the_default(db):
    async with db.transaction() as tx:
        who = await _mixed(tx)
        b = await compose(tx, ADMIN, NOW, body=ENGLISH, audience=Audience(), settings=WALES)
        await broadcast_send.confirm(tx, b, ADMIN, NOW, WALES)
        texts = await _texts(tx, b.id)
    assert texts[who["cy"]]["text"] == "Hi cy, the rally is on Saturday.\nReply STOP to stop."


async def test_an_alert_in_welsh_has_welsh_lines_and_buttons(db):
    async with db.transaction() as tx:
        who = await _mixed(tx)
        b = await compose(tx, ADMIN, NOW, body="Register by Friday", audience=Audience(), kind="alert",
                          cta_text="Register to vote", cta_link="https://www.gov.uk/register-to-vote",
                          bodies={"cy": "Cofrestrwch erbyn dydd Gwener"}, ctas={"cy": "Cofrestrwch i bleidleisio"},
                          settings=WALES)
        await broadcast_send.confirm(tx, b, ADMIN, NOW, WALES)
        texts = await _texts(tx, b.id)
    welsh = texts[who["cy_telegram"]]
    assert welsh["text"].startswith("Cofrestrwch erbyn dydd Gwener\n\nGweithredu: Cofrestrwch i bleidleisio https://")
    assert [c[1] for c in welsh["choices"]] == ["Wedi gwneud", "Methu"]
    assert "Action: Register to vote" in texts[who["en"]]["text"]


async def test_the_preview_gives_each_language_its_encoding_segments_and_cost(db):
    settings = FlowSettings(sms_quiet_hours="", languages=("en", "cy"), unknown_language="all",
                            sms_price_per_segment=Decimal("0.04"))
    async with db.transaction() as tx:
        await _mixed(tx)
        b = await compose(tx, ADMIN, NOW, body=ENGLISH, audience=Audience(), bodies={"cy": WELSH}, settings=settings)
        p = await broadcast_send.preview(tx, b, NOW, settings)
    figures = {f.version: f for f in p.languages}
    assert set(figures) == {"en", "cy", "*"}
    assert figures["en"].counts == {"sms": 1, "telegram": 0, "chats": 0}
    assert figures["en"].encodings == {"GSM-7": 1} and figures["en"].segments == 1
    assert figures["cy"].counts == {"sms": 1, "telegram": 1, "chats": 0}
    assert figures["cy"].encodings == {"UCS-2": 1}  # ŵ is outside GSM-7
    assert figures["cy"].segments == 2 and figures["cy"].cost == Decimal("0.08")
    assert figures["*"].counts["sms"] == 3 and figures["*"].encodings == {"UCS-2": 3}  # unknown, other, unstated
    assert p.segments == sum(f.segments for f in p.languages)
    assert p.cost == sum(f.cost for f in p.languages)
    shown = broadcast_send.describe(p, settings)
    assert ("Welsh (Cymraeg): 1 by SMS, 1 on Telegram, 0 group chats. SMS: UCS-2, 2 segments (2 segments each), "
            "about £0.08.") in shown
    assert "The Welsh (Cymraeg) version has â, ŵ, outside GSM-7: it goes as UCS-2" in shown
    assert "English and Welsh (Cymraeg) in one message (language unknown)" in shown


async def test_a_version_in_a_language_not_configured_is_refused_with_the_reason():
    with pytest.raises(BroadcastError, match="MUSTER_LANGUAGES offers English only"):
        draft(ADMIN, NOW, body=ENGLISH, audience=Audience(), bodies={"cy": WELSH},
              settings=FlowSettings(languages=("en",)))
    with pytest.raises(BroadcastError, match="needs the Welsh"):
        draft(ADMIN, NOW, body="x", audience=Audience(), kind="alert", cta_text="Go", ctas={"cy": "Ewch"},
              settings=WALES)
    with pytest.raises(BroadcastError, match="Welsh \\(Cymraeg\\) version: \\{name\\}"):
        draft(ADMIN, NOW, body=ENGLISH, audience=Audience(), bodies={"cy": "Helo {name}"}, settings=WALES)


async def test_a_repeat_keeps_its_welsh_version(db):
    async with db.transaction() as tx:
        b = await compose(tx, ADMIN, NOW, body=ENGLISH, audience=Audience(), bodies={"cy": WELSH}, settings=WALES)
        saved = await store.fetch(tx, b.id)
    assert saved.versions == {"cy": {"body": WELSH}}
