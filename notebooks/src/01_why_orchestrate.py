# %% [markdown]
# # 01 · Why orchestrate, and the anatomy of a flow
#
# **In this notebook you will learn**
#
# - what a workflow orchestrator does for you, and why a folder of scripts and a crontab stops being enough;
# - the parts of a Kestra flow: `id`, `namespace`, `tasks`, and the optional `inputs`, `variables`,
#   `pluginDefaults`, `concurrency` and `triggers`;
# - how to run a flow in a notebook with `%%flow`, read its progress tree, and look at the execution
#   from Python;
# - how a mistake in a flow is reported, before anything runs.
#
# Every flow in these notebooks is plain Kestra YAML: what you write here runs unchanged on a Kestra server.

# %% [markdown]
# ## Why an orchestrator?
#
# A data pipeline is a handful of steps: download a file, clean it, load it into a database, tell
# someone it is done. You can write each step as a script and chain them with cron, and for three
# scripts that works. It gets hard when:
#
# - **steps depend on each other**: the load must wait for the download, and must not run at all if the
#   download failed;
# - **things fail**: a server times out at 3 a.m.; you want a retry, an alert, and the other steps left alone;
# - **you need to know what happened**: which run loaded which file, how long each step took, what it logged;
# - **the same pipeline runs with different parameters**: another month, another taxi colour, a backfill of
#   last year.
#
# An orchestrator is the conductor of those steps. You *describe* the workflow (which steps, in what order,
# with which parameters, on which schedule) and it *runs* it: it starts each step when its turn comes,
# passes results from one step to the next, retries, records every run with its logs and outputs, and shows
# you all of it.
#
# Kestra describes workflows as YAML documents called **flows**. This package runs those flows inside
# Python and Jupyter, with no server, so you can learn and test them here and move them to Kestra later.

# %%
# %load_ext nb_orchestra

# %% [markdown]
# ## The smallest flow
#
# Three properties are required:
#
# | property | what it is |
# | --- | --- |
# | `id` | the flow's name, unique inside its namespace (you cannot rename a flow on a server, only recreate it) |
# | `namespace` | a dotted folder name that groups flows, like `company.team` or `zoomcamp` |
# | `tasks` | the steps, run one after the other by default |
#
# Each task needs its own `id` (unique in the whole flow) and a `type`: the full name of the Kestra plugin
# that does the work. `io.kestra.plugin.core.log.Log` writes a log line.
#
# A `%%flow` cell validates the flow, registers it, runs it and draws a **progress tree**: one row per
# task run with its state, duration and log lines (click a row to open its logs).

# %%
# %%flow
id: hello_world
namespace: tutorial

tasks:
  - id: say_hello
    type: io.kestra.plugin.core.log.Log
    message: Hello World!

# %% [markdown]
# One run of a flow is an **execution**. The cell bound it to a Python variable named after the flow id,
# so you can look at it:

# %%
print(hello_world.state)
for log in hello_world.logs:
    print(log.level, log.task_id, log.message)

# %% [markdown]
# ## The course's first flow, part by part
#
# The flow below is the course's `01_hello_world`. Read it top to bottom before running it:
#
# - **`inputs`**: parameters you give when you start an execution. `name` is a `STRING` with a default,
#   so the flow can run without asking. Tasks read it as `{{ inputs.name }}`.
# - **`concurrency`**: at most two executions of this flow at the same time; with `behavior: FAIL` a third
#   one fails at once instead of waiting.
# - **`variables`**: values you define once and reuse. A variable is stored as written, so
#   `vars.welcome_message` is the text `Hello, {{ inputs.name }}!`; `render(...)` evaluates the expression
#   inside it.
# - **`tasks`**:
#   - `generate_output` is a `Return` task: it produces an **output** named `value`, which later tasks read
#     as `{{ outputs.generate_output.value }}`. Outputs are how tasks pass data along.
#   - `sleep` waits. The course uses 15 seconds so you can watch the run in Kestra's UI; we use 2 here.
# - **`pluginDefaults`**: property values applied to every task of a type, here every `Log` logs at
#   `ERROR` level. Look at the level of the log lines in the tree.
# - **`triggers`**: what starts the flow by itself. This `Schedule` would run it every day at 10:00 with
#   `name: Sarah`, but it is `disabled`, so only you start it.
#
# The `{{ ... }}` parts are **expressions**, evaluated when the task runs. `-o hello` binds the execution to
# the variable `hello` (the flow id `01_hello_world` does not make a nice Python name).

# %%
# %%flow -o hello
id: 01_hello_world
namespace: zoomcamp

inputs:
  - id: name
    type: STRING
    defaults: Will

concurrency:
  behavior: FAIL
  limit: 2

variables:
  welcome_message: "Hello, {{ inputs.name }}!"

tasks:
  - id: hello_message
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.welcome_message) }}"

  - id: generate_output
    type: io.kestra.plugin.core.debug.Return
    format: I was generated during this workflow.

  - id: sleep
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT2S

  - id: log_output
    type: io.kestra.plugin.core.log.Log
    message: "This is an output: {{ outputs.generate_output.value }}"

  - id: goodbye_message
    type: io.kestra.plugin.core.log.Log
    message: "Goodbye, {{ inputs.name }}!"

pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: ERROR

triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 10 * * *"
    inputs:
      name: Sarah
    disabled: true

# %% [markdown]
# Outputs are ordinary Python values on the execution. The log lines show the `ERROR` level that
# `pluginDefaults` gave every `Log` task:

# %%
print(hello.outputs.generate_output.value)
for log in hello.logs:
    print(f"{log.level:5} {log.task_id:16} {log.message}")

# %% [markdown]
# The flow is now registered, so you can run it again by name, with another input. `-i KEY=VALUE` gives
# an input; without it the default is used.

# %%
# %flow run 01_hello_world -i name=Ann -o hello_ann

# %% [markdown]
# `%flow show` prints a registered flow and draws its tasks:

# %%
# %flow show 01_hello_world

# %% [markdown]
# ## Mistakes are caught before anything runs
#
# Every flow is checked when you write it: unknown properties, missing ones, wrong types, duplicate task
# ids, expressions that cannot be parsed. All problems are reported at once, each with its line and column.
# In a `%%flow` cell the message replaces the run; from Python, `load_flow` raises `FlowValidationError`:

# %%
import nb_orchestra as nbo

broken = """
id: broken
namespace: tutorial
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    mesage: Hi
"""
try:
    nbo.load_flow(broken)
except nbo.FlowValidationError as error:
    print(error.pretty())

# %% [markdown]
# ## Exercise
#
# Write a flow `weather_report` in the namespace `tutorial` with:
#
# 1. an input `city` (a `STRING`, default `Lisbon`);
# 2. a variable `headline` with the text `Weather for <city>` (use the input in an expression);
# 3. a `Return` task `forecast` whose value is `sunny`;
# 4. a `Log` task that logs the rendered headline, a colon, and the forecast, e.g. `Weather for Lisbon: sunny`.
#
# Run it with `-i city=Porto`, then print the forecast output from Python. The solution is in the next
# cell (click to expand it).

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow -i city=Porto
id: weather_report
namespace: tutorial

inputs:
  - id: city
    type: STRING
    defaults: Lisbon

variables:
  headline: "Weather for {{ inputs.city }}"

tasks:
  - id: forecast
    type: io.kestra.plugin.core.debug.Return
    format: sunny

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.headline) }}: {{ outputs.forecast.value }}"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
print(weather_report.outputs.forecast.value)
