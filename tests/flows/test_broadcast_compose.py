"""Composing a broadcast: safe placeholders, scope, preview figures, confirmation."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, parse_audience
from flows.organiser.errors import BroadcastError, ScopeError
from flows.values import segments
from flows.values.templates import TemplateError, compile_template, render
from storage import broadcasts as store
from storage.broadcasts import Audience
from tests.flows.broadcast_support import NOW, group, organiser, person

ADMIN = Actor(trusted=True)
SETTINGS = FlowSettings(sms_quiet_hours="")


@pytest.mark.parametrize("source", [
    "{first_name.__class__}", "{first_name.__class__.__init__.__globals__}", "{0}", "{}", "{first_name[0]}",
    "{first_name!r}", "{first_name:>99999}", "{first_name:{group}}", "{surname}", "Hi {", "Hi }",
])
def test_unsafe_or_unknown_placeholders_are_refused(source):
    with pytest.raises(TemplateError):
        compile_template(source)


def test_placeholders_are_filled_and_fall_back():
    assert render("Hi {first_name} of {group}", {"first_name": "Aisha", "group": "Leeds"}) == "Hi Aisha of Leeds"
    assert render("Hi {first_name}", {"first_name": None}) == "Hi friend"
    assert render("Hi {first_name}", {"first_name": "   "}) == "Hi friend"
    assert render("{{first_name}} is literal") == "{first_name} is literal"
    # a value that looks like a template is never expanded
    assert render("Hi {first_name}", {"first_name": "{group.__class__}"}) == "Hi {group.__class__}"


async def test_compose_refuses_unknown_placeholder_and_saves_nothing(db):
    async with db.transaction() as tx:
        with pytest.raises(BroadcastError, match="not a placeholder"):
            await compose(tx, ADMIN, NOW, body="Hi {first_name.__class__}", audience=Audience())
        assert await store.recent(tx) == []


async def test_alert_needs_a_call_to_action(db):
    async with db.transaction() as tx:
        with pytest.raises(BroadcastError, match="call to action"):
            await compose(tx, ADMIN, NOW, body="Vote!", audience=Audience(), kind="alert")


async def test_scope_local_organiser_only_reaches_own_groups(db):
    async with db.transaction() as tx:
        leeds, york = await group(tx, "Leeds"), await group(tx, "York")
        role = await organiser(tx, "organiser", telegram_id=77, group_id=leeds)
        local = Actor((role,), "telegram:77")
        with pytest.raises(ScopeError):
            await compose(tx, local, NOW, body="Hi", audience=Audience(groups=(york,)))
        with pytest.raises(ScopeError):
            await compose(tx, local, NOW, body="Hi", audience=Audience(groups=(leeds, york)))
        draft = await compose(tx, local, NOW, body="Hi", audience=Audience())
        assert draft.filters.groups == (leeds,)  # "everyone" means everyone in their groups
        mine = await person(tx, group=leeds)
        await person(tx, group=york)
        await person(tx)
        p = await broadcast_send.preview(tx, draft, NOW, SETTINGS)
        assert p.total == 1
        # nor can they confirm or cancel someone else's national broadcast
        national = await compose(tx, ADMIN, NOW, body="Hi all", audience=Audience())
        with pytest.raises(ScopeError):
            await broadcast_send.confirm(tx, national, local, NOW, SETTINGS)
        with pytest.raises(ScopeError):
            await broadcast_send.cancel(tx, national, local, NOW)
        assert mine


async def test_someone_without_a_role_cannot_compose(db):
    async with db.transaction() as tx:
        with pytest.raises(ScopeError):
            await compose(tx, Actor(), NOW, body="Hi", audience=Audience())


async def test_admin_reaches_anyone(db):
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        role = await organiser(tx, "admin", telegram_id=1)
        draft = await compose(tx, Actor((role,)), NOW, body="Hi", audience=Audience())
        await person(tx, group=leeds)
        await person(tx)
        assert (await broadcast_send.preview(tx, draft, NOW, SETTINGS)).total == 2


async def test_preview_figures(db):
    settings = FlowSettings(sms_quiet_hours="", sms_price_per_segment=Decimal("0.05"),
                            sms_segments_per_second=2.0, telegram_messages_per_second=10.0)
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        for _ in range(4):
            await person(tx, name="Aisha", group=leeds)
        for _ in range(3):
            await person(tx, sms=None, telegram="opted_in")
        body = "Hi {first_name} \u2014 it\u2019s " + "x" * 150  # dash and curly quote get tidied
        draft = await compose(tx, ADMIN, NOW, body=body, audience=Audience())
        p = await broadcast_send.preview(tx, draft, NOW, settings)
    assert p.counts == {"sms": 4, "telegram": 3, "chats": 0}
    assert p.sample.startswith("Hi Aisha - it's xxx")
    assert p.sms_sample.endswith("Reply STOP to stop.")
    assert p.sms.encoding == "GSM-7" and p.sms.segments == 2
    assert p.changes == ["1 em dash → -", "1 curly quote → straight quote"]
    assert p.cost == Decimal("0.40")        # 4 people × 2 segments × 0.05
    assert p.seconds == pytest.approx(4.0)  # 8 segments at 2/s beats 3 messages at 10/s
    text = broadcast_send.describe(p, settings)
    assert "4 by SMS, 3 on Telegram" in text and "£0.40" in text and "em dash" in text


async def test_normalisation_can_be_turned_off(db):
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="It\u2019s on", audience=Audience(), normalise=False)
        p = await broadcast_send.preview(tx, draft, NOW, SETTINGS)
    assert p.changes == [] and p.sms.encoding == "UCS-2"


async def test_over_a_thousand_needs_the_count_typed(db):
    async with db.transaction() as tx:
        await tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) "
            "INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
            "SELECT '+4474009' || printf('%05d', i), 'active', 'opted_in', 'sms', 'x' FROM n"
        )
        draft = await compose(tx, ADMIN, NOW, body="Hi", audience=Audience())
        with pytest.raises(BroadcastError, match="type 1001"):
            await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS)
        with pytest.raises(BroadcastError):
            await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, typed="1000")
        assert (await store.get(tx, draft.id)).status == "draft"
        assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 0
        done = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, typed="1,001")
        assert done.status == "sending" and done.recipients == 1001


async def test_a_thousand_or_fewer_confirm_without_typing(db):
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="Hi", audience=Audience())
        done = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS)
        assert done.status == "sending" and done.recipients == 1
        with pytest.raises(BroadcastError, match="already"):
            await broadcast_send.confirm(tx, done, ADMIN, NOW, SETTINGS)


async def test_parse_audience(db):
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        north = await group(tx, "North London")
        a, every = await parse_audience(tx, 'group:Leeds,"North London" interest:Housing channel:sms chats every')
        assert a == Audience(groups=(leeds, north), interests=("housing",), channel="sms", chats=True)
        assert every
        a, _ = await parse_audience(tx, "event:12:going,maybe alert:5:not_yet")
        assert a == Audience(event_id=12, rsvp=("going", "maybe"), alert_id=5, response="not_yet")
        assert (await parse_audience(tx, "all"))[0] == Audience()
        for bad in ("group:Nowhere", "colour:red", "event:x", "alert:5:maybe", "channel:fax"):
            with pytest.raises(BroadcastError):
                await parse_audience(tx, bad)
        assert json.loads(Audience(groups=(leeds,)).to_json()) == {"groups": [leeds]}


async def test_suppressed_identities_are_never_previewed_or_sent(db):
    from storage import suppression

    async with db.transaction() as tx:
        keep = await person(tx, phone_number="+447400555001")
        await person(tx, phone_number="+447400555002")
        await person(tx, sms=None, telegram="opted_in", telegram_id=8888)
        suppression.add(tx, SETTINGS.erasure_salt, NOW, phone="+447400555002")
        suppression.add(tx, SETTINGS.erasure_salt, NOW, telegram_id=8888)
        draft = await compose(tx, ADMIN, NOW, body="Hi", audience=Audience())
        assert (await broadcast_send.preview(tx, draft, NOW, SETTINGS)).total == 1
        b = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS)
        sent_to = [r[0] for r in await tx.query("SELECT supporter_id FROM outbox WHERE broadcast_id = ?", (b.id,))]
    assert sent_to == [keep]


async def test_too_long_for_sms_is_refused_and_nothing_saved(db):
    async with db.transaction() as tx:
        with pytest.raises(BroadcastError, match="at most 1,600"):
            await compose(tx, ADMIN, NOW, body="x" * 1590, audience=Audience())
        assert await store.recent(tx) == []


async def test_local_organisers_list_only_their_groups_broadcasts(db):
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        role = await organiser(tx, "organiser", telegram_id=77, group_id=leeds)
        local = Actor((role,), "telegram:77")
        await compose(tx, ADMIN, NOW, body="National", audience=Audience())
        mine = await compose(tx, local, NOW, body="Leeds only", audience=Audience())
        assert [b.id for b in await store.recent(tx, 10, local.scope())] == [mine.id]
        assert len(await store.recent(tx, 10, ADMIN.scope())) == 2


async def test_preview_sums_every_recipients_own_text_and_matches_what_is_queued(db):
    """A name outside GSM-7 turns that recipient's message into UCS-2: the preview bills each
    recipient's own text, and its total is what the queued messages really cost."""
    settings = FlowSettings(sms_quiet_hours="", sms_price_per_segment=Decimal("0.05"))
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        for name in ("Aisha", "Aisha", "Tom", "Siân", "Zoë", None):
            await person(tx, name=name, group=leeds)
        await person(tx, sms=None, telegram="opted_in", name="Siân")  # Telegram is not billed
        draft = await compose(tx, ADMIN, NOW, body="Hi {first_name}, " + "x" * 120, audience=Audience())
        p = await broadcast_send.preview(tx, draft, NOW, settings)
        assert p.counts == {"sms": 6, "telegram": 1, "chats": 0}
        assert p.encodings == {"GSM-7": 4, "UCS-2": 2}
        assert p.segments == 4 * 1 + 2 * 3 and p.widest == 3
        assert p.cost == Decimal("0.50")
        started = await broadcast_send.start(tx, draft, NOW, settings)
        rows = await tx.query("SELECT payload FROM outbox WHERE broadcast_id = ? AND channel = 'sms'", (started.id,))
    queued = [segments.count_segments(json.loads(r[0])["text"]).segments for r in rows]
    assert sum(queued) == p.segments and max(queued) == p.widest
    text = broadcast_send.describe(p, settings)
    assert "4 GSM-7 and 2 UCS-2" in text and "10 segments in all (up to 3 segments each)" in text
    assert "£0.50" in text


