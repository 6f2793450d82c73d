"""The chat console composing a broadcast and an action alert in English and Welsh (MUSTER_LANGUAGES=en,cy):
the Welsh version asked after the English, SKIP leaving Welsh speakers the English, a warning when the Welsh
is outside GSM-7, the preview per language; and an alert's deadline in each recipient's language."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import broadcasts as store
from storage.broadcasts import Audience
from tests.flows.broadcast_support import NOW, organiser, person
from tests.flows.broadcast_support import wales as seed_wales
from tests.harness import Harness

ORG = "42"
WALES = FlowSettings(sms_quiet_hours="", languages=("en", "cy"))
WELSH = "Helo {first_name}, mae'r rali ddydd Sadwrn. Dewch â ffrind i'r ŵyl!"


@pytest.fixture
async def wales(tmp_path, clock):
    h = await Harness.create(tmp_path, settings=WALES, clock=clock)
    async with h.db.transaction() as tx:
        await seed_wales(tx, int(ORG))
    yield h
    await h.close()


def _keys(messages):
    return [c["key"] for m in messages for c in m.get("choices", [])]


async def test_a_broadcast_asks_for_the_welsh_warns_of_ucs2_and_previews_each_language(wales):
    await wales.say("telegram", ORG, "/broadcast")
    asked = await wales.texts("telegram", ORG, "Hi {first_name}, the rally is on Saturday.")
    assert "Now the Welsh (Cymraeg) version" in asked and "SKIP and they get the English" in asked
    said = await wales.texts("telegram", ORG, WELSH)
    assert "ŵ and ŷ are outside GSM-7" in said and "Who should get it?" in said
    preview = await wales.say("telegram", ORG, "all")
    text = preview[0]["text"]
    assert "English: 1 by SMS, 0 on Telegram, 0 group chats. SMS: GSM-7, 1 segment" in text
    assert "Welsh (Cymraeg): 1 by SMS, 0 on Telegram, 0 group chats. SMS: UCS-2, 2 segments" in text
    assert "The Welsh (Cymraeg) version has â, ŵ, outside GSM-7" in text
    assert "Sample in Welsh (Cymraeg):" in text
    async with wales.db.transaction() as tx:
        (b,) = await store.recent(tx)
    assert b.versions == {"cy": {"body": WELSH}}
    assert "on its way (2 messages)" in await wales.texts("telegram", ORG, choice=_keys(preview)[0])
    await wales.deliver()
    assert wales.channels["sms"].pop("+447400100002")[0]["text"].startswith("Helo Siôn, mae'r rali")
    assert wales.channels["sms"].pop("+447400100001")[0]["text"].startswith("Hi Aisha, the rally")


async def test_skip_leaves_welsh_speakers_the_english_and_gsm7_welsh_is_not_warned_about(wales):
    await wales.say("telegram", ORG, "/broadcast Meeting tonight")
    said = await wales.texts("telegram", ORG, "SKIP")
    assert "Who should get it?" in said and "GSM-7" not in said
    preview = await wales.texts("telegram", ORG, "all")
    assert "Welsh (Cymraeg):" not in preview
    async with wales.db.transaction() as tx:
        (b,) = await store.recent(tx)
    assert b.versions == {}
    await wales.say("telegram", ORG, "/broadcast Meeting tonight")
    said = await wales.texts("telegram", ORG, "Cyfarfod heno")
    assert "GSM-7" not in said and "Who should get it?" in said


async def test_an_unknown_placeholder_in_the_welsh_is_asked_again(wales):
    await wales.say("telegram", ORG, "/broadcast Hello")
    said = await wales.texts("telegram", ORG, "Helo {enw}")
    assert "Welsh (Cymraeg):" in said and "Now the Welsh (Cymraeg) version" in said
    assert "Who should get it?" in await wales.texts("telegram", ORG, "Helo {first_name}")


async def test_an_alert_asks_for_the_welsh_text_and_call_to_action(wales):
    await wales.say("telegram", ORG, "/alert Register by Friday")
    assert "Now the Welsh" in await wales.texts("telegram", ORG, "Register to vote https://www.gov.uk/register")
    asked = await wales.texts("telegram", ORG, "Cofrestrwch erbyn dydd Gwener")
    assert "call to action in Welsh (Cymraeg)?" in asked
    assert "By when?" in await wales.texts("telegram", ORG, "Cofrestrwch i bleidleisio https://www.gov.uk/register")
    await wales.say("telegram", ORG, "2026-11-06 17:00")
    preview = await wales.say("telegram", ORG, "all")
    assert "Welsh (Cymraeg): 1 by SMS" in preview[0]["text"]
    async with wales.db.transaction() as tx:
        (b,) = await store.recent(tx)
    assert b.versions == {"cy": {"body": "Cofrestrwch erbyn dydd Gwener", "cta_text": "Cofrestrwch i bleidleisio"}}
    await wales.say("telegram", ORG, choice=_keys(preview)[0])
    await wales.deliver()
    welsh = wales.channels["sms"].pop("+447400100002")[0]["text"]
    assert "Gweithredu: Cofrestrwch i bleidleisio https://www.gov.uk/register\n" in welsh
    english = wales.channels["sms"].pop("+447400100001")[0]["text"]
    assert "Action: Register to vote https://www.gov.uk/register" in english and "By: Fri 6 Nov 2026 17:00" in english


async def test_an_alert_skipping_the_welsh_call_to_action_keeps_the_english_one(wales):
    await wales.say("telegram", ORG, "/alert Register by Friday")
    await wales.say("telegram", ORG, "Register to vote")
    await wales.say("telegram", ORG, "Cofrestrwch erbyn dydd Gwener")
    assert "By when?" in await wales.texts("telegram", ORG, "skip")
    await wales.say("telegram", ORG, "SKIP")
    await wales.say("telegram", ORG, "all")
    async with wales.db.transaction() as tx:
        (b,) = await store.recent(tx)
    assert b.versions == {"cy": {"body": "Cofrestrwch erbyn dydd Gwener"}}


async def test_an_organiser_writing_in_welsh_is_asked_in_welsh(wales):
    await wales.say("telegram", ORG, "/broadcast list")
    async with wales.db.transaction() as tx:
        await tx.execute("UPDATE supporters SET language = 'cy' WHERE telegram_id = ?", (int(ORG),))
    asked = await wales.texts("telegram", ORG, "/broadcast Meeting tonight")
    assert "Nawr y fersiwn Cymraeg" in asked


async def test_english_only_asks_for_no_other_version(harness):
    async with harness.db.transaction() as tx:
        await organiser(tx, "admin", telegram_id=int(ORG))
        await person(tx, name="Aisha")
    await harness.say("telegram", ORG, "/broadcast")
    assert "Who should get it?" in await harness.texts("telegram", ORG, "Hello")


# -- an alert's deadline, in each recipient's language ----------------------------------------------------
async def test_an_alerts_deadline_is_shown_in_each_recipients_language(db):
    admin = Actor(trusted=True)
    deadline = datetime(2026, 11, 6, 17, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        who = {}
        for lang in ("en", "cy"):
            who[lang] = await person(tx, sms=None, telegram="opted_in", name=lang)
            await tx.execute("UPDATE supporters SET language = ? WHERE id = ?", (lang, who[lang]))
        b = await compose(tx, admin, NOW, body="Register by Friday", audience=Audience(), kind="alert",
                          cta_text="Register", deadline=deadline, bodies={"cy": "Cofrestrwch erbyn dydd Gwener"},
                          settings=WALES)
        await broadcast_send.confirm(tx, b, admin, NOW, WALES)
        rows = await tx.query("SELECT supporter_id, payload FROM outbox WHERE broadcast_id = ?", (b.id,))
    texts = {sid: json.loads(payload)["text"] for sid, payload in rows}
    assert "By: Fri 6 Nov 2026 17:00 GMT" in texts[who["en"]]
    assert "Erbyn: Gwen 6 Tach 2026 17:00 GMT" in texts[who["cy"]]


async def test_every_version_in_one_message_gives_each_its_own_deadline(db):
    admin = Actor(trusted=True)
    both = FlowSettings(sms_quiet_hours="", languages=("cy", "en"), unknown_language="all")
    async with db.transaction() as tx:
        sid = await person(tx, sms=None, telegram="opted_in", name="Sam")
        await tx.execute("UPDATE supporters SET language = '' WHERE id = ?", (sid,))
        b = await compose(tx, admin, NOW, body="Register by Friday", audience=Audience(), kind="alert",
                          cta_text="Register", deadline=datetime(2026, 11, 6, 17, 0, tzinfo=UTC),
                          bodies={"cy": "Cofrestrwch erbyn dydd Gwener"}, settings=both)
        await broadcast_send.confirm(tx, b, admin, NOW, both)
        (payload,) = await tx.query("SELECT payload FROM outbox WHERE broadcast_id = ?", (b.id,))
    text = json.loads(payload[0])["text"]
    assert text.index("Erbyn: Gwen 6 Tach 2026 17:00 GMT") < text.index("By: Fri 6 Nov 2026 17:00 GMT")
