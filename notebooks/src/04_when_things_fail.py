# %% [markdown]
# # 04 · When things fail: retries, timeouts, error handlers, restart and replay
#
# **In this notebook you will learn**
#
# - to retry a task that fails now and then (`retry`, constant or exponential), and to see its attempts;
# - to stop a task that takes too long (`timeout`);
# - to let a flow go on after a failure it can live with (`allowFailure`, `allowWarning`);
# - to run tasks when something failed (`errors`), and tasks that always run (`finally`), for the whole
#   flow or for a group of tasks;
# - to fail on purpose when data is not what you expect (`Fail` with a `condition`);
# - to repair a failed execution: **restart** it (same execution, only what failed runs again) or
#   **replay** it from a task (a new execution).
#
# Pipelines fail: a server is down, a file is late, a value is wrong. An orchestrator cannot prevent that,
# but it can make a failure cheap: retry what is worth retrying, tell you clearly what broke, and let you run
# again only the part that broke.

# %%
# %load_ext nb_orchestra
import nb_orchestra as nbo

# %% [markdown]
# ## States, in one paragraph
#
# Every task run ends in a **state**. `SUCCESS` and `FAILED` you can guess. `WARNING` means "finished, but
# look at me". While a task waits between two tries it is `RETRYING`. A flowable task (a loop, a branch, a
# group) takes the worst state of its children: `FAILED` beats `WARNING`, which beats `SUCCESS`; the
# execution takes the worst state of its top-level tasks.
#
# A failed task stops its flow: the tasks after it do not run. Everything in this notebook is about
# changing what happens then.
#
# A `%%flow` cell whose execution ends `FAILED` fails the cell, so *Run All* stops there, as it should. The
# cells below that fail **on purpose** use `--allow-failure`, which keeps the cell green (the tree still
# shows the failure).

# %% [markdown]
# ## Retries
#
# `retry` on a task says how often to try again, and how long to wait in between:
#
# - `type: constant` waits the same `interval` every time;
# - `type: exponential` starts with `interval` and waits longer each time, up to `maxInterval`;
# - `maxAttempts` counts **all** attempts, the first one included; `maxDuration` caps the total time.
#
# To build a task that fails twice and then works, we use a `Fail` task (it fails when its `condition` is
# true) with `{{ taskrun.attemptsCount }}`: the number of attempts made *before* this one (0 on the first
# try). So `attemptsCount < 2` fails on the first and second try and passes on the third.

# %%
# %%flow
id: flaky_api
namespace: tutorial

tasks:
  - id: call_api
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 2 }}"
    errorMessage: "the API answered 503 (attempt {{ taskrun.attemptsCount + 1 }})"
    retry:
      type: constant
      interval: PT0.2S
      maxAttempts: 5

  - id: use_answer
    type: io.kestra.plugin.core.log.Log
    message: the API answered at last

# %% [markdown]
# The tree shows three attempts on `call_api`. Each attempt is recorded on the same task run:

# %%
run = flaky_api.taskrun("call_api")
print(run.state, "after", len(run.attempts), "attempts:", [attempt.state for attempt in run.attempts])
print(flaky_api.state)

# %% [markdown]
# A task that needed retries succeeded, but something was wrong. `warningOnRetry: true` makes such a task
# end `WARNING`, so the run stands out in the list of executions. Here with an exponential wait (0.1 s, then
# longer, never more than 0.4 s):

# %%
# %%flow
id: flaky_api_warning
namespace: tutorial

tasks:
  - id: call_api
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 2 }}"
    errorMessage: "the API answered 503 (attempt {{ taskrun.attemptsCount + 1 }})"
    retry:
      type: exponential
      interval: PT0.1S
      maxInterval: PT0.4S
      maxAttempts: 5
      warningOnRetry: true

# %%
print(flaky_api_warning.state, "after", len(flaky_api_warning.taskrun("call_api").attempts), "attempts")

# %% [markdown]
# Retry what can heal by itself (a network error, a busy server), not what cannot: a syntax error in SQL
# fails the same way five times.

# %% [markdown]
# ## Timeouts
#
# `timeout` is the longest one **attempt** may take (an ISO-8601 duration). When it is exceeded the attempt
# is stopped and fails; with `retry`, a new attempt follows. Here a `Sleep` of 3 seconds gets half a second:

# %%
# %%flow --allow-failure
id: too_slow
namespace: tutorial

tasks:
  - id: slow_query
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
    timeout: PT0.5S

  - id: never_reached
    type: io.kestra.plugin.core.log.Log
    message: you will not see this

# %%
print(too_slow.state, f"after {too_slow.duration:.1f} s")
print(too_slow.taskrun("slow_query").message)
print([run.task_id for run in too_slow.taskruns])

