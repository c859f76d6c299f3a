# %% [markdown]
# # 07 · Schedules and backfills
#
# **In this notebook you will learn**
#
# - to start a flow on a schedule with a `Schedule` trigger (a cron expression), and to give each trigger
#   its own inputs;
# - to use the date of the schedule's tick in the flow, `{{ trigger.date }}`, and why a manual run of such a
#   flow fails;
# - to list, disable and enable triggers with `%flow triggers`;
# - to **backfill**: run the flow for past dates (a year of monthly files, say), with `%flow backfill` or
#   from Python;
# - what happens to ticks missed while nothing was running (`recoverMissedSchedules`), and about time zones;
# - to chain flows with a `Flow` trigger: flow B starts when flow A succeeds, and gets A's outputs.
#
# A schedule is what turns a flow you run by hand into a pipeline that runs by itself.

# %%
# %load_ext nb_orchestra
import os
import time

import nb_orchestra as nbo
from nb_orchestra.teaching.server import serve_taxi_data

# %% [markdown]
# As in notebooks 05 and 06, a small local server stands in for the course's release files (it answers any
# month), and the flows read its address from `{{ envs.taxi_data_url }}`.

# %%
taxi_server = serve_taxi_data()
os.environ["ENV_TAXI_DATA_URL"] = taxi_server.url

# %% [markdown]
# ## A flow with two schedules
#
# This is the course's `05_postgres_taxi_scheduled` without the PostgreSQL part (notebook 06 does the
# loading): it downloads one month of taxi trips. Compared with the flow of notebook 06, the **month is no
# longer an input**. It comes from the schedule:
#
# - `triggers` holds two `Schedule` triggers. A cron expression has five fields, *minute hour day-of-month
#   month day-of-week*: `0 9 1 * *` is "at 09:00 on the 1st of every month". `green_schedule` runs at 09:00
#   with the input `taxi: green`, `yellow_schedule` at 10:00 with `taxi: yellow`.
# - An execution started by a schedule has a `trigger` variable; `trigger.date` is the date and time of the
#   tick that started it. `{{ trigger.date | date('yyyy-MM') }}` formats it as `2019-03` (the pattern letters
#   are Java's: `yyyy` year, `MM` month, `dd` day).
# - `concurrency: limit: 1`: one execution at a time; others wait in the `QUEUED` state.
#
# `--no-run` registers the flow without running it. Registering a flow **arms** its triggers: the scheduler
# of this kernel, started by `%load_ext`, will fire them at the right time. For a flow with schedules the
# cell shows the next fire times (and, live in a notebook, the runs the schedules start).

# %%
# %%flow --no-run
id: taxi_scheduled
namespace: zoomcamp
description: |
  Monthly download of taxi trips. When you backfill, add the label `backfill: true`.

inputs:
  - id: taxi
    type: SELECT
    displayName: Select taxi type
    values: [yellow, green]
    defaults: green

concurrency:
  limit: 1

variables:
  file: "{{ inputs.taxi }}_tripdata_{{ trigger.date | date('yyyy-MM') }}.csv"

tasks:
  - id: set_label
    type: io.kestra.plugin.core.execution.Labels
    labels:
      file: "{{ render(vars.file) }}"
      taxi: "{{ inputs.taxi }}"

  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{{ envs.taxi_data_url }}{{ inputs.taxi }}/{{ render(vars.file) }}.gz"

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.file) }}: {{ outputs.extract.length }} bytes"

triggers:
  - id: green_schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 1 * *"
    inputs:
      taxi: green

  - id: yellow_schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 10 1 * *"
    inputs:
      taxi: yellow

# %% [markdown]
# ## Looking at triggers
#
# `%flow triggers` lists every armed trigger of this kernel: its cron, when it fires next, the last
# execution it started, and whether it is enabled.

# %%
# %flow triggers taxi_scheduled

# %% [markdown]
# `--disable ID` stops a trigger from firing, `--enable ID` lets it fire again (from its next tick). In the
# Kestra UI this is the toggle in the flow's *Triggers* tab. It lasts until the flow is registered again; to
# switch a trigger off for good, write `disabled: true` in the YAML.

# %%
# %flow triggers taxi_scheduled --disable yellow_schedule

# %%
# %flow triggers taxi_scheduled --enable yellow_schedule

# %% [markdown]
# ## A manual run fails, and why
#
# Run the flow by hand and it fails: only executions started by a trigger have a `trigger` variable, so
# `trigger.date` does not exist and the variable `file` cannot be computed. The course shows the same
# failure in Kestra.

