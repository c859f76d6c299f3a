"""The course's GCP flows against the real Google Cloud: 07_gcp_setup (bucket and dataset), then
08_gcp_taxi for the green taxis of 2019-01 (its extract step downloads the month from GitHub).

Skipped unless NBO_GCP_LIVE=1 and GCP_CREDS (a service account key's JSON text), GCP_PROJECT_ID,
GCP_BUCKET_NAME and GCP_DATASET are set (GCP_LOCATION is optional: europe-west2 by default). The
bucket and dataset are created when missing and kept afterwards, as the course keeps them.
"""

from __future__ import annotations

import os

import pytest

from nb_orchestra import set_secret
from nb_orchestra.store.kv import StoreKV

from .conftest import messages, run_fixture

REQUIRED = ("GCP_CREDS", "GCP_PROJECT_ID", "GCP_BUCKET_NAME", "GCP_DATASET")


@pytest.fixture
def live_gcp(monkeypatch):
    if os.environ.get("NBO_GCP_LIVE") != "1" or not all(os.environ.get(name) for name in REQUIRED):
        pytest.skip("live GCP test: set NBO_GCP_LIVE=1 and GCP_CREDS, GCP_PROJECT_ID, GCP_BUCKET_NAME, GCP_DATASET")
    for emulator in ("BIGQUERY_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(emulator, raising=False)
    for name in ("GCP_PROJECT_ID", "GCP_BUCKET_NAME", "GCP_DATASET"):
        StoreKV().set("zoomcamp", name, os.environ[name])
    StoreKV().set("zoomcamp", "GCP_LOCATION", os.environ.get("GCP_LOCATION", "europe-west2"))
    set_secret("GCP_CREDS", os.environ["GCP_CREDS"])
    yield os.environ["GCP_PROJECT_ID"], os.environ["GCP_DATASET"]
    set_secret("GCP_CREDS", None)


def test_the_course_flows_run_on_google_cloud(live_gcp):
    project, dataset = live_gcp
    setup = run_fixture("valid/course_gcp/07_gcp_setup.yaml")
    assert setup.state == "SUCCESS", messages(setup)
    assert setup.outputs["create_bq_dataset"]["dataset"] == dataset

    ex = run_fixture("valid/course_gcp/08_gcp_taxi.yaml", inputs={"taxi": "green", "year": "2019", "month": "01"})
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs["upload_to_gcs"]["uri"].endswith("/green_tripdata_2019-01.csv")

    count = run_fixture("valid/gcp_live/count_green.yaml", values={"table": f"{project}.{dataset}.green_tripdata"})
    assert count.state == "SUCCESS", messages(count)
    assert count.outputs["count"]["row"]["trips"] > 600_000  # the month has about 630,000 trips
