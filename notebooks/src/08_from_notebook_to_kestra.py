# %% [markdown]
# # 08 · From the notebook to a Kestra server
#
# **In this notebook you will learn**
#
# - to turn the flows of your notebooks into Kestra flow files with `nb-orchestra export`;
# - what a flow file looks like, where it goes, and that it is the YAML you wrote, unchanged;
# - what works differently on a real Kestra server: script containers, files, secrets, the KV store,
#   namespace files, connection settings, triggers, and the notebook-only tasks;
# - three ways to put the flows on a server: the UI editor, the API, and Git.
#
# Nothing here needs a Kestra server: we prepare the files and read them. Where this notebook is not sure how
# a detail behaves in your Kestra version, it says so.

# %%
# %load_ext nb_orchestra
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# %% [markdown]
# We work in a scratch folder, so the repository stays clean, with a copy of the course notebooks 01 to 07
# in `course/`:

# %%
notebooks = Path.cwd()
scratch = Path(tempfile.mkdtemp(prefix="kestra-export-"))
os.chdir(scratch)
Path("course").mkdir()
for notebook in sorted(notebooks.glob("0[1-7]_*.ipynb")):
    shutil.copy(notebook, "course")
print(sorted(path.name for path in Path("course").iterdir()))

# %% [markdown]
# ## `nb-orchestra export`
#
# The command line tool `nb-orchestra` comes with this package. `export` reads a notebook (or every notebook
# in a folder), takes the YAML of each `%%flow` cell, checks it, and writes it to
# `OUTDIR/<namespace>/<id>.yml`: one file per flow, one folder per namespace, the layout Kestra uses for flow
# files. In a terminal you would type
#
#     nb-orchestra export course flows
#
# In a notebook, `!nb-orchestra export course flows` works when the tool is on your `PATH`. To be sure to use
# the one of this notebook's Python, we run it as `python -m nb_orchestra` (the same program) through a small
# helper that shows what it prints, warnings included. First the help of `export`:

# %%
def nb_orchestra(*args):
    """Run `nb-orchestra ARGS` as a terminal would, show its output, and return its exit code."""
    done = subprocess.run([sys.executable, "-m", "nb_orchestra", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(done.stdout, end="")
    return done.returncode


nb_orchestra("export", "--help");

# %% [markdown]
# One notebook first, the one about schedules:

# %%
nb_orchestra("export", "course/07_schedules_and_backfills.ipynb", "flows");

# %% [markdown]
# Each line says which file was written from which cell. The file is the cell without its `%%flow` line,
# character for character: the triggers, the description, the expressions, all unchanged.

# %%
print(Path("flows/zoomcamp/taxi_scheduled.yml").read_text())

# %% [markdown]
# `%flow validate PATH` reads a `.yml` file back and checks it, as the server will when you save it:

# %%
# %flow validate flows/zoomcamp/taxi_scheduled.yml

# %% [markdown]
# Now the whole folder. The export also **warns** about what will not work on a server. Look for the line that
# starts with `warning:`: notebook 04 used `io.nb_orchestra.python.Code`, a task that runs Python inside the
# notebook's kernel. It does not exist in Kestra.

# %%
exit_code = nb_orchestra("export", "course", "flows")
print("exit code:", exit_code)

# %%
files = sorted(path.relative_to("flows").as_posix() for path in Path("flows").rglob("*.yml"))
print(len(files), "flow files, in the namespaces", sorted({file.split("/")[0] for file in files}))
print(files[:5], "...")

# %% [markdown]
# The exit code is 0 when every `%%flow` cell held a valid flow, and 1 otherwise (the invalid ones are listed
# with their line and column, and not written), so the export can run in a CI job.
#
# ## What changes on a Kestra server
#
# Kestra runs the same YAML, but the world around the flow is different. Go through this list before you
# deploy.
#
# ### Scripts run in containers
#
# On a Kestra server a script task (`io.kestra.plugin.scripts.python.Script`, `shell.Commands`, ...) runs in a
# **Docker container** by default: `containerImage` says which image (for example `python:3.13-slim`),
# `dependencies` lists pip packages to install first (in recent Kestra versions; older flows run
# `pip install` in `beforeCommands`), and `taskRunner` chooses how to run it. The course
# sometimes uses `taskRunner: {type: io.kestra.plugin.core.runner.Process}`, which runs the commands directly
# on the Kestra worker, without a container.
#
# **Here**, every script runs as a local process with this notebook's Python, whatever `taskRunner` and
# `containerImage` say: they are accepted, so the same YAML works in both places. The flow below asks for
# Docker; it still runs here, and would run in a `python:3.13-slim` container on a server (which needs
# Docker on the worker).

# %%
# %%flow
id: portable_script
namespace: tutorial

tasks:
  - id: make_report
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.13-slim
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    outputFiles:
      - report.txt
    script: |
      with open("report.txt", "w") as f:
          f.write("400 green trips in March 2019\n")

  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.make_report.outputFiles['report.txt']) }}"

