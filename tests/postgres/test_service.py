"""`muster run` on PostgreSQL: two services start on one database (no file lock), each registered by its
heartbeat, only one running due work, and each pacing at its share of a channel's rate."""
from __future__ import annotations

from bot.config import Settings
from bot.service import Service


def _settings(pg_url: str, tmp_path) -> Settings:
    return Settings(MUSTER_DATABASE_URL=pg_url, MUSTER_DB_PATH=str(tmp_path / "unused.db"),
                    TELEGRAM_MESSAGES_PER_SECOND=20)


async def test_two_services_share_one_database(pg_url, tmp_path, clock):
    one = Service(_settings(pg_url, tmp_path), clock)
    two = Service(_settings(pg_url, tmp_path), clock)
    async with one.running(), two.running():
        assert one.db is not None and two.db is not None
        assert one.db.dialect == two.db.dialect == "postgresql"
        assert not one.lock.held and not two.lock.held
        assert not (tmp_path / "unused.db").exists() and not (tmp_path / "unused.db.lock").exists()
        ran = [await one.scheduler.run_due(), await two.scheduler.run_due()]
        assert sorted(ran) == [False, True]  # due work in one of them only
        assert one.dispatcher is not None and two.dispatcher is not None
        assert await one.dispatcher.heartbeat() == 2
        assert one.channels["telegram"].pacer.rate == 10  # half of 20 each
        await two.dispatcher.heartbeat()
        assert two.channels["telegram"].pacer.rate == 10
    async with one.running():  # the other stopped cleanly: forgotten at once, the whole rate again
        assert one.dispatcher is not None
        assert await one.dispatcher.heartbeat() == 1
        assert one.channels["telegram"].pacer.rate == 20
        assert await one.scheduler.run_due() is True