# %%
# %flow run taxi_scheduled --allow-failure -o manual_run

# %%
print(manual_run.state)
print(manual_run.taskrun("set_label").message)

# %% [markdown]
# Kestra's documentation suggests a fallback for flows that must also run by hand: `??` gives the value on
# its right when the left side is undefined or null, so `{{ trigger.date ?? execution.startDate }}` is the
# tick's date for a scheduled run and the start of the execution for a manual one. `%flow eval` evaluates an
# expression with the variables of the last execution, the failed manual one (the parentheses make the
# filter apply to the result of `??`, whichever side it came from):

# %%
# %flow eval "{{ (trigger.date ?? execution.startDate) | date('yyyy-MM') }}"

# %% [markdown]
# The course keeps `trigger.date` alone, because this flow is meant to run from its schedule, and from
# **backfills**.

# %% [markdown]
# ## Backfill: running the schedule for the past
#
# You write a scheduled flow today, but you want the data of all of 2019. A **backfill** runs the flow once
# for every tick of a schedule between two dates, as if the scheduler had been running then: each execution
# gets `trigger.date` set to its tick, and the trigger's inputs.
#
# `%flow backfill FLOW --start ... --end ... --trigger ID` does that here (the end date is excluded). This flow
# has two schedules, so `--trigger` says which one. January to March 2019, green taxis:

# %%
# green_runs = %flow backfill taxi_scheduled --start 2019-01-01 --end 2019-04-01 --trigger green_schedule

# %% [markdown]
# Three ticks (1 January, 1 February, 1 March at 09:00), three executions, one file each. Every backfilled
# execution has the label `backfill: true`, so you can tell it from a regular scheduled run:

# %%
for execution in green_runs:
    print(execution.trigger["date"].isoformat(), execution.state, execution.labels)

# %% [markdown]
# In Kestra you start a backfill from the flow's *Triggers* tab ("Backfill executions"); the course asks you
# to add the label `backfill: true` yourself in that form. Here the label is added for you.
#
# From Python, `nbo.backfill(flow, start, end, trigger_id=..., inputs=..., labels=...)` does the same and
# returns the executions. It prints one line per tick. `flow` is a `Flow` object, YAML text or the path of a
# `.yml` file; every execution keeps the `Flow` it ran, so we take it from one. Yellow taxis, same months,
# with one more label:

# %%
flow = green_runs[0].flow
yellow_runs = nbo.backfill(flow, "2019-01-01", "2019-04-01", trigger_id="yellow_schedule",
                           labels={"requested_by": "ada"})
print([execution.labels["file"] for execution in yellow_runs])

# %%
# %flow executions taxi_scheduled --label backfill=true

# %% [markdown]
# ## Ticks missed while nothing ran
#
# A schedule only fires while its scheduler runs: a Kestra server, or here this kernel. When it comes back
# after a pause (the server was down, you closed the notebook) some ticks were missed. `recoverMissedSchedules`
# on the trigger decides what happens then:
#
# | value | what runs when the scheduler is back |
# | --- | --- |
# | `ALL` (the default) | every missed tick, oldest first |
# | `LAST` | only the most recent missed tick |
# | `NONE` | nothing; the schedule goes on from the next tick |
#
# `ALL` is right for a pipeline that must process every period (each month's file); `LAST` for a job where
# only the latest state matters (refresh a dashboard). nb_orchestra remembers each trigger's last tick in its
# home folder, so a new kernel catches up the same way. A backfill is different: you ask for it, for dates
# you choose, even ones that already ran.
#
# ## Time zones
#
# Without `timezone`, a cron is read in UTC here, and in the server's own time zone on a Kestra server; with
# `timezone: Europe/Paris` (a zone name, not an offset like `UTC+1`), `0 9 * * *` means 09:00 in Paris, summer
# and winter, and `trigger.date` carries the Paris offset:

# %%
# %%flow --no-run
id: paris_report
namespace: tutorial

tasks:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "report for {{ trigger.date }}"

triggers:
  - id: every_morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
    timezone: Europe/Paris

# %% [markdown]
# The next fire time is 09:00 in Paris, written with Paris's offset from UTC:

# %%
# %flow triggers paris_report

# %% [markdown]
# ## A schedule firing while you work
#
# Schedules run in the background: the cell that registers the flow returns at once, and the executions
# happen while you go on. To see that without waiting a month, `withSeconds: true` adds a sixth field in
# front, for seconds: `* * * * * *` fires every second.