# %% [markdown]
# A consequence: a script that imports a package installed in your notebook's environment (pandas, say) works
# here and fails in a bare container. List its packages in `dependencies`, or pick an image that has them.
#
# ### Files live in internal storage
#
# Files that tasks produce are kept in Kestra's **internal storage** and passed from task to task as
# `kestra://` URIs, as here:

# %%
uri = portable_script.outputs.make_report.outputFiles["report.txt"]
print(uri)

# %% [markdown]
# On a server the internal storage is a folder on the server's disk or an object store (S3, Google Cloud
# Storage, Azure Blob, MinIO...), chosen in Kestra's configuration; the flows do not change. Here it is a
# folder under nb_orchestra's home (`.nb_orchestra/storage` unless you configured another place).
#
# ### Secrets
#
# `{{ secret('PG_PASSWORD') }}` reads a secret by name, on both sides. The open-source Kestra server reads it
# from the environment variable `SECRET_PG_PASSWORD` **of the server**, holding the value encoded in base64
# (you set it in the server's `docker-compose.yml` or an `.env` file, not in the flow). The Enterprise
# edition can read secrets from a secret manager (HashiCorp Vault or a cloud provider's) instead. Here,
# `SECRET_...` variables of the notebook's process work the same way, and `nb_orchestra.set_secret(name,
# value)` is a shortcut (notebook 05). Secrets never go into the flow file.
#
# Likewise `{{ envs.taxi_data_url }}` reads the server's environment variable `ENV_TAXI_DATA_URL`. Our flows
# point it at a local test server; on the real server set it to
# `https://github.com/DataTalksClub/nyc-tlc-data/releases/download/`.
#
# ### The KV store
#
# `kv('KEY')` and the `io.kestra.plugin.core.kv.*` tasks read and write key-value pairs of a namespace. On a
# server they are stored by Kestra, and you can see and edit them in the UI (the namespace's *KV Store* tab).
# Here they live in nb_orchestra's store, in your home folder. The export copies **flows only**: a value you
# set here is not on the server. Set it there again, as the course does with a flow of `kv.Set` tasks
# (`06_gcp_kv`).
#
# ### Namespace files
#
# A namespace can hold files (Python modules, SQL scripts, a dbt project) next to its flows. A script task
# with `namespaceFiles: {enabled: true}` gets them in its working folder. On a server you edit them in the
# flow editor's file tree or sync them from Git (the course's dbt flow uses `io.kestra.plugin.git.SyncNamespaceFiles`).
# Here they are the files in `.nb_orchestra/namespaces/<namespace>/`; copy them to the server yourself.
#
# ### Connections in `pluginDefaults`
#
# Database connections belong in `pluginDefaults`, once per flow, rather than in every task. Notebook 06 did
# this, and the values come from the environment and secrets, so the same file works on your laptop and on the
# server:

# %%
text = Path("flows/zoomcamp/04_postgres_taxi.yml").read_text()
print(text[text.index("pluginDefaults:"):])

