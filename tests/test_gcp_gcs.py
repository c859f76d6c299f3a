"""io.kestra.plugin.gcp.gcs.*: every task against the gcp-storage-emulator server, started once for the
module on 127.0.0.1 (nb_orchestra.teaching.gcs_emulator) and named by STORAGE_EMULATOR_HOST."""

from __future__ import annotations

import json
import sys

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from nb_orchestra import internal_storage

from .conftest import messages, run_fixture, run_flow


@pytest.fixture(scope="module")
def emulator():
    from nb_orchestra.teaching.gcs_emulator import GcsEmulator

    with GcsEmulator(buckets=["kestra-test", "listing", "moves", "course"]) as running:
        yield running


@pytest.fixture(autouse=True)
def emulator_host(emulator, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    return emulator.url


@pytest.fixture
def gcs(emulator_host):
    """Google's client on the emulator, to put objects in place and check what the tasks did."""
    return storage.Client(project="test", credentials=AnonymousCredentials())


def put(gcs, bucket: str, *names: str) -> None:
    for name in names:
        gcs.bucket(bucket).blob(name).upload_from_string(f"content of {name}")


def names(gcs, bucket: str, prefix: str | None = None) -> list[str]:
    return sorted(blob.name for blob in gcs.list_blobs(bucket, prefix=prefix))


def failure(ex, task_id: str) -> str:
    return ex.taskrun(task_id).message or ""


def leaks(ex, text: str) -> list[str]:
    """Where ``text`` shows in the logs, the task runs' messages or the outputs of ``ex``."""
    shown = [log.message for log in ex.logs] + [run.message or "" for run in ex.taskruns]
    shown.append(json.dumps(dict(ex.outputs), default=str))
    return [where for where in shown if text in where]


def test_the_emulator_stops_and_refuses_connections_afterwards():
    from nb_orchestra.teaching.gcs_emulator import GcsEmulator

    emulator = GcsEmulator(buckets=["b"])
    client = storage.Client(project="p", client_options={"api_endpoint": emulator.url},
                            credentials=AnonymousCredentials())
    assert client.lookup_bucket("b") is not None and emulator.url.startswith("http://127.0.0.1:")
    emulator.stop()
    with pytest.raises(requests.ConnectionError):  # no retries: the client would retry for two minutes
        client.lookup_bucket("b", retry=None, timeout=2)


# -- Upload, Download, List -----------------------------------------------------------------------------

def test_upload_download_round_trip_keeps_the_bytes(gcs):
    ex = run_fixture("valid/gcp_gcs/round_trip.yaml", inputs={"bucket": "kestra-test"})
    assert ex.state == "SUCCESS", messages(ex)
    written = internal_storage.to_path(ex.outputs.write.uri).read_bytes()
    assert ex.outputs.upload.uri == "gs://kestra-test/dir/data%20file.csv"
    assert len(ex.outputs.upload.md5) == 24 and len(ex.outputs.upload.crc32c) == 8
    assert gcs.bucket("kestra-test").get_blob("dir/data file.csv").download_as_bytes() == written
    assert ex.outputs.download.bucket == "kestra-test" and ex.outputs.download.path == "dir/data file.csv"
    assert ex.outputs.download.uri.startswith("kestra:///") and ex.outputs.download.uri.endswith(".csv")
    assert internal_storage.to_path(ex.outputs.download.uri).read_bytes() == written
    [blob] = ex.outputs.list.blobs
    assert blob["uri"] == "gs://kestra-test/dir/data+file.csv" and blob["name"] == "dir/data file.csv"
    assert blob["size"] == len(written) and blob["contentType"] == "text/csv"
    assert blob["cacheControl"] == "no-cache" and blob["directory"] is False
    assert blob["md5"] == ex.outputs.upload.md5 and blob["updateTime"].endswith("Z")


def test_download_of_a_missing_object_or_bucket_fails_in_one_line():
    ex = run_flow("""
        tasks:
          - id: object
            type: io.kestra.plugin.gcp.gcs.Download
            from: gs://kestra-test/no/such.csv
            allowFailure: true
          - id: bucket
            type: io.kestra.plugin.gcp.gcs.Download
            from: gs://no-bucket/x.csv
    """)
    assert failure(ex, "object") == "Unable to find blob on bucket 'kestra-test' with path 'no/such.csv'"
    assert failure(ex, "bucket") == "Unable to find blob on bucket 'no-bucket' with path 'x.csv'"


def test_upload_checksums_and_a_missing_bucket(gcs):
    ex = run_flow("""
        tasks:
          - id: write
            type: io.kestra.plugin.core.storage.Write
            content: data
          - id: upload
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{ outputs.write.uri }}"
            to: gs://no-bucket/x.csv
            allowFailure: true
          - id: checked
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{ outputs.write.uri }}"
            to: gs://kestra-test/checked.txt
            expectedMd5: AAAAAAAAAAAAAAAAAAAAAA==
            allowFailure: true
          - id: unchecked
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{ outputs.write.uri }}"
            to: gs://kestra-test/unchecked.txt
            validateChecksum: false
    """)
    assert failure(ex, "upload") == "GCS bucket 'no-bucket' does not exist"
    # Kestra computes (and outputs) checksums only when something checks them
    assert dict(ex.outputs.unchecked) == {"uri": "gs://kestra-test/unchecked.txt"}
    assert gcs.bucket("kestra-test").blob("unchecked.txt").download_as_bytes() == b"data"
    assert failure(ex, "checked").startswith("property 'expectedMd5': the source's checksum is ")
    assert "Traceback" not in "\n".join(messages(ex))


@pytest.mark.parametrize("options, expected", [
    (["listingType: RECURSIVE"], ["a.csv", "b.txt", "sub/c.csv", "sub/deeper/d.csv"]),
    (["listingType: DIRECTORY"], ["a.csv", "b.txt", "sub/"]),
    (["filter: FILES"], ["a.csv", "b.txt"]),
    (["filter: DIRECTORY"], ["sub/"]),
    (["listingType: RECURSIVE", "regExp: '.*\\.csv'"], ["a.csv", "sub/c.csv", "sub/deeper/d.csv"]),
    (["listingType: RECURSIVE", "maxFiles: 2"], ["a.csv", "b.txt"]),
])
def test_list_directory_recursive_filter_and_regexp(gcs, options, expected):
    put(gcs, "listing", "top.csv", "root/a.csv", "root/b.txt", "root/sub/c.csv", "root/sub/deeper/d.csv")
    ex = run_flow("""
        tasks:
          - id: list
            type: io.kestra.plugin.gcp.gcs.List
            from: gs://listing/root/
    """.rstrip(" ") + "".join(f"            {line}\n" for line in options))
    assert ex.state == "SUCCESS", messages(ex)
    assert [blob["name"].removeprefix("root/") for blob in ex.outputs.list.blobs] == expected
    folders = [blob for blob in ex.outputs.list.blobs if blob["directory"]]
    assert all(blob["size"] == 0 and blob["uri"] == "gs://listing/" + blob["name"] for blob in folders)
    if "maxFiles: 2" in options:
        assert any("exceeded the maxFiles limit (2)" in text for text in messages(ex, "list", "WARN"))


# -- Downloads, Copy, Delete, DeleteList ----------------------------------------------------------------

def test_downloads_with_delete_removes_what_it_downloaded(gcs):
    put(gcs, "moves", "in/one.csv", "in/two.csv", "in/skip.txt")
    ex = run_fixture("valid/gcp_gcs/downloads_move.yaml", inputs={"bucket": "moves", "action": "DELETE"})
    assert ex.state == "SUCCESS", messages(ex)
    files = ex.outputs.downloads.outputFiles
    assert sorted(files) == ["in/one.csv", "in/two.csv"]
    assert internal_storage.to_path(files["in/one.csv"]).read_text() == "content of in/one.csv"
    assert [blob["uri"] for blob in ex.outputs.downloads.blobs] == [files["in/one.csv"], files["in/two.csv"]]
    assert names(gcs, "moves", "in/") == ["in/skip.txt"]


def test_downloads_deletes_objects_whose_names_need_encoding(gcs):
    put(gcs, "moves", "in/a+b.csv", "in/x%20y.csv", "in/skip.txt")
    ex = run_fixture("valid/gcp_gcs/downloads_move.yaml", inputs={"bucket": "moves", "action": "DELETE"})
    assert ex.state == "SUCCESS", messages(ex)
    assert sorted(ex.outputs.downloads.outputFiles) == ["in/a+b.csv", "in/x%20y.csv"]
    assert names(gcs, "moves", "in/") == ["in/skip.txt"]


def test_downloads_with_move_archives_the_objects(gcs):
    put(gcs, "moves", "in/three.csv")
    ex = run_fixture("valid/gcp_gcs/downloads_move.yaml", inputs={"bucket": "moves", "action": "MOVE"})
    assert ex.state == "SUCCESS", messages(ex)
    assert list(ex.outputs.downloads.outputFiles) == ["in/three.csv"]
    assert "archive/three.csv" in names(gcs, "moves") and "in/three.csv" not in names(gcs, "moves")


def test_copy_with_delete_moves_the_object(gcs):
    put(gcs, "moves", "copy/source.txt")
    ex = run_flow("""
        tasks:
          - id: copy
            type: io.kestra.plugin.gcp.gcs.Copy
            from: gs://moves/copy/source.txt
            to: gs://kestra-test/copied/target.txt
            delete: true
          - id: same
            type: io.kestra.plugin.gcp.gcs.Copy
            from: gs://moves/a.txt
            to: gs://moves/a.txt
    """)
    assert ex.outputs.copy.uri == "gs://kestra-test/copied/target.txt"
    assert gcs.bucket("kestra-test").blob("copied/target.txt").download_as_bytes() == b"content of copy/source.txt"
    assert names(gcs, "moves", "copy/") == []
    assert failure(ex, "same") == "Invalid copy to same path 'gs://moves/a.txt'"


def test_delete_an_object_then_the_missing_one_with_error_on_missing_false_and_true(gcs):
    put(gcs, "kestra-test", "gone/x.txt")
    ex = run_flow("""
        tasks:
          - id: delete
            type: io.kestra.plugin.gcp.gcs.Delete
            uri: gs://kestra-test/gone/x.txt
            errorOnMissing: true
          - id: lenient
            type: io.kestra.plugin.gcp.gcs.Delete
            uri: gs://kestra-test/gone/x.txt
          - id: strict
            type: io.kestra.plugin.gcp.gcs.Delete
            uri: gs://kestra-test/gone/x.txt
            errorOnMissing: true
    """)
    assert dict(ex.outputs.delete) == {"uri": "gs://kestra-test/gone/x.txt", "deleted": True}
    assert names(gcs, "kestra-test", "gone/") == []
    assert dict(ex.outputs.lenient) == {"uri": "gs://kestra-test/gone/x.txt", "deleted": False}
    assert ex.state == "FAILED" and failure(ex, "strict") == "Unable to find file 'gs://kestra-test/gone/x.txt'"


def test_delete_list_counts_and_sizes_what_it_deleted(gcs):
    put(gcs, "listing", "purge/a.csv", "purge/b.csv", "purge/c.txt", "purge/sub/d.csv")
    ex = run_flow("""
        tasks:
          - id: purge
            type: io.kestra.plugin.gcp.gcs.DeleteList
            from: gs://listing/purge/
            listingType: RECURSIVE
            regExp: ".*\\\\.csv"
            concurrent: 2
          - id: empty
            type: io.kestra.plugin.gcp.gcs.DeleteList
            from: gs://listing/purge/none/
            errorOnEmpty: true
    """)
    sizes = sum(len(f"content of purge/{name}") for name in ("a.csv", "b.csv", "sub/d.csv"))
    assert dict(ex.outputs.purge) == {"count": 3, "size": sizes}
    assert names(gcs, "listing", "purge/") == ["purge/c.txt"]
    assert failure(ex, "empty") == "Unable to find any files to delete on 'gs://listing/purge/none/'"


# -- buckets ---------------------------------------------------------------------------------------------

def test_create_bucket_twice_with_skip_and_error_then_delete(gcs):
    create = """
          - id: {id}
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: fresh-bucket
            ifExists: {policy}
            labels: {{team: data}}
            allowFailure: true"""
    ex = run_flow("tasks:" + create.format(id="first", policy="SKIP") + create.format(id="again", policy="SKIP")
                  + create.format(id="strict", policy="ERROR") + create.format(id="update", policy="UPDATE") + """
          - id: drop
            type: io.kestra.plugin.gcp.gcs.DeleteBucket
            name: fresh-bucket
          - id: drop_again
            type: io.kestra.plugin.gcp.gcs.DeleteBucket
            name: fresh-bucket
    """)
    assert ex.outputs.first.created is True and ex.outputs.first.updated is False
    assert ex.outputs.first.bucket["uri"] == "gs://fresh-bucket" and ex.outputs.first.bucket["name"] == "fresh-bucket"
    assert ex.outputs.again.created is False and ex.outputs.again.updated is False
    assert failure(ex, "strict") == "Bucket fresh-bucket already exists and ifExists policy is set to ERROR"
    assert ex.outputs.update.updated is True
    assert dict(ex.outputs.drop) == {"bucket": "fresh-bucket", "bucketUri": "gs://fresh-bucket"}
    assert failure(ex, "drop_again") == "Couldn't find bucket 'fresh-bucket'"
    assert gcs.lookup_bucket("fresh-bucket") is None


def test_update_sends_the_bucket_settings(gcs):
    ex = run_flow("""
        tasks:
          - id: update
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: listing
            ifExists: UPDATE
            versioningEnabled: true
            labels: {stage: test}
            lifecycleRules:
              - condition: {age: 30}
                action: {type: SET_STORAGE_CLASS, value: NEARLINE}
    """)
    assert ex.state == "SUCCESS", messages(ex)
    bucket = gcs.get_bucket("listing")
    assert bucket.versioning_enabled is True and bucket.labels == {"stage": "test"}
    assert bucket._properties["lifecycle"] == {
        "rule": [{"action": {"type": "SetStorageClass", "storageClass": "NEARLINE"}, "condition": {"age": 30}}]}


def test_delete_bucket_refuses_a_bucket_with_objects_unless_forced(gcs):
    gcs.create_bucket("full-bucket")
    put(gcs, "full-bucket", "a.txt", "deep/b.txt")
    ex = run_flow("""
        tasks:
          - id: refused
            type: io.kestra.plugin.gcp.gcs.DeleteBucket
            name: full-bucket
            allowFailure: true
          - id: forced
            type: io.kestra.plugin.gcp.gcs.DeleteBucket
            name: full-bucket
            force: true
    """)
    assert failure(ex, "refused") == ("GCS bucket 'full-bucket' is not empty: set `force: true` to delete "
                                      "its objects first")
    assert ex.taskrun("forced").state == "SUCCESS" and gcs.lookup_bucket("full-bucket") is None


# -- the course's pluginDefaults and credentials -----------------------------------------------------

def service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return json.dumps({
        "type": "service_account", "project_id": "kestra-sandbox", "private_key_id": "abc123",
        "private_key": pem, "client_email": "zoomcamp@kestra-sandbox.iam.gserviceaccount.com",
        "client_id": "1234567890", "token_uri": "https://oauth2.googleapis.com/token",
    })


def test_the_course_setup_with_plugin_defaults_masks_the_key(gcs):
    key = service_account_key()
    kv = run_fixture("valid/gcp_gcs/gcp_kv.yaml", inputs={"creds": key, "bucket": "zoomcamp-course"})
    assert kv.state == "SUCCESS", messages(kv)
    ex = run_fixture("valid/gcp_gcs/gcp_setup.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs.create_gcs_bucket.created is True
    assert ex.outputs.upload_to_gcs.uri == "gs://zoomcamp-course/yellow_tripdata_2019-01.csv"
    assert names(gcs, "zoomcamp-course") == ["yellow_tripdata_2019-01.csv"]
    private_key = json.loads(key)["private_key"]
    body = private_key.splitlines()[1]
    assert leaks(ex, body) == [] and leaks(ex, private_key) == []
    assert messages(ex, "echo_key") and "MIIE" not in messages(ex, "echo_key")[0]
    again = run_fixture("valid/gcp_gcs/gcp_setup.yaml")
    assert again.outputs.create_gcs_bucket.created is False


@pytest.mark.parametrize("key, expected", [
    ("not json {secret-text-123", "property 'serviceAccount': not JSON"),
    ('{"type": "authorized_user", "refresh_token": "secret-text-123"}',
     "property 'serviceAccount': not a service account key (no client_email, private_key)"),
])
def test_an_invalid_service_account_fails_without_showing_it(key, expected):
    from nb_orchestra import set_secret

    set_secret("GCP_CREDS", key)
    try:
        ex = run_flow("""
            tasks:
              - id: list
                type: io.kestra.plugin.gcp.gcs.List
                from: gs://kestra-test/
                serviceAccount: "{{ secret('GCP_CREDS') }}"
        """)
    finally:
        set_secret("GCP_CREDS", None)
    assert ex.state == "FAILED" and failure(ex, "list").startswith(expected)
    assert leaks(ex, "secret-text-123") == []


def test_without_credentials_or_emulator_the_task_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    ex = run_flow("""
        tasks:
          - id: list
            type: io.kestra.plugin.gcp.gcs.List
            from: gs://kestra-test/
    """)
    assert ex.state == "FAILED"
    assert failure(ex, "list").startswith("No GCP credentials: set the task's `serviceAccount`")


def test_without_the_client_library_the_task_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    ex = run_flow("""
        tasks:
          - id: list
            type: io.kestra.plugin.gcp.gcs.List
            from: gs://kestra-test/
    """)
    assert failure(ex, "list") == ("GCS tasks need the google.cloud.storage package: "
                                   "pip install 'nb-orchestra[gcp]'")


def test_a_wrong_uri_names_the_property():
    ex = run_flow("""
        tasks:
          - id: download
            type: io.kestra.plugin.gcp.gcs.Download
            from: s3://kestra-test/x.csv
    """)
    assert failure(ex, "download") == "property 'from': expected a gs://bucket/path URI, got 's3://kestra-test/x.csv'"


def test_an_answer_other_than_404_names_the_object_or_bucket(monkeypatch):
    """A server that forbids everything (as a bucket without the permission does): one line with the
    status, the object or bucket asked for, and the server's own reason."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Forbidding(BaseHTTPRequestHandler):
        def answer(self) -> None:
            body = json.dumps({"error": {"code": 403, "message": "Forbidden", "errors": [
                {"message": "caller does not have storage.objects.get access", "reason": "forbidden"}]}}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidding)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        ex = run_flow("""
            tasks:
              - id: object
                type: io.kestra.plugin.gcp.gcs.Download
                from: gs://private/reports/2019.csv
                allowFailure: true
              - id: bucket
                type: io.kestra.plugin.gcp.gcs.DeleteBucket
                name: private
        """)
    finally:
        server.shutdown()
    reason = "caller does not have storage.objects.get access"
    assert failure(ex, "object") == f"GCS answered 403 Forbidden for gs://private/reports/2019.csv: {reason}"
    assert failure(ex, "bucket") == f"GCS answered 403 Forbidden for bucket 'private': {reason}"