# %%
# %%flow --no-run
id: heartbeat
namespace: tutorial

tasks:
  - id: beat
    type: io.kestra.plugin.core.log.Log
    message: "tick at {{ trigger.date }}"

triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true

# %% [markdown]
# This cell only waits three seconds; meanwhile the schedule keeps firing:

# %%
time.sleep(3)

# %%
# %flow executions heartbeat

# %% [markdown]
# Enough: we disable the trigger so this notebook stays quiet.

# %%
# %flow triggers heartbeat --disable every_second

# %%
fired = len(nbo.executions(flow_id="heartbeat"))
print("the heartbeat fired at least twice:", fired >= 2)

# %% [markdown]
# ## Chaining flows with a `Flow` trigger
#
# A `Schedule` reacts to the clock; a `Flow` trigger reacts to **another flow's execution**. Below,
# `monthly_report` starts whenever `monthly_extract` ends `SUCCESS` (`preconditions` lists the upstream flows
# and the states that count). The trigger's `inputs` can read the upstream execution through `trigger`:
# `trigger.outputs` holds its **flow outputs** (the `outputs:` block of `monthly_extract`), and
# `trigger.executionId`, `trigger.flowId` and `trigger.state` say which execution it was.
#
# This keeps flows small and independent: the extract does not need to know who uses its data, and several
# flows can react to it.

# %%
# %%flow --no-run
id: monthly_report
namespace: tutorial

inputs:
  - id: file
    type: STRING

tasks:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "report on {{ inputs.file }}, made after {{ trigger.flowId }} execution {{ trigger.executionId }}"

triggers:
  - id: after_extract
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      file: "{{ trigger.outputs.file }}"
    preconditions:
      id: extract_succeeded
      flows:
        - namespace: tutorial
          flowId: monthly_extract
          states: [SUCCESS]

# %% [markdown]
# Now the upstream flow. Running it is all we do; the report follows by itself.

# %%
# %%flow
id: monthly_extract
namespace: tutorial

tasks:
  - id: extract
    type: io.kestra.plugin.core.debug.Return
    format: green_tripdata_2019-03.csv

outputs:
  - id: file
    type: STRING
    value: "{{ outputs.extract.value }}"

# %% [markdown]
# The report runs in the background; a moment later it is in the list of executions, with the file name
# it received from `monthly_extract`'s flow output:

# %%
time.sleep(1)
report = nbo.executions(flow_id="monthly_report")[0]
print(report.state, report.inputs)
print(report.logs[0].message)
print("upstream execution:", monthly_extract.id)

# %% [markdown]
# ## Before you leave
#
# Every trigger of this kernel stops with the kernel. To be tidy, disable the ones still armed (the monthly
# and daily ones would not fire for hours anyway, and the Flow trigger only reacts to `monthly_extract`).
# The scheduler can be driven from Python too: `start_scheduler()` returns the kernel's scheduler
# (`%load_ext` started it), `rows()` is what `%flow triggers` shows, and `disable()` / `enable()` are its
# switches.

# %%
from nb_orchestra.triggers import start_scheduler

scheduler = start_scheduler()
for row in scheduler.rows():
    if row.enabled:
        namespace, flow_id = row.flow.rsplit(".", 1)
        scheduler.disable(row.trigger_id, flow_id=flow_id, namespace=namespace)

# %%
# %flow triggers

# %% [markdown]
# ## Exercise
#
# 1. Write a flow `weekly_summary` (namespace `tutorial`) with a `Schedule` trigger `mondays` that fires every
#    Monday at 06:30 (day-of-week `1`), and a `Return` task `week` whose value is the tick's date formatted
#    as `yyyy-MM-dd`. Register it without running it.
# 2. Backfill it for January 2019 (`--start 2019-01-01 --end 2019-02-01`). How many executions do you get,
#    and for which dates?
# 3. Disable the trigger.
#
# The solution is in the next cells.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow --no-run
id: weekly_summary
namespace: tutorial

tasks:
  - id: week
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date | date('yyyy-MM-dd') }}"

triggers:
  - id: mondays
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "30 6 * * 1"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# weeks = %flow backfill weekly_summary --start 2019-01-01 --end 2019-02-01
print(len(weeks), [execution.outputs.week.value for execution in weeks])

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %flow triggers weekly_summary --disable mondays
