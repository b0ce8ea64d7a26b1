"""The CareCue service: settings, CLI, ingest adapters, call sessions, delivery, store, auth."""
