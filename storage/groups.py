"""Local groups and the postcode areas they cover."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, ts
from storage.supporters import Reachable


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    areas: tuple[str, ...]
    is_demo: bool = False


async def add(tx: Tx, name: str, areas: list[str], now: datetime, is_demo: bool = False) -> Group:
    """Create a group; raises ValueError if the name or an area is already taken."""
    if await tx.scalar("SELECT 1 FROM local_groups WHERE name = ?", (name,)):
        raise ValueError(f"a group called {name!r} already exists")
    areas = [a.strip().upper() for a in areas if a.strip()]
    if areas:
        marks = ", ".join("?" for _ in areas)
        taken = await tx.query(
            "SELECT a.area, g.name FROM group_areas a JOIN local_groups g ON g.id = a.group_id "
            f"WHERE a.area IN ({marks})",
            areas,
        )
        if taken:
            listed = ", ".join(f"{r[0]} ({r[1]})" for r in taken)
            raise ValueError(f"areas already covered by another group: {listed}")
    group_id = await tx.scalar(
        "INSERT INTO local_groups (name, is_demo, created_at) VALUES (?, ?, ?) RETURNING id",
        (name, int(is_demo), ts(now)),
    )
    tx.write_many("INSERT INTO group_areas (area, group_id) VALUES (?, ?)", [(a, group_id) for a in areas])
    return Group(group_id, name, tuple(areas), is_demo)


async def list_all(tx: Tx) -> list[Group]:
    rows = await tx.query(
        "SELECT g.id, g.name, g.is_demo, a.area FROM local_groups g "
        "LEFT JOIN group_areas a ON a.group_id = g.id ORDER BY g.name, a.area"
    )
    groups: dict[int, tuple[str, bool, list[str]]] = {}
    for r in rows:
        entry = groups.setdefault(r["id"], (r["name"], bool(r["is_demo"]), []))
        if r["area"]:
            entry[2].append(r["area"])
    return [Group(gid, name, tuple(areas), demo) for gid, (name, demo, areas) in groups.items()]


async def get(tx: Tx, group_id: int) -> Group | None:
    return next((g for g in await list_all(tx) if g.id == group_id), None)


async def by_name(tx: Tx, name: str) -> Group | None:
    return next((g for g in await list_all(tx) if g.name.lower() == name.lower()), None)


async def for_areas(tx: Tx, candidates: list[str]) -> Group | None:
    """The group covering the most specific of these areas (pass outward code first, then area)."""
    for area in candidates:
        row = await tx.one(
            "SELECT g.id, g.name, g.is_demo FROM group_areas a JOIN local_groups g ON g.id = a.group_id "
            "WHERE a.area = ?",
            (area.upper(),),
        )
        if row:
            return Group(row["id"], row["name"], (), bool(row["is_demo"]))
    return None


async def count(tx: Tx) -> int:
    value: int = await tx.scalar("SELECT COUNT(*) FROM local_groups")
    return value


async def covering(tx: Tx, areas: list[str]) -> Group | None:
    """Like for_areas, in one query: the group of the most specific (longest) of these areas."""
    wanted = [a.upper() for a in areas if a]
    if not wanted:
        return None
    marks = ", ".join("?" for _ in wanted)
    row = await tx.one(
        "SELECT g.id, g.name, g.is_demo FROM group_areas a JOIN local_groups g ON g.id = a.group_id "
        f"WHERE a.area IN ({marks}) ORDER BY LENGTH(a.area) DESC LIMIT 1",
        wanted,
    )
    return Group(row["id"], row["name"], (), bool(row["is_demo"])) if row else None


# -- managing groups (the console's groups pages and `muster group`) ---------------------------------
async def taken_by_others(tx: Tx, areas: list[str], group_id: int | None = None) -> list[tuple[str, str]]:
    """(area, group name) for each of these areas another group already covers."""
    if not areas:
        return []
    marks = ", ".join("?" for _ in areas)
    rows = await tx.query(
        "SELECT a.area, g.name FROM group_areas a JOIN local_groups g ON g.id = a.group_id "
        f"WHERE a.area IN ({marks}) AND (? IS NULL OR a.group_id <> ?) ORDER BY a.area",
        [*areas, group_id, group_id],
    )
    return [(r[0], r[1]) for r in rows]


async def name_taken(tx: Tx, name: str, group_id: int | None = None) -> bool:
    """Does another group already have this name (ignoring case)?"""
    return bool(await tx.scalar(
        "SELECT 1 FROM local_groups WHERE LOWER(name) = LOWER(?) AND (? IS NULL OR id <> ?)",
        (name, group_id, group_id),
    ))


def rename(tx: Tx, group_id: int, name: str) -> None:
    tx.write("UPDATE local_groups SET name = ? WHERE id = ?", (name, group_id))


def set_areas(tx: Tx, group_id: int, areas: list[str]) -> None:
    """The group now covers exactly these areas (the caller has checked no other group has them)."""
    tx.write("DELETE FROM group_areas WHERE group_id = ?", (group_id,))
    tx.write_many("INSERT INTO group_areas (area, group_id) VALUES (?, ?)", [(a, group_id) for a in areas])


async def remove(tx: Tx, group_id: int) -> None:
    """Delete a group: its areas, organiser roles and chat links go with it; its supporters and
    events stay, with no group (the schema's ON DELETE rules)."""
    await tx.execute("DELETE FROM local_groups WHERE id = ?", (group_id,))


async def supporter_counts(tx: Tx, group_ids: list[int] | tuple[int, ...] | None = None) -> dict[int, int]:
    """Supporters (not erased) per group id, for these groups or every group.

    Everyone per group comes from the group index alone, less the erased, found by one pass over
    the table: at 100,000 supporters the two take about a tenth of one query that reads each row's
    status through the index.
    """
    where = ""
    params: tuple[int, ...] = ()
    if group_ids is not None:
        if not group_ids:
            return {}
        where, params = f" AND group_id IN ({', '.join('?' for _ in group_ids)})", tuple(group_ids)
    everyone = await tx.query(
        f"SELECT group_id, COUNT(*) FROM supporters WHERE group_id IS NOT NULL{where} GROUP BY group_id", params)
    erased = await tx.query(
        "SELECT group_id, COUNT(*) FROM supporters WHERE status = 'erased' AND +group_id IS NOT NULL"
        f"{where.replace('group_id', '+group_id')} GROUP BY +group_id",
        params,
    )
    gone = {r[0]: r[1] for r in erased}
    return {r[0]: r[1] - gone.get(r[0], 0) for r in everyone if r[1] > gone.get(r[0], 0)}


async def ties(tx: Tx, group_id: int) -> tuple[int, int]:
    """(organiser roles, events) that belong to this group."""
    roles = await tx.scalar("SELECT COUNT(*) FROM organisers WHERE group_id = ?", (group_id,))
    events = await tx.scalar("SELECT COUNT(*) FROM events WHERE group_id = ?", (group_id,))
    return int(roles), int(events)


@dataclass(frozen=True)
class Groupless(Reachable):
    """A supporter with a postcode and no group: where they are and how to reach them."""
    area: str  # the outward code of their postcode ("M1")


async def groupless_within(tx: Tx, areas: list[str]) -> list[Groupless]:
    """Supporters with no group whose outward code is one of these areas or lies in one of them
    (an area given as letters only, like "M", holds M1, M20 but not ME1)."""
    if not areas:
        return []
    terms: list[str] = []
    params: list[str | int] = []
    outward = [a for a in areas if not a.isalpha()]
    if outward:
        terms.append(f"area IN ({', '.join('?' for _ in outward)})")
        params += outward
    for letters in (a for a in areas if a.isalpha()):
        terms.append("(SUBSTR(area, 1, ?) = ? AND SUBSTR(area, ?, 1) BETWEEN '0' AND '9')")
        params += [len(letters), letters, len(letters) + 1]
    rows = await tx.query(
        "SELECT id, phone, telegram_id, sms_consent, telegram_consent, sms_undeliverable, language, "
        "last_channel, area FROM supporters WHERE group_id IS NULL AND status <> 'erased' AND area IS NOT NULL "
        f"AND ({' OR '.join(terms)}) ORDER BY id",
        params,
    )
    return [Groupless(*r) for r in rows]


async def area_owners(tx: Tx) -> dict[str, int]:
    """Every covered area and the group covering it."""
    return {r[0]: r[1] for r in await tx.query("SELECT area, group_id FROM group_areas")}


def place(tx: Tx, supporter_ids: list[int], group_id: int) -> None:
    """Put these supporters in the group, unless they have found one meanwhile."""
    tx.write_many("UPDATE supporters SET group_id = ? WHERE id = ? AND group_id IS NULL",
                  [(group_id, s) for s in supporter_ids])
