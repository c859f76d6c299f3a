# %% [markdown]
# # 06 · ETL: taxi trips into PostgreSQL
#
# **In this notebook you will learn**
#
# - the extract-load-transform pattern of the course's `04_postgres_taxi` flow: download a monthly file,
#   copy it into a **staging** table, add a row id and the file name, and **merge** it into the main table;
# - why that flow can run twice for the same month without loading the rows twice (it is **idempotent**);
# - how `pluginDefaults` give every database task its connection once, and how `Labels` and
#   `PurgeCurrentExecutionFiles` keep executions tidy;
# - how to run the same flow on DuckDB when no PostgreSQL is at hand.
#
# The flow is the course's, unchanged except for two things: the download address, and the connection
# values in `pluginDefaults` (read from the environment and a secret instead of written in the flow).

# %%
# %load_ext nb_orchestra
import base64
import os
from pathlib import Path

import nb_orchestra as nbo
from nb_orchestra.teaching.postgres import database_url
from nb_orchestra.teaching.server import serve_taxi_data

# %% [markdown]
# ## The data and the database
#
# The course downloads the monthly files from
# `https://github.com/DataTalksClub/nyc-tlc-data/releases/download/<taxi>/<file>.csv.gz`. As in notebook
# 05, a small local server answers the same paths with a sample in the real column layout (a few hundred
# trips per month, a few of them duplicated as in the real data), and the flow reads its address from
# `ENV_TAXI_DATA_URL`.
#
# For the database, `database_url()` uses, in this order:
#
# 1. the PostgreSQL in the environment variable `NB_ORCHESTRA_PG_URL`
#    (`postgresql://user:password@host:5432/database`), for instance the course's Docker Compose database;
# 2. a throwaway PostgreSQL it starts on this machine when PostgreSQL's programs are installed (it is
#    deleted when the kernel stops);
# 3. nothing: then the notebook uses DuckDB, a database in a single file, and says so.
#
# The connection reaches the flow the way it would on a server: the URL and user as `ENV_` variables, the
# password as a secret (base64 in `SECRET_PG_PASSWORD`, see notebook 05).

# %%
taxi_server = serve_taxi_data()
os.environ["ENV_TAXI_DATA_URL"] = taxi_server.url

db = database_url()
if db is None:
    duckdb_file = Path(nbo.configure().home).resolve() / "taxi.duckdb"
    os.environ["ENV_DUCKDB_FILE"] = str(duckdb_file)
    print("No PostgreSQL here (no NB_ORCHESTRA_PG_URL, no PostgreSQL programs): using DuckDB instead.")
else:
    os.environ["ENV_PG_URL"] = db.jdbc_url
    os.environ["ENV_PG_USER"] = db.username
    os.environ["SECRET_PG_PASSWORD"] = base64.b64encode(db.password.encode()).decode()
    where = "from NB_ORCHESTRA_PG_URL" if db.kind == "env" else "a throwaway local server, for this kernel only"
    print(f"Using PostgreSQL: {where}.")


def query(sql: str) -> list[tuple]:
    """Rows of a query on the database the flows load into."""
    if db is not None:
        return db.query(sql)
    import duckdb

    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        return con.execute(sql).fetchall()


# %% [markdown]
# ## The flow, step by step
#
# - **Inputs** `taxi`, `year`, `month` are `SELECT`s, so only months that exist can be asked for.
# - **Variables** build the file name (`yellow_tripdata_2019-01.csv`), the table names, and `data`: the
#   `kestra://` URI of the extracted file, looked up in the `extract` task's `outputFiles` with a key made
#   from the inputs.
# - `set_label` adds **labels** to the execution (`file`, `taxi`), which Kestra's UI uses to filter
#   executions.
# - `extract` is a shell task: `wget` downloads the gzipped file, `gunzip` unpacks it, and
#   `outputFiles: ["*.csv"]` keeps the CSV.
# - Two `If` tasks choose the SQL for yellow or green taxis, whose files have different columns. Each one:
#   1. creates the main table and the **staging** table if they do not exist, and empties the staging table;
#   2. copies the CSV into the staging table (`CopyIn`, PostgreSQL's fast `COPY`);
#   3. computes `unique_row_id`, an MD5 hash of the columns that identify a trip, and records the `filename`;
#   4. **merges** the staging table into the main table: rows whose `unique_row_id` is already there are
#      left alone, only new ones are inserted.
# - `purge_files` deletes the execution's files (the CSV) once the data is in the database.
#
# `pluginDefaults` with the type **prefix** `io.kestra.plugin.jdbc.postgresql` gives `url`, `username` and
# `password` to every PostgreSQL task, including the ones nested inside the `If` tasks.
#
# `--no-run` registers the flow; we run it in the next section.

