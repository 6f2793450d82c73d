"""The layering rules of the design, read from the code's own imports (grimp builds the graph).

bot → flows → storage, never back; flows knows no SDK and no web framework; storage imports
nothing of ours; telegram only in the Telegram channel module, twilio only in the SMS one; no
import cycles anywhere. A new import that breaks one of these fails the test run.
"""
from __future__ import annotations

import grimp
import pytest

OURS = ("bot", "flows", "storage")
SDKS = ("telegram", "twilio", "starlette", "uvicorn", "apscheduler", "aiosqlite")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*OURS, include_external_packages=True)


def _imports(graph: grimp.ImportGraph, package: str) -> list[tuple[str, str]]:
    """(importer, imported) for every direct import made by a module of `package`."""
    modules = [m for m in graph.modules if m == package or m.startswith(package + ".")]
    return [(m, imported) for m in sorted(modules) for imported in sorted(graph.find_modules_directly_imported_by(m))]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_layers_point_one_way(graph: grimp.ImportGraph) -> None:
    above = {"storage": {"bot", "flows"}, "flows": {"bot"}}
    wrong = [(a, b) for layer, banned in above.items() for a, b in _imports(graph, layer) if _top(b) in banned]
    assert not wrong, f"imports against bot → flows → storage: {wrong}"


def test_flows_and_storage_know_no_sdk(graph: grimp.ImportGraph) -> None:
    wrong = [(a, b) for layer in ("flows", "storage") for a, b in _imports(graph, layer) if _top(b) in SDKS]
    wrong = [(a, b) for a, b in wrong if not (a.startswith("storage") and _top(b) == "aiosqlite")]
    assert not wrong, f"SDK or framework imports below bot: {wrong}"


@pytest.mark.parametrize("sdk, home", [("telegram", "bot.channels.telegram"), ("twilio", "bot.channels.sms")])
def test_each_sdk_stays_in_its_channel_module(graph: grimp.ImportGraph, sdk: str, home: str) -> None:
    wrong = [a for a, b in _imports(graph, "bot") if _top(b) == sdk and a != home]
    assert not wrong, f"{sdk} imported outside {home}: {wrong}"


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    ours = sorted(m for m in graph.modules if _top(m) in OURS)
    cycles = set()
    for module in ours:
        for imported in graph.find_modules_directly_imported_by(module):
            if _top(imported) in OURS and (back := graph.find_shortest_chain(importer=imported, imported=module)):
                cycles.add(" → ".join((module, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))
