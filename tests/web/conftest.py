"""The browser fixture for the console's browser tests (see tests/web/browser.py)."""
from __future__ import annotations

from tests.web.browser import browser

__all__ = ["browser"]