# %%
# %%flow --no-run
id: 04_postgres_taxi
namespace: zoomcamp
description: |
  The CSV Data used in the course: https://github.com/DataTalksClub/nyc-tlc-data/releases

inputs:
  - id: taxi
    type: SELECT
    displayName: Select taxi type
    values: [yellow, green]
    defaults: yellow

  - id: year
    type: SELECT
    displayName: Select year
    values: ["2019", "2020"]
    defaults: "2019"

  - id: month
    type: SELECT
    displayName: Select month
    values: ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
    defaults: "01"

variables:
  file: "{{inputs.taxi}}_tripdata_{{inputs.year}}-{{inputs.month}}.csv"
  staging_table: "public.{{inputs.taxi}}_tripdata_staging"
  table: "public.{{inputs.taxi}}_tripdata"
  data: "{{outputs.extract.outputFiles[inputs.taxi ~ '_tripdata_' ~ inputs.year ~ '-' ~ inputs.month ~ '.csv']}}"

tasks:
  - id: set_label
    type: io.kestra.plugin.core.execution.Labels
    labels:
      file: "{{render(vars.file)}}"
      taxi: "{{inputs.taxi}}"

  - id: extract
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles:
      - "*.csv"
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - wget -qO- {{envs.taxi_data_url}}{{inputs.taxi}}/{{render(vars.file)}}.gz | gunzip > {{render(vars.file)}}

  - id: if_yellow_taxi
    type: io.kestra.plugin.core.flow.If
    condition: "{{inputs.taxi == 'yellow'}}"
    then:
      - id: yellow_create_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          CREATE TABLE IF NOT EXISTS {{render(vars.table)}} (
              unique_row_id          text,
              filename               text,
              VendorID               text,
              tpep_pickup_datetime   timestamp,
              tpep_dropoff_datetime  timestamp,
              passenger_count        integer,
              trip_distance          double precision,
              RatecodeID             text,
              store_and_fwd_flag     text,
              PULocationID           text,
              DOLocationID           text,
              payment_type           integer,
              fare_amount            double precision,
              extra                  double precision,
              mta_tax                double precision,
              tip_amount             double precision,
              tolls_amount           double precision,
              improvement_surcharge  double precision,
              total_amount           double precision,
              congestion_surcharge   double precision
          );

      - id: yellow_create_staging_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          CREATE TABLE IF NOT EXISTS {{render(vars.staging_table)}} (
              unique_row_id          text,
              filename               text,
              VendorID               text,
              tpep_pickup_datetime   timestamp,
              tpep_dropoff_datetime  timestamp,
              passenger_count        integer,
              trip_distance          double precision,
              RatecodeID             text,
              store_and_fwd_flag     text,
              PULocationID           text,
              DOLocationID           text,
              payment_type           integer,
              fare_amount            double precision,
              extra                  double precision,
              mta_tax                double precision,
              tip_amount             double precision,
              tolls_amount           double precision,
              improvement_surcharge  double precision,
              total_amount           double precision,
              congestion_surcharge   double precision
          );

      - id: yellow_truncate_staging_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          TRUNCATE TABLE {{render(vars.staging_table)}};

      - id: yellow_copy_in_to_staging_table
        type: io.kestra.plugin.jdbc.postgresql.CopyIn
        format: CSV
        from: "{{render(vars.data)}}"
        table: "{{render(vars.staging_table)}}"
        header: true
        columns: [VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge]

      - id: yellow_add_unique_id_and_filename
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          UPDATE {{render(vars.staging_table)}}
          SET 
            unique_row_id = md5(
              COALESCE(CAST(VendorID AS text), '') ||
              COALESCE(CAST(tpep_pickup_datetime AS text), '') || 
              COALESCE(CAST(tpep_dropoff_datetime AS text), '') || 
              COALESCE(PULocationID, '') || 
              COALESCE(DOLocationID, '') || 
              COALESCE(CAST(fare_amount AS text), '') || 
              COALESCE(CAST(trip_distance AS text), '')      
            ),
            filename = '{{render(vars.file)}}';

      - id: yellow_merge_data
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          MERGE INTO {{render(vars.table)}} AS T
          USING {{render(vars.staging_table)}} AS S
          ON T.unique_row_id = S.unique_row_id
          WHEN NOT MATCHED THEN
            INSERT (
              unique_row_id, filename, VendorID, tpep_pickup_datetime, tpep_dropoff_datetime,
              passenger_count, trip_distance, RatecodeID, store_and_fwd_flag, PULocationID,
              DOLocationID, payment_type, fare_amount, extra, mta_tax, tip_amount, tolls_amount,
              improvement_surcharge, total_amount, congestion_surcharge
            )
            VALUES (
              S.unique_row_id, S.filename, S.VendorID, S.tpep_pickup_datetime, S.tpep_dropoff_datetime,
              S.passenger_count, S.trip_distance, S.RatecodeID, S.store_and_fwd_flag, S.PULocationID,
              S.DOLocationID, S.payment_type, S.fare_amount, S.extra, S.mta_tax, S.tip_amount, S.tolls_amount,
              S.improvement_surcharge, S.total_amount, S.congestion_surcharge
            );

  - id: if_green_taxi
    type: io.kestra.plugin.core.flow.If
    condition: "{{inputs.taxi == 'green'}}"
    then:
      - id: green_create_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          CREATE TABLE IF NOT EXISTS {{render(vars.table)}} (
              unique_row_id          text,
              filename               text,
              VendorID               text,
              lpep_pickup_datetime   timestamp,
              lpep_dropoff_datetime  timestamp,
              store_and_fwd_flag     text,
              RatecodeID             text,
              PULocationID           text,
              DOLocationID           text,
              passenger_count        integer,
              trip_distance          double precision,
              fare_amount            double precision,
              extra                  double precision,
              mta_tax                double precision,
              tip_amount             double precision,
              tolls_amount           double precision,
              ehail_fee              double precision,
              improvement_surcharge  double precision,
              total_amount           double precision,
              payment_type           integer,
              trip_type              integer,
              congestion_surcharge   double precision
          );

      - id: green_create_staging_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          CREATE TABLE IF NOT EXISTS {{render(vars.staging_table)}} (
              unique_row_id          text,
              filename               text,
              VendorID               text,
              lpep_pickup_datetime   timestamp,
              lpep_dropoff_datetime  timestamp,
              store_and_fwd_flag     text,
              RatecodeID             text,
              PULocationID           text,
              DOLocationID           text,
              passenger_count        integer,
              trip_distance          double precision,
              fare_amount            double precision,
              extra                  double precision,
              mta_tax                double precision,
              tip_amount             double precision,
              tolls_amount           double precision,
              ehail_fee              double precision,
              improvement_surcharge  double precision,
              total_amount           double precision,
              payment_type           integer,
              trip_type              integer,
              congestion_surcharge   double precision
          );

      - id: green_truncate_staging_table
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          TRUNCATE TABLE {{render(vars.staging_table)}};

      - id: green_copy_in_to_staging_table
        type: io.kestra.plugin.jdbc.postgresql.CopyIn
        format: CSV
        from: "{{render(vars.data)}}"
        table: "{{render(vars.staging_table)}}"
        header: true
        columns: [VendorID,lpep_pickup_datetime,lpep_dropoff_datetime,store_and_fwd_flag,RatecodeID,PULocationID,DOLocationID,passenger_count,trip_distance,fare_amount,extra,mta_tax,tip_amount,tolls_amount,ehail_fee,improvement_surcharge,total_amount,payment_type,trip_type,congestion_surcharge]

      - id: green_add_unique_id_and_filename
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          UPDATE {{render(vars.staging_table)}}
          SET 
            unique_row_id = md5(
              COALESCE(CAST(VendorID AS text), '') ||
              COALESCE(CAST(lpep_pickup_datetime AS text), '') || 
              COALESCE(CAST(lpep_dropoff_datetime AS text), '') || 
              COALESCE(PULocationID, '') || 
              COALESCE(DOLocationID, '') || 
              COALESCE(CAST(fare_amount AS text), '') || 
              COALESCE(CAST(trip_distance AS text), '')      
            ),
            filename = '{{render(vars.file)}}';

      - id: green_merge_data
        type: io.kestra.plugin.jdbc.postgresql.Queries
        sql: |
          MERGE INTO {{render(vars.table)}} AS T
          USING {{render(vars.staging_table)}} AS S
          ON T.unique_row_id = S.unique_row_id
          WHEN NOT MATCHED THEN
            INSERT (
              unique_row_id, filename, VendorID, lpep_pickup_datetime, lpep_dropoff_datetime,
              store_and_fwd_flag, RatecodeID, PULocationID, DOLocationID, passenger_count,
              trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, ehail_fee,
              improvement_surcharge, total_amount, payment_type, trip_type, congestion_surcharge
            )
            VALUES (
              S.unique_row_id, S.filename, S.VendorID, S.lpep_pickup_datetime, S.lpep_dropoff_datetime,
              S.store_and_fwd_flag, S.RatecodeID, S.PULocationID, S.DOLocationID, S.passenger_count,
              S.trip_distance, S.fare_amount, S.extra, S.mta_tax, S.tip_amount, S.tolls_amount, S.ehail_fee,
              S.improvement_surcharge, S.total_amount, S.payment_type, S.trip_type, S.congestion_surcharge
            );
  
  - id: purge_files
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
    description: This will remove output files. If you'd like to explore Kestra outputs, disable it.

pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: "{{envs.pg_url}}"
      username: "{{envs.pg_user}}"
      password: "{{secret('PG_PASSWORD')}}"

# %% [markdown]
# ### The DuckDB variant
#
# Without PostgreSQL, the notebook runs a variant of this flow, `04_duckdb_taxi`. It is kept in the file
# `flows/zoomcamp/04_duckdb_taxi.yml` next to this notebook (one folder per namespace, the layout
# `nb-orchestra export` writes, see notebook 08) rather than in a cell, so that its 190 lines do not fill the
# notebook when PostgreSQL is used. Open it to compare: inputs, variables, labels, the download, the row id
# and the `MERGE` are the same; what changes is how the CSV gets in (DuckDB's `read_csv` on the file, which
# `inputFiles` put in the task's folder), the schema `public` (DuckDB has to create it), and the connection:
# a database file.
#
# `nbo.register_flow` registers a flow from a file, as a `%%flow --no-run` cell does from its text:

# %%
if db is None:
    duckdb_flow = nbo.register_flow("flows/zoomcamp/04_duckdb_taxi.yml")
    print(f"Registered {duckdb_flow.namespace}.{duckdb_flow.id} (revision {duckdb_flow.revision})")

# %% [markdown]
# ## First load: yellow taxis, January 2019
#
# `%flow run FLOW` runs a registered flow. Which flow depends on the database we found, so we keep its id
# in a Python variable. `%flow run` takes Python values the way other IPython magics do: `{ETL_FLOW}` (or
# `$ETL_FLOW`) is replaced by the variable's value, and any expression works between the braces. Only
# `%flow run` does this: in a `%%flow` cell the `{{ }}` belong to Kestra.

