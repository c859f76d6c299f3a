# %% [markdown]
# # 10 · Into the cloud: GCS and BigQuery
#
# **In this notebook you will learn**
#
# - the course's cloud flows: `06_gcp_kv` keeps the project's settings in the **KV store**, `07_gcp_setup`
#   creates a **bucket** and a **dataset**, `08_gcp_taxi` uploads a month of trips to **Google Cloud
#   Storage** and loads it into **BigQuery** with an external table and a `MERGE`;
# - how one `pluginDefaults` entry on the type prefix `io.kestra.plugin.gcp` gives every GCP task its
#   project, location and credentials, and why the key is a **secret**;
# - what runs where: on your own Google Cloud project, or offline on this machine.
#
# The flows are the course's, unchanged except the download address (as in notebook 06).
#
# ### Your project or offline
#
# With a Google Cloud project (the course has you create one), give the notebook two things before
# running it, in the environment of the Jupyter server:
#
# - `GCP_CREDS`: the text of a service account key (the JSON file the course has you download);
# - `GCP_PROJECT_ID`, and `GCP_BUCKET_NAME` (a globally unique name); optionally `GCP_LOCATION`
#   (default `europe-west2`) and `GCP_DATASET` (default `zoomcamp`).
#
# Without them the notebook runs **offline**: Cloud Storage is a local emulator started here (the
# `gcp-storage-emulator` package), so uploads, listings and downloads really happen, on this machine.
# BigQuery has no local implementation: offline, a local **stand-in** of its REST API accepts the
# dataset, the tables and the query jobs and records them, but runs no SQL. You see exactly what your
# project would be asked to do, not the rows it would compute.

# %%
# %load_ext nb_orchestra
import json
import os

import nb_orchestra as nbo
from nb_orchestra.teaching.server import serve_taxi_data

LIVE = bool(os.environ.get("GCP_CREDS") and os.environ.get("GCP_PROJECT_ID") and os.environ.get("GCP_BUCKET_NAME"))
settings = {
    "GCP_PROJECT_ID": os.environ.get("GCP_PROJECT_ID", "offline-project"),
    "GCP_LOCATION": os.environ.get("GCP_LOCATION", "europe-west2"),
    "GCP_BUCKET_NAME": os.environ.get("GCP_BUCKET_NAME", "zoomcamp-offline"),
    "GCP_DATASET": os.environ.get("GCP_DATASET", "zoomcamp"),
}

if LIVE:
    nbo.set_secret("GCP_CREDS", os.environ["GCP_CREDS"])
    os.environ["ENV_TAXI_DATA_URL"] = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/"
    print(f"Live: project {settings['GCP_PROJECT_ID']}, bucket {settings['GCP_BUCKET_NAME']}.")
else:
    from nb_orchestra.teaching.bigquery_standin import BigQueryStandin
    from nb_orchestra.teaching.gcs_emulator import GcsEmulator

    gcs = GcsEmulator()
    bigquery = BigQueryStandin()
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    os.environ["BIGQUERY_EMULATOR_HOST"] = bigquery.url
    # The emulators take no credentials, but the flows still read the secret: a key-shaped placeholder.
    nbo.set_secret("GCP_CREDS", json.dumps({"type": "service_account", "client_email": "student@offline.invalid",
                                            "private_key": "offline", "project_id": settings["GCP_PROJECT_ID"]}))
    taxi_server = serve_taxi_data()
    os.environ["ENV_TAXI_DATA_URL"] = taxi_server.url
    print("Offline: Cloud Storage is a local emulator, BigQuery a local stand-in that runs no SQL.")

# %% [markdown]
# ## The project's settings in the KV store
#
# `06_gcp_kv` is the course's first GCP flow: four `kv.Set` tasks store the project id, the location,
# the bucket and the dataset in the **namespace's KV store**, where every later flow reads them with
# `{{ kv('GCP_PROJECT_ID') }}`. You run it once per project; here its values come from the settings above
# (in the course you type yours into the flow).

# %%
# %%flow --no-run
id: 06_gcp_kv
namespace: zoomcamp

inputs:
  - id: project_id
    type: STRING
  - id: location
    type: STRING
  - id: bucket_name
    type: STRING
  - id: dataset
    type: STRING

