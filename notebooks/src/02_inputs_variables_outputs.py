# %% [markdown]
# # 02 · Inputs, variables and outputs
#
# **In this notebook you will learn**
#
# - every input type a flow can declare, what Python value each one becomes, and how constraints
#   (`min`, `max`, `values`, `validator`) reject bad values before anything runs;
# - how a notebook asks for inputs: the input form, `-i KEY=VALUE`, and defaults;
# - how `variables` are stored as written and evaluated with `render()`, even when they use each other;
# - how tasks hand data to each other with **outputs**, and how a flow publishes its own outputs.

# %%
# %load_ext nb_orchestra
import nb_orchestra as nbo

# %% [markdown]
# ## Inputs: parameters of an execution
#
# An input is declared once in the flow with an `id` and a `type`, and given a value each time an
# execution starts. Kestra checks the value against the type and turns it into a typed value: an `INT`
# input is a number in `{{ inputs.age + 1 }}`, not the text `"36"`.
#
# | type | you give | tasks see |
# | --- | --- | --- |
# | `STRING` | any text (optionally checked by a `validator` regex) | text |
# | `INT`, `FLOAT` | a number, optionally between `min` and `max` | a number |
# | `BOOLEAN` | `true` or `false` | a boolean |
# | `SELECT` | one of `values` | text |
# | `MULTISELECT` | some of `values` | a list |
# | `ENUM` | one of `values` (the older name of `SELECT`) | text |
# | `DATETIME`, `DATE`, `TIME` | ISO 8601, like `2024-05-01T09:30:00Z` | a date/time (a `DATETIME` needs a time zone) |
# | `DURATION` | ISO 8601, like `PT1H30M` | a duration |
# | `JSON`, `YAML` | a document | a map or a list |
# | `ARRAY` | a JSON list, each item checked as `itemType` | a list |
# | `URI`, `EMAIL` | a URI, an e-mail address | text |
# | `SECRET` | a password or key: the form hides what you type, a server stores it encrypted | text |
# | `FILE` | a file to upload | a reference to the stored file |
#
# Each input may also have a `displayName` and a `description` (shown in the form), `defaults`, and
# `required: false` for optional inputs (they are required unless you say otherwise).
#
# The flow below declares one input of each type, all with defaults except the optional file, and logs
# what the tasks receive.

# %%
# %%flow
id: inputs_tour
namespace: tutorial

inputs:
  - id: user
    type: STRING
    displayName: Your name
    description: Used in the greeting.
    defaults: Ada
  - id: age
    type: INT
    min: 0
    max: 150
    defaults: 36
  - id: ratio
    type: FLOAT
    defaults: 0.75
  - id: verbose
    type: BOOLEAN
    defaults: true
  - id: colour
    type: SELECT
    values: [red, green, blue]
    defaults: green
  - id: toppings
    type: MULTISELECT
    values: [cheese, ham, olives, basil]
    defaults: [cheese, basil]
  - id: size
    type: ENUM
    values: [S, M, L]
    defaults: M
  - id: meeting
    type: DATETIME
    defaults: "2024-05-01T09:30:00Z"
  - id: day
    type: DATE
    defaults: "2024-05-01"
  - id: alarm
    type: TIME
    defaults: "07:15:00"
  - id: timeout
    type: DURATION
    defaults: PT1H30M
  - id: settings
    type: JSON
    defaults: '{"retries": 3, "tags": ["etl", "daily"]}'
  - id: config
    type: YAML
    defaults: |
      retries: 3
      tags: [etl, daily]
  - id: numbers
    type: ARRAY
    itemType: INT
    defaults: [1, 2, 3]
  - id: homepage
    type: URI
    defaults: https://kestra.io
  - id: contact
    type: EMAIL
    defaults: ada@example.com
  - id: api_key
    type: SECRET
    defaults: s3cr3t-value
  - id: data_file
    type: FILE
    required: false

tasks:
  - id: show_inputs
    type: io.kestra.plugin.core.log.Log
    message:
      - "user={{ inputs.user }}, next year {{ inputs.age + 1 }}, ratio x2={{ inputs.ratio * 2 }}, verbose={{ inputs.verbose }}"
      - "colour={{ inputs.colour }}, toppings={{ inputs.toppings }} ({{ inputs.toppings | length }}), size={{ inputs.size }}"
      - "meeting={{ inputs.meeting | date('yyyy-MM-dd HH:mm') }}, day={{ inputs.day }}, alarm={{ inputs.alarm }}, timeout={{ inputs.timeout }}"
      - "settings.retries={{ inputs.settings.retries }}, config.tags={{ inputs.config.tags }}, numbers={{ inputs.numbers }}"
      - "homepage={{ inputs.homepage }}, contact={{ inputs.contact }}, api_key has {{ inputs.api_key | length }} characters"
      - "data_file={{ inputs.data_file ?? 'none given' }}"