# %% [markdown]
# ## Failures a flow can live with: `allowFailure` and `allowWarning`
#
# Some steps are nice to have. With `allowFailure: true`, a failed task ends `WARNING` instead of `FAILED`,
# and the flow goes on; the execution ends `WARNING`, so you still notice.
#
# `allowWarning: true` goes one step further for warnings: a task that ends `WARNING` counts as `SUCCESS`.
# A `Log` at level `WARN` is not a warning state, by the way: only the task run's state counts.

# %%
# %%flow
id: optional_step
namespace: tutorial

tasks:
  - id: send_slack_message
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: Slack is down
    allowFailure: true

  - id: flaky_but_fine
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 1 }}"
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 3
      warningOnRetry: true
    allowWarning: true

  - id: load
    type: io.kestra.plugin.core.log.Log
    message: the important part still ran

# %%
for run in optional_step.taskruns:
    print(f"{run.task_id:18} {run.state}")
print("execution:", optional_step.state)

# %% [markdown]
# ## `errors` and `finally`
#
# `errors` is a list of tasks that run only when the flow failed: send an alert, write a note, clean up.
# `finally` runs in every case, success or failure, after everything else: close a connection, delete a
# temporary file.
#
# `Fail` with a `condition` turns a data check into a failure: here an order count of zero stops the flow.

# %%
# %%flow --allow-failure -i orders=0
id: daily_orders
namespace: tutorial

inputs:
  - id: orders
    type: INT
    defaults: 120

tasks:
  - id: check_orders
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.orders == 0 }}"
    errorMessage: "no orders today: the extract is probably broken"

  - id: publish
    type: io.kestra.plugin.core.log.Log
    message: "published {{ inputs.orders }} orders"

errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: "ALERT: {{ flow.id }} failed in execution {{ execution.id }}"

finally:
  - id: clean_up
    type: io.kestra.plugin.core.log.Log
    message: temporary files removed

# %% [markdown]
# `publish` never ran; `alert` and `clean_up` did. With `-i orders=120` the check passes, `alert` is
# skipped and `clean_up` still runs:

# %%
# %flow run daily_orders -i orders=120 -o good_day

# %%
for name, execution in [("orders=0", daily_orders), ("orders=120", good_day)]:
    print(f"{name:11} {execution.state:8} {[run.task_id for run in execution.taskruns]}")

# %% [markdown]
# ### Error handlers for part of a flow
#
# Flowable tasks take `errors` and `finally` too. Group tasks in a `Sequential` to give them their own
# handler. When a handler inside a group ran, the group still ends `FAILED` (and so does the flow): the
# handler reacts to the failure, it does not undo it. To go on after the group, add `allowFailure: true`
# to it, as here: the backup copy is optional, the report is not. Inside a handler, `errorLogs()` lists the
# ERROR log lines of the execution so far: the handler can say what went wrong.

# %%
# %%flow
id: local_errors
namespace: tutorial

tasks:
  - id: backup
    type: io.kestra.plugin.core.flow.Sequential
    allowFailure: true
    tasks:
      - id: copy_to_backup
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: the backup disk is full
    errors:
      - id: backup_failed
        type: io.kestra.plugin.core.log.Log
        level: WARN
        message: "backup skipped: {{ errorLogs()[0].taskId }} said '{{ errorLogs()[0].message }}'"

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: report sent

# %%
for run in local_errors.taskruns:
    print(f"{run.task_id:16} {run.state}")
print(local_errors.logs_of("backup_failed")[0].message)

# %% [markdown]
# ## Restart and replay
#
# When a long flow fails near the end, you do not want to run it all again. Kestra offers two repairs, and so
# does this notebook:
#
# | | **Restart** | **Replay** |
# | --- | --- | --- |
# | which execution | the **same** one (same id) | a **new** one, which remembers the first id as `originalId` |
# | what runs again | only the task runs that failed (a new attempt each), then what never ran | the task you choose and everything after it |
# | what is kept | every task run that succeeded, with its outputs | copies of the task runs before the chosen one |
# | allowed on | a `FAILED` or `KILLED` execution | any finished execution |
#
# Our example: a flow loads three months of taxi files. The source publishes each month's file a few days
# late, and March is not there yet. We simulate the source with a Python set in this notebook, read by a
# notebook-only `io.nb_orchestra.python.Code` task (it runs Python in the kernel and sees the notebook's
# variables; on a Kestra server this step would be a real download). The task also notes each month it
# really extracted in the list `extracted`, so we can see below what ran again and what was kept.

# %%
published = {"01", "02"}
extracted = []

# %%
# %%flow --allow-failure
id: load_months
namespace: tutorial

