"""io.kestra.plugin.git.*: Clone; SyncNamespaceFiles and SyncFlows (a repository -> the namespace
files and the flow registry); PushFlows, PushNamespaceFiles and Push (here -> a repository).

They run the ``git`` program rather than a Python library such as dulwich. git is what a student
already uses and has configured (proxies, CA certificates); it speaks every transport Kestra's JGit
does (HTTPS with a token, SSH with a key, ``file://``, shallow clones, submodules) with one behaviour,
and costs no dependency. dulwich is pure Python and would work without git, but its SSH needs
paramiko or the ssh program anyway, its shallow clones and submodules are partial, and its error
messages are less familiar. Where git is missing (Windows without Git for Windows) the tasks fail
with a message saying how to install it; ``NB_ORCHESTRA_GIT`` names a git that is not on PATH.

``command`` runs git for one task run (credentials, masking), ``repository`` holds what the tasks
share (properties, cloning, commits, diffs), ``clone``, ``sync`` and ``push`` the tasks.
Flows are read from and written to the registry through the plugin contract (``ctx.flows``,
``ctx.save_flow``, ``ctx.delete_flow``); namespace files live under ``<home>/namespaces/``.
"""