tasks:
  - id: gcp_project_id
    type: io.kestra.plugin.core.kv.Set
    key: GCP_PROJECT_ID
    kvType: STRING
    value: "{{ inputs.project_id }}"

  - id: gcp_location
    type: io.kestra.plugin.core.kv.Set
    key: GCP_LOCATION
    kvType: STRING
    value: "{{ inputs.location }}"

  - id: gcp_bucket_name
    type: io.kestra.plugin.core.kv.Set
    key: GCP_BUCKET_NAME
    kvType: STRING
    value: "{{ inputs.bucket_name }}"

  - id: gcp_dataset
    type: io.kestra.plugin.core.kv.Set
    key: GCP_DATASET
    kvType: STRING
    value: "{{ inputs.dataset }}"

# %%
kv = nbo.run("06_gcp_kv", inputs={"project_id": settings["GCP_PROJECT_ID"], "location": settings["GCP_LOCATION"],
                                  "bucket_name": settings["GCP_BUCKET_NAME"], "dataset": settings["GCP_DATASET"]})
print(kv.state, "| KV values set:", [run.task_id for run in kv.taskruns])

# %% [markdown]
# ## A bucket and a dataset
#
# `07_gcp_setup` creates the bucket and the dataset, with `ifExists: SKIP` so a second run changes
# nothing. Look at `pluginDefaults`: one entry on the **prefix** `io.kestra.plugin.gcp` gives all GCP tasks
# their credentials (`serviceAccount`: the key, from a secret), project and location. It also gives
# `bucket`, which `CreateDataset` has no use for: as Kestra does, a default matched by prefix only fills
# the properties a task has.
#
# The key is the password of a robot account of your project: it belongs in a **secret**, never in the
# flow or in a KV value anyone can read. nb_orchestra masks it wherever it would be printed or stored.

# %%
# %%flow
id: 07_gcp_setup
namespace: zoomcamp

tasks:
  - id: create_gcs_bucket
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    ifExists: SKIP
    storageClass: REGIONAL
    name: "{{kv('GCP_BUCKET_NAME')}}" # make sure it's globally unique!

  - id: create_bq_dataset
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: "{{kv('GCP_DATASET')}}"
    ifExists: SKIP

pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      serviceAccount: "{{secret('GCP_CREDS')}}"
      projectId: "{{kv('GCP_PROJECT_ID')}}"
      location: "{{kv('GCP_LOCATION')}}"
      bucket: "{{kv('GCP_BUCKET_NAME')}}"

# %%
bucket = _07_gcp_setup.outputs.create_gcs_bucket["bucket"]
print("bucket:", bucket["uri"], "in", bucket["location"], "| created now:",
      _07_gcp_setup.outputs.create_gcs_bucket["created"])
print("dataset:", _07_gcp_setup.outputs.create_bq_dataset["dataset"])

# %% [markdown]
# ## Taxi trips into BigQuery
#
# `08_gcp_taxi` is `04_postgres_taxi` (notebook 06) moved to the cloud:
#
# 1. `extract` downloads and unpacks the month's CSV (here from `ENV_TAXI_DATA_URL`: the course's GitHub
#    address when live, the local sample server offline);
# 2. `upload_to_gcs` puts it in the bucket: `to` is `gs://<bucket>/<file>`, built by
#    `render(vars.gcs_file)`, a variable that uses another variable (`render` renders until nothing is
#    left to render);
# 3. for green taxis, four `bigquery.Query` tasks create the main table (partitioned by pickup day), an
#    **external table** that reads the CSV where it lies in the bucket, a table of the month with a
#    `unique_row_id` and the file name, and **merge** that month into the main table: as in PostgreSQL,
#    a second run of the same month inserts nothing.
#
# Only the green branch is shown; the course's flow has the same four tasks for yellow taxis.

# %%
# %%flow --no-run
id: 08_gcp_taxi
namespace: zoomcamp
description: |
  The CSV Data used in the course: https://github.com/DataTalksClub/nyc-tlc-data/releases

