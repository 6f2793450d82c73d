"""The console's groups pages (to be built)."""
from __future__ import annotations

from starlette.routing import BaseRoute

from bot.web.console.base import Console


def routes(console: Console) -> list[BaseRoute]:
    return []
