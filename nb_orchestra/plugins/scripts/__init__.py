"""Script tasks (io.kestra.plugin.scripts.python / .shell) run as local processes.

``runner`` holds the shared run, ``protocol`` the ``::{...}::`` lines,
``files`` the input/output files, ``venvs`` Python dependencies. ``_shim``
(no ``__init__.py``, so the plugin registry skips it) is a stand-in
``kestra`` package for ``from kestra import Kestra`` inside scripts.
"""
