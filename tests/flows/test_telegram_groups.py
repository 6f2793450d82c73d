"""Telegram group chats and block/unblock events, through the engine with the sandbox channel."""
from __future__ import annotations

from storage import consent, groups, organisers, supporters, telegram_groups

CHAT = -1009
CHAT_ADDRESS = str(CHAT)


async def _leeds(harness, organiser_id: int | None = None) -> int:
    async with harness.db.transaction() as tx:
        group = await groups.add(tx, "Leeds", ["LS"], harness.clock.now())
        if organiser_id:
            await organisers.add(tx, "organiser", harness.clock.now(), telegram_id=organiser_id, group_id=group.id)
    return group.id


async def _command(harness, user: str, text: str, chat_admin: bool = True) -> list[dict]:
    command = text.split()[0][1:]
    await harness.send("telegram", user, text, kind="group_command", chat_id=CHAT, title="Leeds chat",
                       command=command, chat_admin=chat_admin)
    await harness.deliver()
    return harness.channels["telegram"].pop(CHAT_ADDRESS)


async def _link(harness) -> telegram_groups.TelegramGroup | None:
    async with harness.db.transaction() as tx:
        return await telegram_groups.get(tx, CHAT)


async def test_linkgroup_by_the_groups_organiser_who_is_chat_admin(harness):
    group_id = await _leeds(harness, organiser_id=71)
    said = await _command(harness, "71", "/linkgroup leeds")
    assert "now linked to Leeds" in said[0]["text"]
    link = await _link(harness)
    assert (link.group_id, link.title, link.linked_by, link.active) == (group_id, "Leeds chat", 71, True)
    assert harness.channels["telegram"].pop("71") == []  # nothing private to the organiser


async def test_linkgroup_refusals(harness):
    await _leeds(harness, organiser_id=71)
    assert "Only an admin" in (await _command(harness, "71", "/linkgroup Leeds", chat_admin=False))[0]["text"]
    assert "Only an organiser of Leeds" in (await _command(harness, "72", "/linkgroup Leeds"))[0]["text"]
    assert "don't know a local group" in (await _command(harness, "71", "/linkgroup Nowhere"))[0]["text"]
    assert "/linkgroup followed by" in (await _command(harness, "71", "/linkgroup"))[0]["text"]
    assert await _link(harness) is None


async def test_a_chat_linked_to_one_group_is_moved_only_by_its_organisers_or_an_admin(harness):
    leeds = await _leeds(harness, organiser_id=71)
    async with harness.db.transaction() as tx:
        york = await groups.add(tx, "York", ["YO"], harness.clock.now())
        await organisers.add(tx, "organiser", harness.clock.now(), telegram_id=72, group_id=york.id)
        await organisers.add(tx, "admin", harness.clock.now(), telegram_id=73)
    await _command(harness, "72", "/linkgroup York")
    refused = await _command(harness, "71", "/linkgroup Leeds")  # Leeds' organiser, also a chat admin
    assert "already linked to another local group" in refused[0]["text"]
    assert (await _link(harness)).group_id == york.id
    assert "now linked to Leeds" in (await _command(harness, "73", "/linkgroup Leeds"))[0]["text"]
    assert (await _link(harness)).group_id == leeds


async def test_join_in_a_group_gives_a_deep_link_button(harness):
    group_id = await _leeds(harness, organiser_id=71)
    unlinked = await _command(harness, "80", "/join")
    assert unlinked[0]["choices"][0]["url"] == "https://t.me/muster_bot"
    await _command(harness, "71", "/linkgroup Leeds")
    linked = await _command(harness, "81", "/join")
    assert linked[0]["choices"][0]["url"] == f"https://t.me/muster_bot?start=g_{group_id}"


async def test_bot_removed_and_added_back(harness):
    await _leeds(harness, organiser_id=71)
    await _command(harness, "71", "/linkgroup Leeds")
    await harness.send("telegram", "71", kind="group_removed", chat_id=CHAT, title="Leeds chat")
    assert (await _link(harness)).active is False
    await harness.send("telegram", "71", kind="group_added", chat_id=CHAT, title="Leeds chat")
    await harness.deliver()
    assert "/linkgroup" in harness.channels["telegram"].pop(CHAT_ADDRESS)[0]["text"]
    assert (await _link(harness)).active is True


async def test_link_follows_a_group_upgraded_to_a_supergroup(harness):
    await _leeds(harness, organiser_id=71)
    await _command(harness, "71", "/linkgroup Leeds")
    await harness.send("telegram", "71", kind="group_migrated", chat_id=CHAT, new_chat_id=-100777, title="x")
    async with harness.db.transaction() as tx:
        assert await telegram_groups.get(tx, CHAT) is None
        assert (await telegram_groups.get(tx, -100777)).active


async def test_new_member_of_a_linked_group_is_welcomed_once(harness):
    await _leeds(harness, organiser_id=71)
    await _command(harness, "71", "/linkgroup Leeds")
    for _ in range(2):
        await harness.send("telegram", "90", kind="group_join", chat_id=CHAT, title="Leeds chat", first_name="Sam")
    await harness.deliver()
    welcomes = harness.channels["telegram"].pop(CHAT_ADDRESS)
    assert len(welcomes) == 1 and "Welcome, Sam" in welcomes[0]["text"]


async def test_blocking_opts_out_and_unblocking_does_not_opt_in(harness):
    await harness.say("telegram", "95", "MENU")
    await harness.send("telegram", "95", kind="blocked")
    await harness.send("telegram", "95", kind="unblocked")
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, "telegram", "95")
        history = await consent.history(tx, person.id)
    assert person.telegram_consent == "opted_out"
    assert [(r["action"], r["source"]) for r in history] == [("opt_out", "carrier")]