tasks:
  - id: each_month
    type: io.kestra.plugin.core.flow.ForEach
    values: ["01", "02", "03"]
    tasks:
      - id: extract
        type: io.nb_orchestra.python.Code
        code: |
          month = taskrun["value"]
          if month not in published:
              raise RuntimeError(f"green_tripdata_2019-{month}.csv is not published yet")
          extracted.append(month)
          f"green_tripdata_2019-{month}.csv"
      - id: load
        type: io.kestra.plugin.core.log.Log
        message: "loaded {{ outputs.extract[taskrun.value].value }}"

  - id: summary
    type: io.kestra.plugin.core.log.Log
    message: "all months loaded"

# %% [markdown]
# The pink line above the tree is a **warning**, not an error: Jupyter puts on a pink background whatever a
# cell writes to its error stream, and the `%%flow` cell writes its validation warnings there. The flow was
# registered and ran. The warning says that `io.nb_orchestra.python.Code` is **notebook-only**: it exists in
# nb_orchestra, not on a Kestra server, so this flow runs here but a server would refuse it. Notebook 08
# meets the same warning when it exports the flows for a server.
#
# January and February loaded; March failed, so `summary` never ran. Two commands help to look at
# failures. The log lines at level `WARN` and above (`EXEC` defaults to the last execution):

# %%
# %flow logs --level WARN

# %% [markdown]
# and the failed executions of this session (`%flow executions` takes a flow id, `--state`, `--label`,
# `--since`):

# %%
# %flow executions --state FAILED

# %% [markdown]
# The next day March is published. We "fix" the source, then **restart** the execution: the same execution
# id, January and February are kept as they are, March's `extract` gets a second attempt, then `load` for
# March and `summary` run for the first time.

# %%
print("extracted so far:", extracted)
published.add("03")
failed_id = load_months.id

# %%
# %flow restart

# %% [markdown]
# `restart` took the last execution, which is `load_months`'s. The variable `load_months` still points at it,
# now `SUCCESS`, with the same id. Count the attempts:

# %%
print("same execution:", load_months.id == failed_id, "| state:", load_months.state)
for run in load_months.taskruns:
    if run.task_id == "extract":
        print(f"extract[{run.value}] {run.state:8} attempts: {[a.state for a in run.attempts]}")
print("extracted so far:", extracted)

# %% [markdown]
# Now suppose February's file was corrected at the source after we loaded it. We want to load February
# again, and everything after it, but not January. That is a **replay** from `extract`, for the loop value
# `02` (`--value` picks one run of a task that is inside a loop). It makes a new execution, bound to
# `replayed`. Without an id, `replay` (like `restart`) takes the last execution; in your own work give the id,
# or its first few characters, from `%flow executions`: `%flow replay 8829f2 --from extract --value 02`.

# %%
# %flow replay --from extract --value 02 -o replayed

# %%
print("new execution:", replayed.id != load_months.id,
      "| its originalId is the first id:", replayed.original_id == failed_id)
print("extracted so far:", extracted)

# %% [markdown]
# The replay extracted February and March again; January's task runs were copied from the first
# execution, with their outputs, and did not run. From Python the same replay is
# `nbo.replay(execution, "extract", value="02")`, and a restart is `execution.restart()`.
#
# When should you use which? **Restart** after a failure whose cause you fixed outside the flow (a file
# arrived, a server came back, a password was changed). **Replay** when you want to redo work that already
# succeeded, or to run again from an earlier point than the failure.

# %% [markdown]
# ## Exercise
#
# Write a flow `nightly_export` with:
#
# 1. a task `export` that fails on its first **two** attempts and is retried every 0.1 s, at most 4 attempts,
#    ending `WARNING` because it needed retries;
# 2. a `Fail` task `check_rows` that fails when the input `rows` (an `INT`, default 10) is below 1;
# 3. a flow-level `errors` task that logs `export failed` at level `ERROR`, and a `finally` task that logs
#    `done`.
#
# Run it with `-i rows=0` (use `--allow-failure`), check that `export` has three attempts and that both
# handlers ran, then restart it. Does the restart succeed? Why not? The solution is in the next cells,
# collapsed: click the `•••` of a collapsed cell to open it.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow --allow-failure -i rows=0
id: nightly_export
namespace: tutorial

inputs:
  - id: rows
    type: INT
    defaults: 10

tasks:
  - id: export
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 2 }}"
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 4
      warningOnRetry: true

  - id: check_rows
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.rows < 1 }}"
    errorMessage: "only {{ inputs.rows }} rows"

errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: export failed

finally:
  - id: always
    type: io.kestra.plugin.core.log.Log
    message: done

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
print(len(nightly_export.taskrun("export").attempts), "attempts;",
      [run.task_id for run in nightly_export.taskruns])

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# <details><summary>Does the restart succeed? (the answer)</summary>
#
# The restart fails again: a restart keeps the execution's inputs, and `rows` is still 0. Nothing outside
# the flow changed, so the same check fails. To run with another input, start a new execution
# (`%flow run nightly_export -i rows=10`).
#
# </details>

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %flow restart --allow-failure