# %% [markdown]
# Kestra can also apply plugin defaults to every flow from its server configuration, so flows need not repeat
# them; how that is set up depends on your Kestra version and edition (not covered here: check Kestra's
# documentation on plugin defaults).
#
# ### Triggers run in the Kestra scheduler
#
# Here a `Schedule` fires only while the notebook's kernel runs (notebook 07). On a server, Kestra's scheduler
# runs all the time: once the flow is saved, its triggers fire with nobody watching, missed ticks are handled
# as `recoverMissedSchedules` says, and you start backfills from the flow's *Triggers* tab. Flows with a
# seconds-cron like `heartbeat` would run every second there too: think before you deploy demo flows.
#
# ### Notebook-only tasks
#
# `io.nb_orchestra.python.Code` and `io.nb_orchestra.python.Call` run Python in the kernel and return Python
# objects; that is what makes them handy here, and why no server can run them. The export warned about
# `load_months`. Before deploying, rewrite such a step as an `io.kestra.plugin.scripts.python.Script` that
# reads its inputs from files or expressions and sends values back with `Kestra.outputs(...)` (notebook 05).
#
# ## Deploying the files
#
# Three common ways, from quick to robust:
#
# 1. **The UI editor.** In Kestra's UI, *Flows* → *Create*, paste the YAML, *Save*. Good for one flow.
# 2. **The API.** Kestra has a REST API to create and update flows from YAML; with `curl`, something like
#
#        curl -X POST http://localhost:8080/api/v1/main/flows \
#             -H "Content-Type: application/x-yaml" --data-binary @flows/zoomcamp/taxi_scheduled.yml
#
#    The path includes a tenant (`main` in open-source Kestra 1.x; older versions have no tenant part), and a
#    server with authentication needs credentials: check the API reference of your version for the exact
#    route and for the one that updates a whole namespace at once.
# 3. **Git.** Commit the `flows/` folder to a repository and let Kestra pull it: a flow in Kestra with
#    the `io.kestra.plugin.git.SyncFlows` task (on a schedule, for example) keeps the server's flows equal
#    to the repository's, and `SyncNamespaceFiles` does the same for namespace files. The flow files stay
#    reviewed and versioned like code, which is what this export prepares.
#
# Whichever way you choose, open the flow in the UI afterwards and run it once by hand (or backfill one tick):
# the server validates the flow when you save it, but only a run checks the secrets, the variables and the
# network.

# %% [markdown]
# ## Exercise
#
# Make a notebook of your own with at least one `%%flow` cell (for example the `weather_report` flow of
# notebook 01, or a flow from your own project), export it to a folder `my_flows`, and print the file it
# wrote. Then add a cell with an `io.nb_orchestra.python.Code` task and export again: what does the export say?
#
# Hint: you can write a notebook from Python with `nbformat` (`nbformat.v4.new_notebook()`,
# `nbformat.v4.new_code_cell(text)`, `nbformat.write(nb, path)`), or save one from JupyterLab. The solution
# is in the next cells.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
import nbformat

report_flow = """%%flow
id: weather_report
namespace: my_team

tasks:
  - id: forecast
    type: io.kestra.plugin.core.debug.Return
    format: sunny
"""
notebook_only_flow = """%%flow
id: python_inside
namespace: my_team

tasks:
  - id: compute
    type: io.nb_orchestra.python.Code
    code: 6 * 7
"""
mine = nbformat.v4.new_notebook()
mine.cells = [nbformat.v4.new_markdown_cell("# My flows"), nbformat.v4.new_code_cell(report_flow)]
nbformat.write(mine, "my_notebook.ipynb")
nb_orchestra("export", "my_notebook.ipynb", "my_flows")
print(Path("my_flows/my_team/weather_report.yml").read_text())

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
mine.cells.append(nbformat.v4.new_code_cell(notebook_only_flow))
nbformat.write(mine, "my_notebook.ipynb")
nb_orchestra("export", "my_notebook.ipynb", "my_flows");

# %% [markdown]
# ## Cleaning up
#
# Back to the notebooks folder, and the scratch folder goes away:

# %%
os.chdir(notebooks)
shutil.rmtree(scratch)
print("scratch folder removed:", not scratch.exists())
