"""The web UI's routes: three pages, their live data, the report proxy, the static files.

Read-only: every route is a GET.  Pages are whole HTML documents, usable without
JavaScript (filter links, a GET search form, page links); `/live/...` answers the
same models as JSON for `static/ui.js`, which polls it every 2 s.  Templates are
Jinja2 with autoescape on, so every value from a manifest or the executor is text.

The report proxy fetches `/api/files/{id}/download` with the controller's key:
the browser never holds it.  Only a UUID is passed on, and the answer is always
an attachment, so a report can never render as a page of this origin.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from scsync.client import ExecutorError, NotFound
from scsync.controller.ui import views
from scsync.controller.ui.text import connector_href
from scsync.controller.ui.views import Context, Model

HERE = Path(__file__).parent
NO_STORE = {"Cache-Control": "no-store"}
MAX_QUERY = 200


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["overview_link"] = overview_link
    return env


def overview_link(state: str | None = None, query: str = "", page: int = 1) -> str:
    """The overview's URL for a filter, a search and a page (the defaults left out)."""
    params = {k: v for k, v in (("state", state), ("q", query), ("page", page))
              if v and v != 1}
    return "/" + ("?" + urlencode(params) if params else "")


def ui_routes(ctx: Context) -> list[BaseRoute]:
    env = templates()

    def page(template: str, model: Model, *, title: str, nav: str, live: str,
             status: int = 200) -> HTMLResponse:
        body = env.get_template(template).render(
            **model, title=title, nav=nav, live_src=live, settings=ctx.settings)
        return HTMLResponse(body, status_code=status, headers=NO_STORE)

    def not_found(what: str) -> HTMLResponse:
        return page("missing.html", {"fields": views.common(ctx), "what": what},
                    title="Not found", nav="", live="", status=404)

    def filters(request: Request) -> dict[str, Any]:
        params = request.query_params
        number = params.get("page", "1")
        return {"state": params.get("state") or None,
                "query": params.get("q", "")[:MAX_QUERY],
                "page": int(number) if number.isdigit() and len(number) < 7 else 1}

    def home(request: Request) -> Response:
        chosen = filters(request)
        model = views.overview_page(ctx, **chosen)
        live = "/live/overview" + overview_link(**chosen)[1:]
        return page("overview.html", model, title=f"Connectors on {ctx.settings.branch}",
                    nav="overview", live=live)

    def connector(request: Request) -> Response:
        api_name = request.path_params["api_name"]
        model = views.connector_page(ctx, api_name)
        if model is None:
            return not_found(f"no connector {api_name!r} in the last pass")
        return page("connector.html", model, title=api_name, nav="",
                    live="/live" + connector_href(api_name))

    def passes(request: Request) -> Response:
        return page("passes.html", views.passes_page(ctx), title="Reconcile passes",
                    nav="passes", live="/live/passes")

    def live_json(model: Model | None) -> Response:
        if model is None:
            return JSONResponse({"detail": "not found"}, status_code=404, headers=NO_STORE)
        return JSONResponse({"fields": model["fields"], "tables": model["tables"]},
                            headers=NO_STORE)

    def live_overview(request: Request) -> Response:
        return live_json(views.overview_page(ctx, **filters(request)))

    def live_connector(request: Request) -> Response:
        return live_json(views.connector_page(ctx, request.path_params["api_name"]))

    def live_passes(request: Request) -> Response:
        return live_json(views.passes_page(ctx))

    def report(request: Request) -> Response:
        try:
            file_id = str(uuid.UUID(request.path_params["file_id"]))
        except ValueError:
            return not_found("a report is named by a UUID")
        try:
            content, media = ctx.reader.download(file_id)
        except NotFound:
            return not_found(f"no report {file_id} on the executor")
        except ExecutorError as exc:
            return Response(f"the executor did not give the report: {exc}\n", status_code=502,
                            media_type="text/plain", headers=NO_STORE)
        kind = "json" if media == "application/json" else "bin"
        return Response(content, media_type=media if kind == "json" else
                        "application/octet-stream", headers={
                            **NO_STORE, "Content-Disposition":
                            f'attachment; filename="report-{file_id}.{kind}"'})

    return [
        Route("/", home), Route("/passes", passes),
        Route("/connectors/{api_name}", connector),
        Route("/live/overview", live_overview), Route("/live/passes", live_passes),
        Route("/live/connectors/{api_name}", live_connector),
        Route("/reports/{file_id}", report),
        Mount("/ui", StaticFiles(directory=HERE / "static"), name="ui-static"),
    ]
