"""io.kestra.plugin.dbt.cli.*: dbt-core run locally, in the task's working directory (a project from
``git.Clone`` in a WorkingDirectory, from namespace files or from ``inputFiles``).

dbt runs as a separate process, never imported: its dependencies pin versions that other tools here
need newer (dbt-core 1.11 wants pathspec < 0.13, mypy >= 1.0), so it may live in its own virtual
environment. The program is found in this order: the ``NB_ORCHESTRA_DBT`` environment variable (a
dbt executable, e.g. of a separate virtual environment), ``dbt`` beside this Python (the extras
``nb-orchestra[dbt-duckdb]`` / ``[dbt-postgres]``), ``dbt`` on PATH; a task that needs it fails naming
the extras when there is none. ``dbt deps`` downloads packages: offline it fails, and the task's
message says so (keep the packages in the project's ``dbt_packages/`` and leave ``dbt deps`` out).

``results`` reads dbt's JSON log lines and ``target/run_results.json`` (one run shown under the task
per dbt node, as Kestra's dbt plugin does); ``cli`` holds the tasks.
"""