async def test_preview_says_one_encoding_and_segments_each_when_all_agree(db):
    async with db.transaction() as tx:
        for name in ("Siân", "Zoë"):
            await person(tx, name=name)
        draft = await compose(tx, ADMIN, NOW, body="Hi {first_name}", audience=Audience())
        p = await broadcast_send.preview(tx, draft, NOW, FlowSettings(sms_quiet_hours=""))
    assert broadcast_send.sms_figures(p).startswith("SMS: UCS-2, 2 segments in all (1 segment each)")


async def test_an_audience_naming_another_groups_event_is_refused_on_every_front(db):
    """The recipients are limited to the organiser's groups anyway; naming another group's event
    would still show who RSVPed to it, so compose refuses it (the CLI, the chat and the web call it)."""
    async with db.transaction() as tx:
        leeds, york = await group(tx, "Leeds"), await group(tx, "York")
        local = Actor((await organiser(tx, "organiser", telegram_id=78, group_id=leeds),), "telegram:78")
        event = await tx.scalar(
            "INSERT INTO events (public_id, title, starts_at, ends_at, timezone, status, group_id, created_at, "
            "updated_at) VALUES ('yk1', 'York AGM', '2026-12-20T18:00:00.000000Z', '2026-12-20T20:00:00.000000Z', "
            "'Europe/London', 'confirmed', ?, 'x', 'x') RETURNING id", (york,))
        with pytest.raises(ScopeError):
            await compose(tx, local, NOW, body="Hi", audience=Audience(event_id=event))
        with pytest.raises(BroadcastError, match="no event #999"):
            await compose(tx, ADMIN, NOW, body="Hi", audience=Audience(event_id=999))
        assert (await compose(tx, ADMIN, NOW, body="Hi", audience=Audience(event_id=event))).id


