# %% [markdown]
# # 05 · Scripts and files: Python, shell, downloads, the KV store and secrets
#
# **In this notebook you will learn**
#
# - to run Python and shell scripts as tasks, and to send values back to the flow with
#   `Kestra.outputs(...)`;
# - how files move between tasks: `inputFiles` put files into a task's working folder, `outputFiles` keep
#   the files a task made, and `kestra://` URIs name them in between;
# - to download a file over HTTP with a task;
# - to keep small values between executions in the **KV store**, and to read **secrets** without writing
#   them in the flow;
# - to convert files between CSV, Ion and Parquet, and to post a message to a chat webhook.
#
# Where it matters, we use the same kind of files as the course: monthly NYC taxi trips.

# %%
# %load_ext nb_orchestra
import base64
import os

from nb_orchestra.teaching.server import RELEASE_URL, serve_taxi_data

# %% [markdown]
# ## A local copy of the course's data
#
# The course downloads monthly files such as `yellow_tripdata_2019-01.csv.gz` from
#
#     https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/yellow_tripdata_2019-01.csv.gz
#
# To run without the internet, and quickly, the next cell starts a small web server on this machine that
# answers the same paths with a sample of a few hundred trips in the real column layout.
#
# The flows read the server's address from an environment variable. Kestra gives flows every environment
# variable whose name starts with `ENV_`, without the prefix and in lower case: `ENV_TAXI_DATA_URL` is
# `{{ envs.taxi_data_url }}`. On a real server you would write the GitHub address there instead.

# %%
taxi_server = serve_taxi_data()
os.environ["ENV_TAXI_DATA_URL"] = taxi_server.url
print("the real files live under", RELEASE_URL)

# %% [markdown]
# ## A Python script task
#
# `io.kestra.plugin.scripts.python.Script` runs the Python code in `script` as a separate process, in a
# fresh working folder. Two things connect it to the flow:
#
# - the script text is an expression template, evaluated before it runs: `{{ inputs.n }}` becomes the
#   input's value. Python's own `{` `}` are fine; only `{{`, `{%` and `{#` are special (an expression, a
#   tag, a comment). Mind that in shell scripts too: `${#VAR}` would start a comment.
# - `Kestra.outputs({...})` sends values back: later tasks read them as `{{ outputs.<task>.vars.<name> }}`.
#   Anything the script prints becomes a log line.
#
# On a Kestra server the course runs scripts in Docker containers (`taskRunner`, `containerImage`) and
# installs packages with `dependencies`. Here those properties are accepted and the script runs as a local
# process with this notebook's Python.

# %%
# %%flow -i n=10
id: python_script
namespace: tutorial

inputs:
  - id: n
    type: INT
    defaults: 5

tasks:
  - id: squares
    type: io.kestra.plugin.scripts.python.Script
    script: |
      from kestra import Kestra

      numbers = [i * i for i in range(1, {{ inputs.n }} + 1)]
      print(f"computed {len(numbers)} squares")
      Kestra.outputs({"squares": numbers, "total": sum(numbers)})

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "the sum of the first {{ inputs.n }} squares is {{ outputs.squares.vars.total }}"

# %%
print(python_script.outputs.squares.vars)

# %% [markdown]
# ## Files between tasks: download, unzip, analyse
#
# Each task runs in its own folder, so files must be handed over explicitly:
#
# 1. `Download` fetches a URL and stores the body in the execution's storage. Its output `uri` is a
#    `kestra://` URI: the name of a stored file, not its content.
# 2. `inputFiles` (a map of file name to content) writes files into the task's folder before it runs. A
#    value that is a `kestra://` URI is copied from storage; any other text becomes the file's content.
# 3. `outputFiles` (a list of names or patterns like `*.csv`) keeps the files a script made; each becomes an
#    output `outputFiles['name']` holding its `kestra://` URI.
#
# The shell task runs all its `commands` in one shell and fails as soon as one command fails.

# %%
# %%flow
id: taxi_files
namespace: tutorial

tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{{ envs.taxi_data_url }}yellow/yellow_tripdata_2019-01.csv.gz"

  - id: unzip
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      trips.csv.gz: "{{ outputs.download.uri }}"
    outputFiles:
      - "*.csv"
    commands:
      - gunzip trips.csv.gz
      - echo "$(wc -l < trips.csv) lines, the first is the header"

  - id: stats
    type: io.kestra.plugin.scripts.python.Script
    inputFiles:
      trips.csv: "{{ outputs.unzip.outputFiles['trips.csv'] }}"
    outputFiles:
      - summary.json
    script: |
      import csv
      import json
      from collections import Counter

      from kestra import Kestra

      with open("trips.csv", newline="") as f:
          trips = list(csv.DictReader(f))
      average_fare = round(sum(float(t["fare_amount"]) for t in trips) / len(trips), 2)
      payments = Counter(t["payment_type"] for t in trips)
      summary = {"trips": len(trips), "average_fare": average_fare, "by_payment_type": dict(sorted(payments.items()))}
      with open("summary.json", "w") as f:
          json.dump(summary, f, indent=2)
      Kestra.outputs({"trips": len(trips), "average_fare": average_fare})

  - id: report
    type: io.kestra.plugin.core.log.Log
    message:
      - "{{ outputs.stats.vars.trips }} trips, average fare {{ outputs.stats.vars.average_fare }} USD"
      - "summary.json: {{ read(outputs.stats.outputFiles['summary.json']) }}"

# %% [markdown]
# Outputs that are files hold URIs. `read()` in an expression gives a stored file's text; in Python the
# execution's outputs show the URIs:

# %%
print(taxi_files.outputs.download.code, taxi_files.outputs.download.length, "bytes")
print(taxi_files.outputs.stats.outputFiles)
for log in taxi_files.logs_of("report"):
    print(log.message)

# %% [markdown]
# ## The KV store: small values that outlive an execution
#
# Outputs belong to one execution. To remember something **between** executions (the last month loaded, a
# counter, a setting shared by several flows) use the namespace's key-value store:
#
# - `kv.Set` stores a value under a key (`kvType` converts text to a number, a date, JSON...);
# - `kv.Get` reads one as a task output, `{{ kv('KEY') }}` reads one in any expression (an error when the
#   key is missing, unless you pass `errorOnMissing=false`);
# - keys belong to a namespace: flows of `tutorial` share them.
#
# This flow counts its own executions. Run it twice:

# %%
# %%flow -o first_run
id: kv_demo
namespace: tutorial

tasks:
  - id: count_runs
    type: io.kestra.plugin.core.kv.Set
    key: run_count
    value: "{{ (kv('run_count', errorOnMissing=false) ?? 0) + 1 }}"

  - id: remember_month
    type: io.kestra.plugin.core.kv.Set
    key: last_loaded_month
    value: "2019-01"

  - id: read_back
    type: io.kestra.plugin.core.kv.Get
    key: run_count

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "run number {{ outputs.read_back.value }}; last month loaded: {{ kv('last_loaded_month') }}"

# %%
# %flow run kv_demo -o second_run

# %%
print(first_run.outputs.read_back.value, second_run.outputs.read_back.value)

# %% [markdown]
# ## Secrets
#
# Passwords and API keys must not be written in a flow: flows are shared, versioned and shown in the UI.
# A flow asks for a secret by name, `{{ secret('API_TOKEN') }}`, and the value is **masked** as `******` in
# every log line.
#
# The open-source Kestra server reads a secret named `API_TOKEN` from the environment variable
# `SECRET_API_TOKEN`, which must hold the value **encoded in base64**. Base64 is not encryption: it only
# turns any bytes (a multi-line key file, say) into safe letters and digits for an environment variable,
# and anyone can decode it. Keep the variable itself private.
#
# Here we set the variable in the notebook, as you would in the server's environment:

# %%
os.environ["SECRET_API_TOKEN"] = base64.b64encode(b"tok-12345-abcde").decode()
print("SECRET_API_TOKEN =", os.environ["SECRET_API_TOKEN"])
print("decoded:", base64.b64decode(os.environ["SECRET_API_TOKEN"]).decode())

# %%
# %%flow
id: secret_demo
namespace: tutorial

