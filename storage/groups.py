"""Local groups and the postcode areas they cover."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, ts


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