# %% [markdown]
# Open the `show_inputs` row of the tree to read its log lines, or print them. Lists and maps print as
# JSON, as Kestra prints them, and the task logs the secret's length rather than the secret: never log a
# secret value.

# %%
for log in inputs_tour.logs:
    print(log.message)

# %% [markdown]
# In Python the inputs keep their types. The loop prints every value but the secret's: a secret stays out of
# logs **and** out of printed outputs, which a saved notebook keeps for anyone who opens it.

# %%
secrets = {declared["id"] for declared in inputs_tour.flow.inputs if declared["type"] == "SECRET"}
for name, value in inputs_tour.inputs.items():
    shown = "****** (a secret: not printed)" if name in secrets else repr(value)
    print(f"{name:10} {type(value).__name__:9} {shown}")

# %% [markdown]
# ## Giving values: the form, `-i`, and defaults
#
# When a required input has neither a default nor a value, a `%%flow` cell in JupyterLab, Notebook 7 or
# VS Code shows a **form** instead of running: one field per input, the right widget for each type (a
# dropdown for `SELECT`, a date picker for `DATE`, a password box for `SECRET`, an upload button for
# `FILE`...), with the `displayName` as label and the `description` as help. It looks like this:
#
# ![The input form of a %%flow cell](../docs/images/form.png)
#
# Try it: run the next cell, fill in the form and click **Execute**. Each click starts an execution, shown
# under the form with its own tree, and binds it to the variable `order_pizza`. A value that breaks a rule
# (try a name of one letter) is shown in red next to its field, and nothing runs. The voucher code is a
# `SECRET`: the form shows dots, and the task logs only its length.
#
# **About the output saved under the cell.** This notebook is also built and tested without a browser
# (by `nbclient`), where nobody can fill in a form. There the cell would stop with "flow
# tutorial.order_pizza needs a value for: customer, size, voucher_code. Nobody can fill in a form here: pass
# -i customer=VALUE ...". So the build runs this one cell as if its first line were `%%flow -i customer=Grace
# -i size=L -i voucher_code=...` (the values are in the cell's metadata, `nb_orchestra.headless_inputs`), and
# the tree you see before running the cell is that execution. We chose this over a `-i` in the cell, which
# would never show you the form, and over a form you could only see as a picture. When you run the cell,
# you get the form.

# %% nb_orchestra={"headless_inputs": {"customer": "Grace", "size": "L", "voucher_code": "PIZZA-2024"}}
# %%flow
id: order_pizza
namespace: tutorial

inputs:
  - id: customer
    type: STRING
    displayName: Your name
    description: Two letters or more.
    validator: "^\\w{2,}.*$"
  - id: size
    type: SELECT
    displayName: Size
    values: [S, M, L]
  - id: toppings
    type: MULTISELECT
    displayName: Toppings
    values: [cheese, ham, olives, basil]
    defaults: [cheese]
  - id: voucher_code
    type: SECRET
    displayName: Voucher code
    description: Kept secret, like a password.

tasks:
  - id: confirm
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.customer }} ordered a {{ inputs.size }} pizza with {{ inputs.toppings | join(', ') }}, voucher code of {{ inputs.voucher_code | length }} characters"

# %% [markdown]
# After a click on **Execute**, `order_pizza` holds the execution, as after any `%%flow` cell:
# `order_pizza.logs[0].message` is the line the task logged, with the voucher code's length, never the code.
# (No cell below uses `order_pizza`, so *Run All* goes on while the form waits for you.)
#
# Without a browser nobody can fill in a form, so the other flows of these notebooks give their inputs
# defaults. To give other values, pass them with `-i KEY=VALUE` (repeat it for several inputs). Lists and
# maps are written as JSON:

# %%
# %flow run inputs_tour -i user=Grace -i age=85 -i colour=blue -i 'toppings=["ham", "olives"]' -i numbers=[10,20] -o tour2

# %%
print(tour2.inputs["user"], tour2.inputs["age"], tour2.inputs["toppings"], sum(tour2.inputs["numbers"]))

# %% [markdown]
# A value that breaks a rule is refused **before** an execution exists, with every problem listed. From
# Python, `nbo.run` raises `InputError`:

# %%
try:
    nbo.run(inputs_tour.flow, inputs={"age": 200, "colour": "purple", "numbers": [1, "two"]})
except nbo.InputError as error:
    for problem in error.problems:
        print("-", problem)

