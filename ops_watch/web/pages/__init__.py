"""One module per page group, each an APIRouter named `router` (listed in ops_watch.web.app.PAGE_MODULES)."""
