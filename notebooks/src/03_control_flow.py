# %% [markdown]
# # 03 · Control flow: If, Switch, ForEach, Parallel, Subflow
#
# **In this notebook you will learn**
#
# - to run tasks only when a condition holds (`If`), and to pick one branch among several (`Switch`);
# - to repeat tasks for each value of a list (`ForEach`), one value at a time or all at once
#   (`concurrencyLimit`), and to read each iteration's outputs;
# - to run independent tasks at the same time (`Parallel`);
# - to call another flow as a step (`Subflow`), passing inputs and getting its outputs back.
#
# Tasks that contain other tasks are called **flowable** tasks: they decide what runs, and when. The
# progress tree nests their children under them.

# %%
# %load_ext nb_orchestra

# %% [markdown]
# ## `If`: run tasks only when a condition holds
#
# `condition` is an expression. Kestra evaluates it to text and treats only `""`, `false`, `0` and `-0` as
# false: everything else, even the text `False` with a capital F, is true. Comparisons such as
# `{{ inputs.amount > 100 }}` give `true` or `false`, which is what you want.
#
# `then` runs when the condition is true, the optional `else` otherwise. The course's ETL flow uses `If`
# to pick the SQL for yellow or green taxis.

# %%
# %%flow -i amount=250
id: if_demo
namespace: tutorial

inputs:
  - id: amount
    type: INT
    defaults: 40

tasks:
  - id: check_amount
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.amount > 100 }}"
    then:
      - id: large_order
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs.amount }} needs a manager's approval"
    else:
      - id: small_order
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs.amount }} is approved automatically"

# %% [markdown]
# Only one branch ran; the `If` task's output says which way it went:

# %%
print([run.task_id for run in if_demo.taskruns])
print(if_demo.outputs.check_amount)

# %% [markdown]
# ## `Switch`: one branch among several
#
# `Switch` evaluates `value` and runs the tasks of the **case** with that text; when no case matches it
# runs `defaults`.

# %%
# %%flow -i file_format=json
id: switch_demo
namespace: tutorial

inputs:
  - id: file_format
    type: SELECT
    values: [csv, json, parquet, xml]
    defaults: csv

tasks:
  - id: pick_loader
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.file_format }}"
    cases:
      csv:
        - id: load_csv
          type: io.kestra.plugin.core.log.Log
          message: reading with a CSV parser
      json:
        - id: load_json
          type: io.kestra.plugin.core.log.Log
          message: reading with a JSON parser
      parquet:
        - id: load_parquet
          type: io.kestra.plugin.core.log.Log
          message: reading with a Parquet reader
    defaults:
      - id: unsupported
        type: io.kestra.plugin.core.log.Log
        level: WARN
        message: "no loader for {{ inputs.file_format }}"

# %%
print([run.task_id for run in switch_demo.taskruns])

# %% [markdown]
# ## `ForEach`: the same tasks for each value
#
# `ForEach` runs its `tasks` once per item of `values`. Inside, `{{ taskrun.value }}` is the current item
# and `{{ taskrun.iteration }}` its position (from 0). Outputs of tasks inside the loop are kept **per
# value**: `outputs.describe['green'].value`.
#
# `concurrencyLimit` says how many items run at the same time: `1` (the default) runs them one after the
# other, `0` runs them all at once, `2` two at a time. Each iteration below sleeps half a second, so you
# can see the difference in the durations.

# %%
# %%flow -o one_by_one
id: foreach_demo
namespace: tutorial

tasks:
  - id: each_taxi
    type: io.kestra.plugin.core.flow.ForEach
    values: ["yellow", "green", "fhv"]
    concurrencyLimit: 1
    tasks:
      - id: wait
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.5S
      - id: describe
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }} is item #{{ taskrun.iteration }}"

# %% [markdown]
# The same loop with `concurrencyLimit: 0`:

# %%
# %%flow -o all_at_once
id: foreach_parallel_demo
namespace: tutorial

tasks:
  - id: each_taxi
    type: io.kestra.plugin.core.flow.ForEach
    values: ["yellow", "green", "fhv"]
    concurrencyLimit: 0
    tasks:
      - id: wait
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.5S
      - id: describe
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }} is item #{{ taskrun.iteration }}"

# %%
print(f"one by one:  {one_by_one.duration:.1f} s")
print(f"all at once: {all_at_once.duration:.1f} s")
print(all_at_once.outputs.describe["green"].value)

# %% [markdown]
# Loops can be nested. An inner task reads the outer loop's value as `{{ parent.taskrun.value }}`, which
# is how the course loads every month of every taxi colour.

