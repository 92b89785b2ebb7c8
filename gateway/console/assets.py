"""Static files the pages need, all served by the gateway (an offline hall network has no CDN).

* ``/assets/console/...``: ``console/static`` (the console's own CSS and JS);
* ``/assets/vendor/<name>``: a fixed list of files from ``node_modules``
  (Chart.js, Swagger UI), pinned in ``package.json`` and installed by
  ``npm ci``; ``HALLVOTE_NODE_MODULES`` points elsewhere;
* ``/docs``: Swagger UI over ``/openapi.json`` from those files.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from .web import CONSOLE_DIR

__all__ = ["NODE_MODULES", "VENDOR", "install_assets", "vendor_path"]

NODE_MODULES = Path(os.environ.get("HALLVOTE_NODE_MODULES") or CONSOLE_DIR.parent / "node_modules")

VENDOR = {
    "chart.umd.min.js": ("chart.js", "dist/chart.umd.min.js"),
    "swagger-ui-bundle.js": ("swagger-ui-dist", "swagger-ui-bundle.js"),
    "swagger-ui.css": ("swagger-ui-dist", "swagger-ui.css"),
}
"""Name under /assets/vendor -> (npm package, file in it)."""

_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def vendor_path(name: str) -> Path | None:
    entry = VENDOR.get(name)
    return None if entry is None else NODE_MODULES / entry[0] / entry[1]


def install_assets(app: FastAPI) -> None:
    app.mount("/assets/console", StaticFiles(directory=str(CONSOLE_DIR / "static")), name="console-static")

    @app.get("/assets/vendor/{name}", include_in_schema=False)
    def vendor(name: str) -> Response:
        path = vendor_path(name)
        if path is None:
            return PlainTextResponse("not found", status_code=404)
        if not path.is_file():
            return PlainTextResponse(
                f"缺少前端文件，请在源码目录运行 npm ci / front-end file missing, run npm ci: {path}",
                status_code=503,
            )
        return FileResponse(
            path, media_type=_MEDIA.get(path.suffix), headers={"Cache-Control": "max-age=3600"}
        )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url="/assets/vendor/swagger-ui-bundle.js",
            swagger_css_url="/assets/vendor/swagger-ui.css",
            swagger_favicon_url="/assets/console/favicon.svg",
        )
