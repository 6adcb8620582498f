"""The web side: `app` (the Starlette application), `routes` and `pages` (what each address
shows), `timeline` (the SVG timeline, pure), `forms` (subscribe and manage, with CSRF and rate
limits), `static` (hashed assets), `serve` (uvicorn with limits and a clean stop)."""
