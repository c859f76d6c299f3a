"""Helpers for the teaching notebooks: sample taxi data, a local file server, a database.

* :func:`taxi_data.write_month` -- a deterministic month of NYC taxi trips in the real TLC layout.
* :func:`server.serve_taxi_data` -- serves those files at the paths of the course's release URL.
* :func:`postgres.database_url` -- a PostgreSQL to load them into, or None (use DuckDB).
"""