async def test_an_alert_can_go_to_the_people_who_came(db):
    """event:ID:attended reaches those marked at the door, whatever their RSVP said."""
    async with db.transaction() as tx:
        came, stayed_away, walked_in = await person(tx), await person(tx), await person(tx)
        event = await tx.scalar(
            "INSERT INTO events (public_id, title, starts_at, ends_at, timezone, status, created_at, updated_at) "
            "VALUES ('m1', 'Meeting', '2026-11-01T18:00:00.000000Z', '2026-11-01T20:00:00.000000Z', "
            "'Europe/London', 'confirmed', 'x', 'x') RETURNING id")
        for who, status, attended in ((came, "going", 1), (stayed_away, "going", 0), (walked_in, "maybe", 1)):
            await tx.execute("INSERT INTO rsvps (event_id, supporter_id, status, attended, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, 'x', 'x')", (event, who, status, attended))
        audience, _ = await parse_audience(tx, f"event:{event}:attended")
        draft = await compose(tx, ADMIN, NOW, body="Thanks for coming!", audience=audience, kind="alert",
                              cta_text="Sign the petition")
        assert (await broadcast_send.preview(tx, draft, NOW, SETTINGS)).total == 2
        going, _ = await parse_audience(tx, f"event:{event}:going")
        assert (await store.count(tx, going))["sms"] == 2
        with pytest.raises(BroadcastError, match="attended"):
            await parse_audience(tx, f"event:{event}:came")
