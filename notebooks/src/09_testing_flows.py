# %% [markdown]
# # 09 · Testing flows: fixtures, assertions, a failing test and its fix
#
# **In this notebook you will learn**
#
# - to write a **flow unit test** in Kestra's test format: `testCases`, each with `fixtures` and
#   `assertions`;
# - to replace a task with a **fixture** (its outputs and its state, without running it), so a test of the
#   course's taxi flow runs offline and in a second;
# - to read a failing assertion (expected, actual, the line of the test), fix the flow and see the test pass;
# - to run the same test files from the command line (`nb-orchestra test`), in CI (JUnit XML) and with
#   `pytest`; and, for teachers, to ship test files that check a homework flow.
#
# Kestra offers flow unit tests in its Enterprise edition, on its server. The test files you write here are
# Kestra's own format: the same file runs there unchanged.

# %%
# %load_ext nb_orchestra
import nb_orchestra as nbo

# %% [markdown]
# ## The flow under test
#
# A small version of the course's taxi flow: download one month of trips, count them and compute the
# average fare in a Python script, then log a line. The download address comes from `envs.taxi_data_url`
# (see notebook 05); a test will not need it, because the download is what we replace.
#
# This version has a bug on purpose. Can you see it before the test does?

# %%
# %%flow --no-run
id: taxi_stats
namespace: zoomcamp

inputs:
  - id: taxi
    type: SELECT
    values: [yellow, green]
    defaults: yellow
  - id: month
    type: STRING
    defaults: "2019-01"

variables:
  file: "{{ inputs.taxi }}_tripdata_{{ inputs.month }}.csv"

tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{{ envs.taxi_data_url }}{{ inputs.taxi }}/{{ render(vars.file) }}.gz"

  - id: stats
    type: io.kestra.plugin.scripts.python.Script
    inputFiles:
      data.csv: "{{ outputs.extract.uri }}"
    script: |
      import csv
      import gzip
      from kestra import Kestra

      raw = open("data.csv", "rb").read()
      text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
      lines = text.strip().splitlines()
      fares = [float(row["fare_amount"]) for row in csv.DictReader(lines)]
      Kestra.outputs({"trips": len(lines), "average_fare": round(sum(fares) / len(fares), 2)})

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.file) }}: {{ outputs.stats.vars.trips }} trips"

# %% [markdown]
# ## A test with a fixture
#
# A test file names its flow (`namespace`, `flowId`) and holds `testCases`. Each case runs the flow once,
# in a fresh execution of its own that nothing records (it has its own storage and KV store), and then
# checks its `assertions`:
#
# - `fixtures.files` are small files written in the test: `{{ files['trips.csv'] }}` is the address of one;
# - `fixtures.tasks` replace tasks: the task `extract` is not run, it ends `SUCCESS` with the outputs given
#   (Download's output `uri` points at our three trips). The script and the log run for real;
# - each assertion renders `value` against the finished execution and compares it with an operator:
#   `equalTo`, `greaterThan`, `contains`, `isNotNull`... (Kestra's list).
#
# Three trips with fares 10, 12.5 and 15: we expect 3 trips and an average of 12.5. The `%%flowtest` cell
# runs the test against the flow registered above and shows a report. A failing test fails its cell, as a
# failing `pytest` test does; `--allow-failure` lets this notebook go on.

# %%
# %%flowtest --allow-failure
id: taxi_stats_tests
namespace: zoomcamp
flowId: taxi_stats

testCases:
  - id: counts_trips_and_average_fare
    type: io.kestra.core.tests.flow.UnitTest
    description: three trips, no network
    fixtures:
      files:
        trips.csv: |
          VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount
          1,2019-01-01 00:46:40,2019-01-01 00:53:20,1,1.5,1,N,151,239,1,10
          1,2019-01-01 00:59:47,2019-01-01 01:18:59,1,2.6,1,N,239,246,1,12.5
          2,2019-01-01 01:05:00,2019-01-01 01:20:00,2,3.1,1,N,236,236,1,15
      tasks:
        - id: extract
          description: no download in a test
          outputs:
            uri: "{{ files['trips.csv'] }}"
    assertions:
      - value: "{{ outputs.stats.vars.trips }}"
        equalTo: 3
      - value: "{{ outputs.stats.vars.average_fare }}"
        equalTo: 12.5
      - value: "{{ execution.state }}"
        equalTo: SUCCESS

