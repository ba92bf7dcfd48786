"""The controller's web UI: every connector's sync state, why, and its executions.

`views` builds each page's data from the loop's snapshot and the executor (read
through `source`, over the one HTTP client), `routes` serves it as HTML
(`templates/`, autoescaped) and as JSON for `static/ui.js`, which keeps a page
current without a reload.  Read-only; a change goes through git.
"""
