"""The web UI: server-rendered Jinja2 pages with htmx partials, thin over the record service."""
