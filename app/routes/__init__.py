"""HTTP and websocket routers of the service (ingest routers live in ``app/ingest``)."""
