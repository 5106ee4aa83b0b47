"""The web console (`ops-watch serve`): server-rendered pages over the store, beside the CLI (floor 8).

`accounts` and `sessions` hold the security core (no HTTP); `frame` what every page shares; `app` builds the
ASGI application; `pages/` one module per page group; `serve` runs it under uvicorn.
"""
