"""/metrics: ops-watch's state for Prometheus (ops_watch/metrics.py, docs/metrics.md), on the console's
listener. Prometheus sends a viewer's API token (`ops-watch tokens create prometheus --role viewer`,
`authorization: {credentials_file: …}` in its scrape config); a console session works too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from ops_watch import metrics
from ops_watch.web.api import ApiRoute, Caller
from ops_watch.web.frame import console

router = APIRouter(route_class=ApiRoute)


def _registry(request: Request) -> CollectorRegistry:
    """One per app: the console's runtime and its shared figures (store/shared.py)."""
    reg = getattr(request.app.state, "metrics_registry", None)
    if reg is None:
        c = console(request)
        reg = request.app.state.metrics_registry = metrics.registry(lambda: c.runtime, c.views)
    return reg  # type: ignore[no-any-return]


@router.get("/metrics", include_in_schema=False)
def metrics_page(request: Request, caller: Caller) -> Response:
    return Response(generate_latest(_registry(request)), media_type=CONTENT_TYPE_LATEST)
