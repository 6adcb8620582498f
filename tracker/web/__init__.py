"""The web side: `app` (the Starlette application: feeds, pages, unsubscribe) and `serve`
(uvicorn with limits and a clean stop)."""
