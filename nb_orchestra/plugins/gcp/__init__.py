"""io.kestra.plugin.gcp.*: Google Cloud Storage and BigQuery with Google's official clients.

The clients (google-cloud-storage, google-cloud-bigquery: extra ``gcp``) are imported when a task
runs. Credentials come from ``serviceAccount`` (a JSON key, as the course passes it through
``secret()`` or ``kv()``) or Application Default Credentials (credentials.py).
"""