# %%
ETL_FLOW = "04_postgres_taxi" if db is not None else "04_duckdb_taxi"

# %%
# %flow run {ETL_FLOW} -i taxi=yellow -i year=2019 -i month=01 -o first_load

# %% [markdown]
# The labels and the rows now in the main table. `count(DISTINCT unique_row_id)` is smaller than
# `count(*)`: the file itself contains a few identical trips, and `MERGE` only compares incoming rows with
# what the table **already** holds.

# %%
COUNTS = "SELECT count(*), count(DISTINCT unique_row_id) FROM public.yellow_tripdata"
print("labels:", first_load.labels)
before = query(COUNTS)[0]
print("rows, distinct row ids after the first run:", before)
for row in query("SELECT filename, tpep_pickup_datetime, trip_distance, total_amount "
                 "FROM public.yellow_tripdata ORDER BY tpep_pickup_datetime LIMIT 3"):
    print(row)

# %% [markdown]
# ## Run it again: nothing is loaded twice
#
# A pipeline gets re-run: a retry after a failure, a backfill, someone clicking twice. Because every row
# has an id computed from its content and the merge inserts only unknown ids, a second run of the same
# month leaves the main table as it was. The staging table is emptied and refilled each time.

# %%
# %flow run {ETL_FLOW} -i taxi=yellow -i year=2019 -i month=01 -o second_load

# %%
after = query(COUNTS)[0]
print("before the second run:", before)
print("after the second run: ", after)
print("unchanged:", before == after)

# %% [markdown]
# ## Exercise
#
# Load **green** taxis for February and March 2019 with one flow, `green_backfill`, that loops over the
# two months and calls the ETL flow as a `Subflow` for each (the course does the same to backfill a year).
# Then count the rows of `public.green_tripdata` per `filename`.
#
# Hints: give the flow an input `etl_flow` (a `SELECT` of `04_postgres_taxi` and `04_duckdb_taxi`) and use
# `flowId: "{{ inputs.etl_flow }}"`, so one flow works with either database; run it with
# `-i etl_flow=$ETL_FLOW`. The subflow's inputs are `taxi`, `year` and `month`.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow --no-run
id: green_backfill
namespace: zoomcamp

inputs:
  - id: etl_flow
    type: SELECT
    values: [04_postgres_taxi, 04_duckdb_taxi]
    defaults: 04_postgres_taxi

tasks:
  - id: each_month
    type: io.kestra.plugin.core.flow.ForEach
    values: ["02", "03"]
    tasks:
      - id: load_month
        type: io.kestra.plugin.core.flow.Subflow
        namespace: zoomcamp
        flowId: "{{ inputs.etl_flow }}"
        inputs:
          taxi: green
          year: "2019"
          month: "{{ taskrun.value }}"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %flow run green_backfill -i etl_flow=$ETL_FLOW
for row in query("SELECT filename, count(*) FROM public.green_tripdata GROUP BY filename ORDER BY filename"):
    print(row)
