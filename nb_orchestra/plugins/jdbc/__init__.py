"""io.kestra.plugin.jdbc.*: DuckDB, SQLite and PostgreSQL tasks.

Drivers are optional and imported when a task runs: duckdb (extra ``duckdb``),
psycopg 3 (extra ``postgres``), sqlite3 from the standard library. ``STORE``
writes Amazon Ion with the ``amazon.ion`` package (in each of those extras).
"""