tasks:
  - id: call_api
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      API_TOKEN: "{{ secret('API_TOKEN') }}"
    commands:
      - echo "calling the API with token $API_TOKEN"
      - echo "the token has $(printf %s "$API_TOKEN" | wc -c) characters"

  - id: careless_log
    type: io.kestra.plugin.core.log.Log
    message: "the token is {{ secret('API_TOKEN') }}"

# %% [markdown]
# The script received the real token (it counted its characters), but no log line shows it:

# %%
for log in secret_demo.logs:
    print(log.task_id, "|", log.message)

# %% [markdown]
# ## Converting files, and telling someone
#
# Kestra's own file format between tasks is **Ion** (a typed superset of JSON, one record per line). The
# `serdes` tasks convert to and from it: `CsvToIon` reads a CSV file, `IonToParquet` writes the same
# records as Parquet, the columnar format warehouses load fastest. Each gives the `kestra://` URI of the
# file it wrote and the number of records (`size`). They need the `serdes` extra:
# `pip install "nb-orchestra[serdes]"`.
#
# A flow that others depend on should say when it is done (or failed). The `notifications` tasks post to
# chat services' incoming webhooks: Slack, Discord, Microsoft Teams, Google Chat. The webhook address is
# a secret: anyone who has it can post to your channel. Here a small local server stands in for Slack and
# keeps what it receives.

# %%
from nb_orchestra.teaching.webhook import serve_webhook

slack = serve_webhook()
os.environ["SECRET_SLACK_WEBHOOK"] = base64.b64encode(slack.url.encode()).decode()

# %%
# %%flow
id: trips_to_parquet
namespace: tutorial

tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{{ envs.taxi_data_url }}yellow/yellow_tripdata_2019-01.csv.gz"

  - id: unzip
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      trips.csv.gz: "{{ outputs.download.uri }}"
    outputFiles:
      - trips.csv
    commands:
      - gunzip trips.csv.gz

  - id: to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ outputs.unzip.outputFiles['trips.csv'] }}"

  - id: to_parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ outputs.to_ion.uri }}"

  - id: tell_the_team
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK') }}"
    payload: |
      {"text": "{{ flow.id }}: {{ outputs.to_parquet.size }} trips of 2019-01 converted to Parquet"}

# %% [markdown]
# What "Slack" received, and the Parquet file read back with pandas (the first rows):

# %%
import pandas as pd

print(slack.received)
pd.read_parquet(trips_to_parquet.file(trips_to_parquet.outputs.to_parquet.uri)).head(3)

# %% [markdown]
# ## Exercise
#
# Write a flow `green_fares` that:
#
# 1. downloads `green/green_tripdata_2019-02.csv.gz` from the local server;
# 2. in a **Python** task, reads the gzipped CSV directly (`gzip.open(name, "rt")`), and outputs the
#    number of trips paid by card (`payment_type` `1`) and their total `tip_amount`, rounded to cents;
# 3. stores the tip total in the KV store under `green_tips_2019_02`;
# 4. logs both numbers.
#
# Then read the KV value back from another flow, or with `%flow eval "{{ kv('green_tips_2019_02') }}"`.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow
id: green_fares
namespace: tutorial

tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{{ envs.taxi_data_url }}green/green_tripdata_2019-02.csv.gz"

  - id: card_tips
    type: io.kestra.plugin.scripts.python.Script
    inputFiles:
      trips.csv.gz: "{{ outputs.download.uri }}"
    script: |
      import csv
      import gzip

      from kestra import Kestra

      with gzip.open("trips.csv.gz", "rt", newline="") as f:
          card = [t for t in csv.DictReader(f) if t["payment_type"] == "1"]
      Kestra.outputs({"card_trips": len(card), "tips": round(sum(float(t["tip_amount"]) for t in card), 2)})

  - id: remember_tips
    type: io.kestra.plugin.core.kv.Set
    key: green_tips_2019_02
    value: "{{ outputs.card_tips.vars.tips }}"

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.card_tips.vars.card_trips }} card trips, {{ outputs.card_tips.vars.tips }} USD of tips"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %flow eval "{{ kv('green_tips_2019_02') }}"
