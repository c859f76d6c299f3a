"""io.kestra.plugin.core.flow.Template: refused at validation, with the reason.

Kestra deprecated templates (a Subflow does the same) and runs them only on a server configured
with ``kestra.templates.enabled: true`` (false by default); there is no template store here, so a
flow using one is refused with a located message rather than failing when it runs.
"""

from __future__ import annotations

REFUSED_TYPES = {
    "io.kestra.plugin.core.flow.Template": (
        "Templates are deprecated and disabled (Kestra runs them only with kestra.templates.enabled); "
        "use an io.kestra.plugin.core.flow.Subflow instead"),
}
