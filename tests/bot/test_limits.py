from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web.middleware import BodyLimit


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/", echo, methods=["POST"])], middleware=[Middleware(BodyLimit, max_bytes=100)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_small_bodies_reach_the_app_intact():
    async with client() as http:
        response = await http.post("/", content=b"x" * 100)
    assert response.status_code == 200 and response.text == "100"


async def test_declared_oversize_is_refused():
    async with client() as http:
        response = await http.post("/", content=b"x" * 101)
    assert response.status_code == 413


async def test_streamed_oversize_without_length_is_refused():
    async def chunks():
        for _ in range(5):
            yield b"x" * 40

    async with client() as http:
        response = await http.post("/", content=chunks())
    assert response.status_code == 413