# %%
# %%flow
id: nested_loops
namespace: tutorial

tasks:
  - id: each_month
    type: io.kestra.plugin.core.flow.ForEach
    values: ["01", "02"]
    tasks:
      - id: each_taxi
        type: io.kestra.plugin.core.flow.ForEach
        values: ["yellow", "green"]
        tasks:
          - id: file_name
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}_tripdata_2019-{{ parent.taskrun.value }}.csv"

# %%
print(nested_loops.outputs.file_name["02"]["green"].value)

# %% [markdown]
# ## `Parallel`: independent tasks at the same time
#
# `Parallel` starts all its child tasks at once (at most `concurrent` of them, when set) and ends when all
# have ended. Use it for steps that do not depend on each other, such as extracting from two sources. The
# flow goes on to the next task only after every branch is done.

# %%
# %%flow
id: parallel_demo
namespace: tutorial

tasks:
  - id: extract_both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: extract_orders
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.5S
      - id: extract_customers
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.5S
  - id: join
    type: io.kestra.plugin.core.log.Log
    message: both extracts are ready

# %%
print(f"two half-second steps took {parallel_demo.duration:.1f} s in total")

# %% [markdown]
# ## `Subflow`: a flow as a step of another flow
#
# A flow you use in several places can be called from other flows with `Subflow`, given by `namespace` and
# `flowId`, with `inputs`. The parent waits for the child execution (unless `wait: false`), fails if it
# fails, and can read the child's **flow outputs** as `{{ outputs.<task_id>.outputs.<name> }}`.
#
# First register the child without running it: `--no-run` validates and registers only.

# %%
# %%flow --no-run
id: monthly_file
namespace: tutorial

inputs:
  - id: taxi
    type: SELECT
    values: [yellow, green]
  - id: month
    type: STRING

tasks:
  - id: name
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.taxi }}_tripdata_2019-{{ inputs.month }}.csv"

outputs:
  - id: file
    type: STRING
    value: "{{ outputs.name.value }}"

# %% [markdown]
# The parent calls it once per month. Each call starts a separate execution of `monthly_file`, with its
# own id (the `executionId` output); the parent's tree shows one row per call.

# %%
# %%flow
id: subflow_demo
namespace: tutorial

tasks:
  - id: each_month
    type: io.kestra.plugin.core.flow.ForEach
    values: ["01", "02", "03"]
    tasks:
      - id: call_child
        type: io.kestra.plugin.core.flow.Subflow
        namespace: tutorial
        flowId: monthly_file
        inputs:
          taxi: green
          month: "{{ taskrun.value }}"

  - id: summary
    type: io.kestra.plugin.core.log.Log
    message: "March file: {{ outputs.call_child['03'].outputs.file }}"

# %%
for month in ["01", "02", "03"]:
    print(month, subflow_demo.outputs.call_child[month].outputs["file"])

# %% [markdown]
# ## Exercise
#
# Write a flow `route_files` that loops over `["trips.csv", "zones.json", "fares.parquet", "notes.txt"]`,
# **all at once**, and for each file uses a `Switch` on the file's extension to log which loader would
# read it (`csv`, `json` or `parquet`), with a warning for anything else.
#
# Hints: `{{ taskrun.value | substringAfterLast('.') }}` gives the extension. The `Switch` itself is a
# direct child of the loop, so it sees `taskrun.value`; the tasks *inside* the `Switch` are one level
# deeper and read the loop's value as `{{ parent.taskrun.value }}`, as in Kestra.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow
id: route_files
namespace: tutorial

tasks:
  - id: each_file
    type: io.kestra.plugin.core.flow.ForEach
    values: ["trips.csv", "zones.json", "fares.parquet", "notes.txt"]
    concurrencyLimit: 0
    tasks:
      - id: by_extension
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ taskrun.value | substringAfterLast('.') }}"
        cases:
          csv:
            - id: csv_loader
              type: io.kestra.plugin.core.log.Log
              message: "{{ parent.taskrun.value }}: CSV loader"
          json:
            - id: json_loader
              type: io.kestra.plugin.core.log.Log
              message: "{{ parent.taskrun.value }}: JSON loader"
          parquet:
            - id: parquet_loader
              type: io.kestra.plugin.core.log.Log
              message: "{{ parent.taskrun.value }}: Parquet loader"
        defaults:
          - id: no_loader
            type: io.kestra.plugin.core.log.Log
            level: WARN
            message: "{{ parent.taskrun.value }}: no loader for this file"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
for log in sorted(route_files.logs, key=lambda log: log.message):
    print(log.level, log.message)
