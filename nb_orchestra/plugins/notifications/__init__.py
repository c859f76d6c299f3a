"""io.kestra.plugin.notifications.*: Slack, Discord, Microsoft Teams and Google Chat incoming
webhooks, mail over SMTP, SendGrid, and the ``*Execution`` tasks that summarise an execution.

Webhooks and SendGrid speak HTTP with httpx, as ``core.http`` does (its error messages are shared);
mail goes through the standard library's ``smtplib``. A webhook URL is a secret in all but name:
no log line or error message shows more of it than its scheme and host.

Two settings come from the environment: ``KESTRA_URL`` (Kestra's own ``kestra.url``) gives the
execution summaries their link to a Kestra UI, and ``NB_ORCHESTRA_SENDGRID_URL`` replaces
SendGrid's API base URL (``https://api.sendgrid.com/v3``), e.g. with a local test server.
"""
