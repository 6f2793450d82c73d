"""The authorisation matrix: supporter, local-group organiser, admin × every organiser action.

Console commands, organiser buttons and group-chat commands are driven through the real engine
(tests/security/authz_console.py); the CLI, the operator's tool, acts as admin
(tests/security/authz_cli.py). Every cell checks the reply AND the database: exactly the
allowed cells succeed, and a refused one changes nothing but the refused person's own chat.
"""
from __future__ import annotations

import pytest

from flows.console import commands as console
from flows.core import routes
from tests.security import authz_buttons, authz_cli, authz_console
from tests.security.authz_buttons import (
    ORGANISER_CHOICES,
    ORGANISER_EVENTS,
    ORGANISER_FLOWS,
    PLATFORM_EVENTS,
    SUPPORTER_CHOICES,
    SUPPORTER_FLOWS,
)
from tests.security.authz_console import COMMAND_ROWS, OPEN_COMMANDS, REFUSED, Cell
from tests.security.authz_world import CHAT, PEOPLE, fingerprint, seed

MATRIX = authz_console.MATRIX + authz_buttons.MATRIX
SCENARIOS = {**authz_console.SCENARIOS, **authz_buttons.SCENARIOS}


# -- every entry point has rows ---------------------------------------------------------------------
def test_every_console_command_has_matrix_rows():
    assert set(console.COMMANDS) == set(COMMAND_ROWS), "add rows for the new command to authz_console.MATRIX"


def test_every_button_prefix_is_classified():
    assert set(routes.CHOICES) == set(ORGANISER_CHOICES) | SUPPORTER_CHOICES


def test_every_event_kind_is_classified():
    assert set(routes.EVENTS) == set(ORGANISER_EVENTS) | PLATFORM_EVENTS


def test_every_flow_is_classified():
    assert set(routes.FLOWS) == set(ORGANISER_FLOWS) | SUPPORTER_FLOWS


def test_every_listed_action_has_a_scenario_and_cells():
    listed = [a for rows in (*COMMAND_ROWS.values(), *ORGANISER_CHOICES.values(), *ORGANISER_EVENTS.values(),
                             *ORGANISER_FLOWS.values()) for a in rows]
    assert set(listed) == set(SCENARIOS)
    for action in listed:
        actors = {c.actor for c in MATRIX if c.action == action}
        assert actors >= ({"organiser", "admin"} if action.startswith("revoked") else set(PEOPLE)), action
    assert len({c.id for c in MATRIX}) == len(MATRIX)


# -- the console matrix -------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", MATRIX, ids=[c.id for c in MATRIX])
async def test_console_matrix(harness, cell: Cell):
    world = await seed(harness.db, harness.clock.now())
    scenario = SCENARIOS[cell.action]
    if scenario.prepare:
        await scenario.prepare(harness, world, cell)
    ignore = (cell.person.telegram, cell.person.phone, str(CHAT))  # the refused person's own chat
    before = await fingerprint(harness, *ignore)
    said = await scenario.run(harness, world, cell)
    success = scenario.success(world, cell)
    if cell.allowed:
        assert success in said, said
        assert REFUSED not in said and "can only" not in said and "beyond" not in said, said
        if scenario.effect:
            await scenario.effect(harness, world, cell)
        else:
            assert await fingerprint(harness, *ignore) == before
    else:
        assert scenario.refusal(world, cell) in said, said
        assert success not in said, said
        assert await fingerprint(harness, *ignore) == before


# -- the role check on every command keyword, both channels, typed or pressed from the menu -----------
GUARD = [(name, channel, role, entry) for name in sorted(console.COMMANDS) for channel in ("sms", "telegram")
         for role in ("supporter", "organiser") for entry in ("typed", "menu-button")]


@pytest.mark.parametrize(("name", "channel", "role", "entry"), GUARD,
                         ids=[f"{n.strip('/')}-{c}-{r}-{e}" for n, c, r, e in GUARD])
async def test_every_command_keyword_checks_the_role(harness, name, channel, role, entry):
    await seed(harness.db, harness.clock.now())
    person = PEOPLE[role]
    address = person.address(channel)
    before = await fingerprint(harness, address)
    if entry == "typed":
        said = await harness.say(channel, address, name)
    else:
        said = await harness.say(channel, address, choice=f"menu:{name}")
    text = "\n".join(m["text"] for m in said)
    assert (not console.COMMANDS[name].roles) is (name in OPEN_COMMANDS)
    refused = name not in OPEN_COMMANDS and role == "supporter"
    assert (f"{name} {REFUSED}" in text) is refused, text
    if refused:
        assert await fingerprint(harness, address) == before
        async with harness.db.transaction() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM conversations WHERE flow IS NOT NULL") == 0


# -- the CLI: the operator, who holds the server and the database, acts as admin -----------------------
def test_every_cli_command_has_a_row():
    assert authz_cli.command_paths() == set(authz_cli.CLI_ROWS) | authz_cli.NOT_ORGANISER


@pytest.mark.parametrize("case", authz_cli.CASES, ids=[c.id for c in authz_cli.CASES])
async def test_cli_matrix(harness, monkeypatch, case):
    await authz_cli.check(harness, monkeypatch, case)