# %% [markdown]
# The report says which assertion failed, on which line of the test, what it expected and what the
# execution had: `trips` is 4, not 3. The script counts every line of the file, and the first line is the
# header. The result of the cell is bound to a variable named after the test's id:

# %%
case = taxi_stats_tests.case("counts_trips_and_average_fare")
print(case.state, "|", [(r.operator, r.expected, r.actual) for r in case.failures])

# %% [markdown]
# ## Fix the flow, run the test again
#
# Count the trips, not the lines: `len(fares)` instead of `len(lines)`. In your own notebook you would edit
# the `%%flow` cell above and run it again; here the next cell changes that one line and registers the
# flow again from Python, so that the failing report above stays as it was for you to read. Then we run
# the same test. Tests are made for this loop: change the flow, run the tests, see them pass, without
# downloading anything.

# %%
buggy = nbo.load_flow("taxi_stats")  # the registered flow, by its id
fixed = nbo.register_flow(buggy.source.replace('"trips": len(lines)', '"trips": len(fares)'))
print(f"revision {fixed.revision}:", next(line.strip() for line in fixed.source.splitlines() if "Kestra.outputs" in line))

# %% [markdown]
# The test from Python this time: `nbo.test` takes a test's YAML, a test file or a folder of them (or, as
# here, the test the earlier results ran) and returns the results. `flow=` names the flow under test; by
# default it is the registered one, now the fixed revision.

# %%
results = nbo.test(taxi_stats_tests.suites[0].suite)
print(results)
print("ok:", results.ok)

# %% [markdown]
# ## A failing task, on purpose
#
# A fixture can also end a task `FAILED`, to test what the flow does then: here the download fails, the
# script never runs, and the execution fails. Such a test documents how the flow behaves when the network
# is down.

# %%
# %%flowtest -o failure_tests
id: taxi_stats_failure
namespace: zoomcamp
flowId: taxi_stats

testCases:
  - id: a_failed_download_fails_the_execution
    type: io.kestra.core.tests.flow.UnitTest
    fixtures:
      inputs:
        taxi: green
      tasks:
        - id: extract
          state: FAILED
    assertions:
      - value: "{{ execution.state }}"
        equalTo: FAILED
      - value: "{{ tasks.stats.state ?? 'never ran' }}"
        equalTo: never ran

# %% [markdown]
# ## On the command line, in CI, with pytest
#
# Keep test files next to the flows, named `*.test.yml` (or in a `tests/` folder beside them):
#
#     flows/taxi_stats.yml
#     flows/tests/taxi_stats.test.yml
#
# Then:
#
#     nb-orchestra test flows/                       # ✓/✗ per case, exit code 1 when one fails
#     nb-orchestra test flows/ --junit report.xml    # JUnit XML for CI (GitHub Actions, GitLab...)
#     pytest flows/                                  # every *.test.yml case is a pytest test
#
# **For teachers.** Ship a test file with the homework: students keep their flow in `flows/` and run
# `nb-orchestra test flows/`; the same command grades every submission, and the report points at the
# assertion that failed. Fixtures make the check fast and offline, whatever the student's flow downloads.
#
# See docs/testing.md for the whole format and the choices made where Kestra's documentation is silent.

# %% [markdown]
# ## Exercise
#
# Add a second test case `green_taxis` to `taxi_stats_tests`: input `taxi` set to `green` (fixture
# `inputs`), two trips with fares 5 and 7, and assertions that `trips` is 2 and that the average fare is
# less than 10. Run it with `nbo.test(...)`. The solution is in the next cell, collapsed.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
GREEN_TEST = """
id: taxi_stats_green
namespace: zoomcamp
flowId: taxi_stats
testCases:
  - id: green_taxis
    type: io.kestra.core.tests.flow.UnitTest
    fixtures:
      inputs:
        taxi: green
      files:
        trips.csv: |
          VendorID,lpep_pickup_datetime,lpep_dropoff_datetime,store_and_fwd_flag,RatecodeID,PULocationID,DOLocationID,passenger_count,trip_distance,fare_amount
          2,2019-02-01 00:10:00,2019-02-01 00:20:00,N,1,74,75,1,1.0,5
          2,2019-02-01 00:30:00,2019-02-01 00:45:00,N,1,75,74,1,1.4,7
      tasks:
        - id: extract
          outputs:
            uri: "{{ files['trips.csv'] }}"
    assertions:
      - value: "{{ outputs.stats.vars.trips }}"
        equalTo: 2
      - value: "{{ outputs.stats.vars.average_fare }}"
        lessThan: 10
"""
print(nbo.test(GREEN_TEST))