# %% [markdown]
# ## Variables: write once, use everywhere
#
# `variables` name values that several tasks use. A variable is kept **as written**: `{{ vars.greeting }}`
# gives the text with its `{{ ... }}` still inside. `{{ render(vars.greeting) }}` evaluates it, and keeps
# evaluating until no expression is left, so variables may use inputs and other variables.
#
# The course's ETL flow uses exactly this: a file name built from inputs, and a table name built from it.

# %%
# %%flow
id: variables_demo
namespace: tutorial

inputs:
  - id: taxi
    type: SELECT
    values: [yellow, green]
    defaults: green
  - id: month
    type: STRING
    defaults: "2019-01"

variables:
  file: "{{ inputs.taxi }}_tripdata_{{ inputs.month }}.csv"
  table: "public.{{ inputs.taxi }}_tripdata"
  summary: "loading {{ vars.file }} into {{ vars.table }}"

tasks:
  - id: raw
    type: io.kestra.plugin.core.log.Log
    message: "as written: {{ vars.summary }}"

  - id: rendered
    type: io.kestra.plugin.core.log.Log
    message: "rendered: {{ render(vars.summary) }}"

# %%
for log in variables_demo.logs:
    print(log.message)

# %% [markdown]
# ## Outputs: how tasks pass data along
#
# Most tasks produce **outputs**; a later task reads them as `{{ outputs.<task_id>.<name> }}`.
#
# - `Return` outputs one text, `value`.
# - `OutputValues` outputs a map, `values`. As in Kestra, an expression gives **text** (`"50.0"`, and a list
#   as its JSON text `"[1,2,3,4]"`): `| number` and `fromJson(...)` turn it back into a number or a list.
# - A flow can publish **flow outputs** (the `outputs:` section at the flow level): the values a caller,
#   such as a parent flow, receives. Each has an `id`, a `type` and a `value`.
#
# The `%%flow` cell binds the execution, so the same outputs are Python objects in the notebook.

# %%
# %%flow -i price=12.5 -i quantity=4
id: outputs_demo
namespace: tutorial

inputs:
  - id: price
    type: FLOAT
  - id: quantity
    type: INT

tasks:
  - id: label
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.quantity }} x {{ inputs.price }}"

  - id: compute
    type: io.kestra.plugin.core.output.OutputValues
    values:
      total: "{{ inputs.price * inputs.quantity }}"
      items: "{{ range(1, inputs.quantity) }}"

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.label.value }} = {{ outputs.compute.values.total }}"

outputs:
  - id: total
    type: FLOAT
    value: "{{ outputs.compute.values.total }}"

# %%
print(outputs_demo.outputs.label.value)
print(outputs_demo.outputs.compute["values"])  # brackets: .values is a method of every Python dict
print(outputs_demo.flow_outputs)

# %% [markdown]
# `%flow eval` evaluates any expression against a finished execution, like Kestra's debug panel; it is the
# quickest way to try an expression before putting it in a flow:

# %%
# %flow eval "{{ fromJson(outputs.compute['values'].items) | join(', ') }} ({{ inputs.price * 2 }})"

# %% [markdown]
# ## Exercise
#
# Write a flow `unit_converter` in the namespace `tutorial` with:
#
# 1. an input `distance` (`FLOAT`, at least 0, default `10`) and an input `unit` (`SELECT` of `km` and
#    `miles`, default `km`);
# 2. a variable `label` with the text `<distance> <unit>`;
# 3. an `OutputValues` task `convert` with the value `kilometres`: the distance itself for `km`, the
#    distance times 1.609 for `miles` (hint: the ternary `cond ? a : b` works in expressions);
# 4. a flow output `kilometres` of type `FLOAT`.
#
# Run it with `-i distance=26.2 -i unit=miles` and print the flow output from Python.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# %%flow -i distance=26.2 -i unit=miles
id: unit_converter
namespace: tutorial

inputs:
  - id: distance
    type: FLOAT
    min: 0
    defaults: 10
  - id: unit
    type: SELECT
    values: [km, miles]
    defaults: km

variables:
  label: "{{ inputs.distance }} {{ inputs.unit }}"

tasks:
  - id: convert
    type: io.kestra.plugin.core.output.OutputValues
    values:
      kilometres: "{{ inputs.unit == 'miles' ? inputs.distance * 1.609 : inputs.distance }}"

  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.label) }} = {{ outputs.convert['values'].kilometres }} km"

outputs:
  - id: kilometres
    type: FLOAT
    value: "{{ outputs.convert['values'].kilometres }}"

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
print(unit_converter.flow_outputs["kilometres"])
