"""Practice mode: a trainee takes a simulated patient call through the live pipeline.

``scenario`` loads and validates the branching YAML scenarios, ``judge`` decides which branch a
reply takes with the playbook's own phrase matching, ``voice`` renders and caches the patient's
lines, ``runner`` drives one practice call and ``routes`` serves the API and socket.
"""
