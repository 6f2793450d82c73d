"""Local groups as every front manages them: the groups in an organiser's scope, creating one,
renaming it, changing the postcode areas it covers, removing it; and placing the supporters with
no group whose postcode a group has just taken on.

Only an admin (or the command line) creates, changes or removes a group; any organiser sees the
groups in their scope.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.core.settings import FlowSettings
from flows.core.texts import plural, t
from flows.core.types import Reply
from flows.organiser import team
from flows.organiser.access import Actor
from flows.organiser.audit import note
from flows.organiser.errors import GroupError, ScopeError
from flows.supporter import events as ev
from storage import groups as store
from storage import organisers, outbox, telegram_groups
from storage.db import Tx
from storage.groups import Group
from storage.organisers import Role
from storage.telegram_groups import TelegramGroup

# A postcode area ("M", "SW") or an outward code ("M1", "SW1A", "EC1V"): letters, then a district.
AREA = re.compile(r"^[A-Z]{1,2}(?:[0-9][0-9A-Z]?)?$")
MAX_NAME = 80


@dataclass(frozen=True)
class GroupView:
    """A group as the console lists it."""
    group: Group
    supporters: int
    organisers: tuple[Role, ...]
    known_as: dict[int, str]  # organiser role id → their first name, where a supporter record has one
    chats: tuple[TelegramGroup, ...]


@dataclass(frozen=True)
class Change:
    """What creating or editing a group did."""
    group: Group
    changed: tuple[str, ...]  # "renamed", "areas"
    placed: int               # supporters with no group put in it
    told: int                 # of those, the ones a notice was queued for


@dataclass(frozen=True)
class Removed:
    group: Group
    roles: int       # organiser roles that went with it
    events: int      # events that are now national
    supporters: int  # supporters now in no group


def parse_areas(text: str) -> list[str]:
    """'m1, M2  sw1a' → ['M1', 'M2', 'SW1A']; GroupError naming what is not an area or outward code."""
    areas = list(dict.fromkeys(text.replace(",", " ").upper().split()))
    bad = [a for a in areas if not AREA.match(a)]
    if bad:
        raise GroupError("groups.error_areas", areas=", ".join(bad))
    return areas


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise GroupError("groups.error_no_name")
    if len(name) > MAX_NAME:
        raise GroupError("groups.error_name_long", limit=MAX_NAME)
    return name


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ScopeError("groups.error_admin_only")


def _taken(pairs: list[tuple[str, str]]) -> GroupError:
    return GroupError("groups.error_areas_taken", areas=", ".join(f"{a} ({n})" for a, n in pairs))


# -- seeing groups ---------------------------------------------------------------------------------
async def in_scope(tx: Tx, actor: Actor) -> list[GroupView]:
    """Every group the actor may reach, by name, with its supporters, organisers and linked chats."""
    if not actor.is_organiser:
        raise ScopeError("groups.error_organisers_only")
    limit = actor.scope()
    found = [g for g in await store.list_all(tx) if limit is None or g.id in limit]
    counts = await store.supporter_counts(tx, limit)
    roles = await organisers.list_all(tx)
    names = await organisers.known_as(tx)
    chats = await telegram_groups.list_active(tx)
    return [
        GroupView(g, counts.get(g.id, 0), tuple(r for r in roles if r.group_id == g.id),
                  {r.id: names[r.id] for r in roles if r.group_id == g.id and r.id in names},
                  tuple(c for c in chats if c.group_id == g.id))
        for g in found
    ]


async def one(tx: Tx, actor: Actor, group_id: int) -> GroupView:
    """One group in the actor's scope; LookupError when there is none (or it is out of their reach)."""
    for view in await in_scope(tx, actor):
        if view.group.id == group_id:
            return view
    raise LookupError(f"no local group #{group_id}")


# -- changing groups ---------------------------------------------------------------------------------
async def create(tx: Tx, actor: Actor, now: datetime, name: str, areas: str, settings: FlowSettings) -> Change:
    """A new group covering these areas; group-less supporters inside them are placed in it and told."""
    _admin(actor)
    name, wanted = clean_name(name), parse_areas(areas)
    if await store.name_taken(tx, name):
        raise GroupError("groups.error_name_taken", name=repr(name))
    if taken := await store.taken_by_others(tx, wanted):
        raise _taken(taken)
    group = await store.add(tx, name, wanted, now)
    placed, told = await place(tx, group, wanted, now, settings)
    note(tx, actor, now, "group.create", target=f"group:{group.id}",
         detail=f"areas: {' '.join(wanted) or 'none'}; placed {placed}, told {told}")
    return Change(group, (), placed, told)