inputs:
  - id: taxi
    type: SELECT
    displayName: Select taxi type
    values: [yellow, green]
    defaults: green

  - id: year
    type: SELECT
    displayName: Select year
    values: ["2019", "2020"]
    defaults: "2019"
    allowCustomValue: true # allows you to type 2021 from the UI for the homework 🤗

  - id: month
    type: SELECT
    displayName: Select month
    values: ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
    defaults: "01"

variables:
  file: "{{inputs.taxi}}_tripdata_{{inputs.year}}-{{inputs.month}}.csv"
  gcs_file: "gs://{{kv('GCP_BUCKET_NAME')}}/{{vars.file}}"
  table: "{{kv('GCP_DATASET')}}.{{inputs.taxi}}_tripdata_{{inputs.year}}_{{inputs.month}}"
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

  - id: upload_to_gcs
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{render(vars.data)}}"
    to: "{{render(vars.gcs_file)}}"

  - id: if_green_taxi
    type: io.kestra.plugin.core.flow.If
    condition: "{{inputs.taxi == 'green'}}"
    then:
      - id: bq_green_tripdata
        type: io.kestra.plugin.gcp.bigquery.Query
        sql: |
          CREATE TABLE IF NOT EXISTS `{{kv('GCP_PROJECT_ID')}}.{{kv('GCP_DATASET')}}.green_tripdata`
          (
              unique_row_id BYTES OPTIONS (description = 'A unique identifier for the trip, generated by hashing key trip attributes.'),
              filename STRING OPTIONS (description = 'The source filename from which the trip data was loaded.'),
              VendorID STRING OPTIONS (description = 'A code indicating the LPEP provider that provided the record. 1= Creative Mobile Technologies, LLC; 2= VeriFone Inc.'),
              lpep_pickup_datetime TIMESTAMP OPTIONS (description = 'The date and time when the meter was engaged'),
              lpep_dropoff_datetime TIMESTAMP OPTIONS (description = 'The date and time when the meter was disengaged'),
              store_and_fwd_flag STRING OPTIONS (description = 'This flag indicates whether the trip record was held in vehicle memory before sending to the vendor, aka "store and forward," because the vehicle did not have a connection to the server. Y= store and forward trip N= not a store and forward trip'),
              RatecodeID STRING OPTIONS (description = 'The final rate code in effect at the end of the trip. 1= Standard rate 2=JFK 3=Newark 4=Nassau or Westchester 5=Negotiated fare 6=Group ride'),
              PULocationID STRING OPTIONS (description = 'TLC Taxi Zone in which the taximeter was engaged'),
              DOLocationID STRING OPTIONS (description = 'TLC Taxi Zone in which the taximeter was disengaged'),
              passenger_count INT64 OPTIONS (description = 'The number of passengers in the vehicle. This is a driver-entered value.'),
              trip_distance NUMERIC OPTIONS (description = 'The elapsed trip distance in miles reported by the taximeter.'),
              fare_amount NUMERIC OPTIONS (description = 'The time-and-distance fare calculated by the meter'),
              extra NUMERIC OPTIONS (description = 'Miscellaneous extras and surcharges. Currently, this only includes the $0.50 and $1 rush hour and overnight charges'),
              mta_tax NUMERIC OPTIONS (description = '$0.50 MTA tax that is automatically triggered based on the metered rate in use'),
              tip_amount NUMERIC OPTIONS (description = 'Tip amount. This field is automatically populated for credit card tips. Cash tips are not included.'),
              tolls_amount NUMERIC OPTIONS (description = 'Total amount of all tolls paid in trip.'),
              ehail_fee NUMERIC,
              improvement_surcharge NUMERIC OPTIONS (description = '$0.30 improvement surcharge assessed on hailed trips at the flag drop. The improvement surcharge began being levied in 2015.'),
              total_amount NUMERIC OPTIONS (description = 'The total amount charged to passengers. Does not include cash tips.'),
              payment_type INTEGER OPTIONS (description = 'A numeric code signifying how the passenger paid for the trip. 1= Credit card 2= Cash 3= No charge 4= Dispute 5= Unknown 6= Voided trip'),
              trip_type STRING OPTIONS (description = 'A code indicating whether the trip was a street-hail or a dispatch that is automatically assigned based on the metered rate in use but can be altered by the driver. 1= Street-hail 2= Dispatch'),
              congestion_surcharge NUMERIC OPTIONS (description = 'Congestion surcharge applied to trips in congested zones')
          )
          PARTITION BY DATE(lpep_pickup_datetime);

      - id: bq_green_table_ext
        type: io.kestra.plugin.gcp.bigquery.Query
        sql: |
          CREATE OR REPLACE EXTERNAL TABLE `{{kv('GCP_PROJECT_ID')}}.{{render(vars.table)}}_ext`
          (
              VendorID STRING OPTIONS (description = 'A code indicating the LPEP provider that provided the record. 1= Creative Mobile Technologies, LLC; 2= VeriFone Inc.'),
              lpep_pickup_datetime TIMESTAMP OPTIONS (description = 'The date and time when the meter was engaged'),
              lpep_dropoff_datetime TIMESTAMP OPTIONS (description = 'The date and time when the meter was disengaged'),
              store_and_fwd_flag STRING OPTIONS (description = 'This flag indicates whether the trip record was held in vehicle memory before sending to the vendor, aka "store and forward," because the vehicle did not have a connection to the server. Y= store and forward trip N= not a store and forward trip'),
              RatecodeID STRING OPTIONS (description = 'The final rate code in effect at the end of the trip. 1= Standard rate 2=JFK 3=Newark 4=Nassau or Westchester 5=Negotiated fare 6=Group ride'),
              PULocationID STRING OPTIONS (description = 'TLC Taxi Zone in which the taximeter was engaged'),
              DOLocationID STRING OPTIONS (description = 'TLC Taxi Zone in which the taximeter was disengaged'),
              passenger_count INT64 OPTIONS (description = 'The number of passengers in the vehicle. This is a driver-entered value.'),
              trip_distance NUMERIC OPTIONS (description = 'The elapsed trip distance in miles reported by the taximeter.'),
              fare_amount NUMERIC OPTIONS (description = 'The time-and-distance fare calculated by the meter'),
              extra NUMERIC OPTIONS (description = 'Miscellaneous extras and surcharges. Currently, this only includes the $0.50 and $1 rush hour and overnight charges'),
              mta_tax NUMERIC OPTIONS (description = '$0.50 MTA tax that is automatically triggered based on the metered rate in use'),
              tip_amount NUMERIC OPTIONS (description = 'Tip amount. This field is automatically populated for credit card tips. Cash tips are not included.'),
              tolls_amount NUMERIC OPTIONS (description = 'Total amount of all tolls paid in trip.'),
              ehail_fee NUMERIC,
              improvement_surcharge NUMERIC OPTIONS (description = '$0.30 improvement surcharge assessed on hailed trips at the flag drop. The improvement surcharge began being levied in 2015.'),
              total_amount NUMERIC OPTIONS (description = 'The total amount charged to passengers. Does not include cash tips.'),
              payment_type INTEGER OPTIONS (description = 'A numeric code signifying how the passenger paid for the trip. 1= Credit card 2= Cash 3= No charge 4= Dispute 5= Unknown 6= Voided trip'),
              trip_type STRING OPTIONS (description = 'A code indicating whether the trip was a street-hail or a dispatch that is automatically assigned based on the metered rate in use but can be altered by the driver. 1= Street-hail 2= Dispatch'),
              congestion_surcharge NUMERIC OPTIONS (description = 'Congestion surcharge applied to trips in congested zones')
          )
          OPTIONS (
              format = 'CSV',
              uris = ['{{render(vars.gcs_file)}}'],
              skip_leading_rows = 1,
              ignore_unknown_values = TRUE
          );

      - id: bq_green_table_tmp
        type: io.kestra.plugin.gcp.bigquery.Query
        sql: |
          CREATE OR REPLACE TABLE `{{kv('GCP_PROJECT_ID')}}.{{render(vars.table)}}`
          AS
          SELECT
            MD5(CONCAT(
              COALESCE(CAST(VendorID AS STRING), ""),
              COALESCE(CAST(lpep_pickup_datetime AS STRING), ""),
              COALESCE(CAST(lpep_dropoff_datetime AS STRING), ""),
              COALESCE(CAST(PULocationID AS STRING), ""),
              COALESCE(CAST(DOLocationID AS STRING), "")
            )) AS unique_row_id,
            "{{render(vars.file)}}" AS filename,
            *
          FROM `{{kv('GCP_PROJECT_ID')}}.{{render(vars.table)}}_ext`;

      - id: bq_green_merge
        type: io.kestra.plugin.gcp.bigquery.Query
        sql: |
          MERGE INTO `{{kv('GCP_PROJECT_ID')}}.{{kv('GCP_DATASET')}}.green_tripdata` T
          USING `{{kv('GCP_PROJECT_ID')}}.{{render(vars.table)}}` S
          ON T.unique_row_id = S.unique_row_id
          WHEN NOT MATCHED THEN
            INSERT (unique_row_id, filename, VendorID, lpep_pickup_datetime, lpep_dropoff_datetime, store_and_fwd_flag, RatecodeID, PULocationID, DOLocationID, passenger_count, trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, ehail_fee, improvement_surcharge, total_amount, payment_type, trip_type, congestion_surcharge)
            VALUES (S.unique_row_id, S.filename, S.VendorID, S.lpep_pickup_datetime, S.lpep_dropoff_datetime, S.store_and_fwd_flag, S.RatecodeID, S.PULocationID, S.DOLocationID, S.passenger_count, S.trip_distance, S.fare_amount, S.extra, S.mta_tax, S.tip_amount, S.tolls_amount, S.ehail_fee, S.improvement_surcharge, S.total_amount, S.payment_type, S.trip_type, S.congestion_surcharge);

  - id: purge_files
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
    description: If you'd like to explore Kestra outputs, disable it.
    disabled: false

pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      serviceAccount: "{{secret('GCP_CREDS')}}"
      projectId: "{{kv('GCP_PROJECT_ID')}}"
      location: "{{kv('GCP_LOCATION')}}"
      bucket: "{{kv('GCP_BUCKET_NAME')}}"

# %%
# %flow run 08_gcp_taxi -i taxi=green -i year=2019 -i month=01 -o green_january

# %% [markdown]
# The CSV is in the bucket: `gcs.List` lists it, with its size, as Kestra's `List` task outputs it.

# %%
# %%flow
id: list_bucket
namespace: zoomcamp

tasks:
  - id: list
    type: io.kestra.plugin.gcp.gcs.List
    from: "gs://{{kv('GCP_BUCKET_NAME')}}/"

pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      serviceAccount: "{{secret('GCP_CREDS')}}"
      projectId: "{{kv('GCP_PROJECT_ID')}}"

# %%
for blob in list_bucket.outputs.list["blobs"]:
    print(blob["uri"], blob["size"], "bytes")

# %% [markdown]
# ## What BigQuery was asked
#
# Each `Query` task sent one **query job**; its output `jobId` is the job's id in the project's job
# history (in the console: BigQuery → Job history). Live, the main table now holds the month; offline,
# the stand-in has recorded the four jobs, and the SQL it received is the flow's, with the KV values and
# the variables in place:

# %%
for task_id in ["bq_green_tripdata", "bq_green_table_ext", "bq_green_table_tmp", "bq_green_merge"]:
    print(task_id, "job", green_january.outputs[task_id]["jobId"])
if not LIVE:
    merge = bigquery.job_configurations("query")[-1]["query"]
    print()
    print(merge[:170], "...")

# %% [markdown]
# ## Exercise
#
# Load green taxis for February 2019 with one `%flow run`, and check the execution's labels. Live, then
# count the rows of the main table per `filename` with a `bigquery.Query` task (`fetchType: FETCH`, and
# `outputs.<task>.rows`), and run January again: its count does not change.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %flow run 08_gcp_taxi -i taxi=green -i year=2019 -i month=02 -o green_february
print(green_february.state, green_february.labels)

# %% [markdown]
# ## Cleaning up
#
# Offline, the emulator and the stand-in live in this kernel and end with it. Live, the bucket and the
# dataset stay in your project (and cost a little while they hold data): delete them in the console, or
# with `gcs.DeleteBucket` and `bigquery.DeleteDataset` tasks.

# %%
if not LIVE:
    gcs.stop()
    bigquery.close()
    taxi_server.stop()
