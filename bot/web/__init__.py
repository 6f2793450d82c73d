"""Everything HTTP: the Starlette app, its middleware and routes, with `static/` beside them.
The composition root (`bot/service.py`) calls each module's `routes(...)` with what it needs."""