async def edit(
    tx: Tx, actor: Actor, now: datetime, group_id: int, settings: FlowSettings, *,
    name: str | None = None, areas: str | None = None,
) -> Change:
    """Rename a group and/or set the areas it covers (None: leave as it is)."""
    _admin(actor)
    group = await store.get(tx, group_id)
    if group is None:
        raise LookupError(f"no local group #{group_id}")
    new_name = group.name if name is None else clean_name(name)
    wanted = list(group.areas) if areas is None else parse_areas(areas)
    changed: list[str] = []
    details: list[str] = []
    if new_name != group.name:
        if await store.name_taken(tx, new_name, group.id):
            raise GroupError("groups.error_name_taken", name=repr(new_name))
        store.rename(tx, group.id, new_name)
        changed.append("renamed")
        details.append("renamed")
    added = [a for a in wanted if a not in group.areas]
    dropped = [a for a in group.areas if a not in wanted]
    if added or dropped:
        if taken := await store.taken_by_others(tx, wanted, group.id):
            raise _taken(taken)
        store.set_areas(tx, group.id, wanted)
        changed.append("areas")
        details.append(f"areas: {' '.join(wanted) or 'none'} (added {' '.join(added) or 'none'}, "
                       f"dropped {' '.join(dropped) or 'none'})")
    group = Group(group.id, new_name, tuple(sorted(wanted)), group.is_demo)
    placed, told = await place(tx, group, added, now, settings)
    if changed:
        note(tx, actor, now, "group.edit", target=f"group:{group.id}",
             detail="; ".join(details) + f"; placed {placed}, told {told}")
    return Change(group, tuple(changed), placed, told)


async def remove(tx: Tx, actor: Actor, now: datetime, group_id: int, force: bool = False) -> Removed:
    """Remove a group. Refused while organisers or events belong to it, unless forced: then its roles
    go (and with them the sessions of anyone left with no role), its events become national, and
    its supporters are left with no group."""
    _admin(actor)
    group = await store.get(tx, group_id)
    if group is None:
        raise LookupError(f"no local group #{group_id}")
    roles, events = await store.ties(tx, group.id)
    if (roles or events) and not force:
        raise GroupError("groups.error_still_has", group=group.name, held=_held(roles, events))
    people = (await store.supporter_counts(tx, [group.id])).get(group.id, 0)
    leaving = [r for r in await organisers.list_all(tx) if r.group_id == group.id]
    await store.remove(tx, group.id)
    for role in leaving:
        await team.end_sessions_if_roleless(tx, role, now)
    note(tx, actor, now, "group.remove", target=f"group:{group.id}",
         detail=f"organiser roles {roles}, events {events} now national, supporters {people} now in no group")
    return Removed(group, roles, events, people)


def _held(roles: int, events: int) -> Any:
    """'2 organiser roles and 1 event', in the reader's language (a refusal's value)."""
    def held(lang: str) -> str:
        parts = [plural(word, n, lang) for word, n in (("role", roles), ("event", events)) if n]
        return f" {t('groups.and', lang)} ".join(parts)
    return held


# -- placing supporters -------------------------------------------------------------------------------
def _letters(outward: str) -> str:
    """The postcode area of an outward code: 'SW1A' → 'SW'."""
    found = re.match(r"[A-Z]*", outward.upper())
    return found.group(0) if found else ""


async def place(tx: Tx, group: Group, areas: list[str], now: datetime, settings: FlowSettings) -> tuple[int, int]:
    """Put the supporters with no group whose postcode lies in these areas (just taken on by `group`)
    into it, unless another group covers their postcode more closely; tell each once, on a channel
    they are opted in on (the one they last used first). Returns (placed, told)."""
    candidates = await store.groupless_within(tx, areas)
    if not candidates:
        return 0, 0
    owners = await store.area_owners(tx)
    placed = [p for p in candidates
              if owners.get(p.area.upper(), owners.get(_letters(p.area))) == group.id]
    store.place(tx, [p.supporter_id for p in placed], group.id)
    told = 0
    for person in placed:
        target = ev.reach(person)
        if target is None:  # opted in nowhere: placed, and told nothing
            continue
        reply = Reply(t("groups.started_near_you", person.language, group=group.name), lang=person.language)
        ev.tell(tx, person.supporter_id, target, reply, now, priority=outbox.BULK,
                dedupe_key=f"group-started:{group.id}:{person.supporter_id}", settings=settings)
        told += 1
    return len(placed), told
