"""io.kestra.plugin.aws.s3.*: flows against moto's S3 server on 127.0.0.1, started once for the
module, with IAM signatures required (a real access key of the server's IAM, given through
secret() and the course's pluginDefaults on io.kestra.plugin.aws)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import sys
import time
import uuid

import pytest

import nb_orchestra
from nb_orchestra import internal_storage
from nb_orchestra.teaching.s3_server import S3Server

from .conftest import messages, run_flow

CONNECTION = """
pluginDefaults:
  - type: io.kestra.plugin.aws
    values:
      endpointOverride: "{{ inputs.endpoint }}"
      region: us-east-1
      accessKeyId: "{{ secret('AWS_ACCESS_KEY_ID') }}"
      secretKeyId: "{{ secret('AWS_SECRET_KEY_ID') }}"
inputs:
  - id: endpoint
    type: STRING
  - id: bucket
    type: STRING
"""


class SignedS3(S3Server):
    """The server and the access key it accepts."""

    key_id = secret = ""


@pytest.fixture(scope="module")
def s3():
    server = SignedS3()
    server.key_id, server.secret = server.access_key()
    server.require_signatures()
    yield server
    server.stop()


@pytest.fixture
def keys(s3):
    nb_orchestra.set_secret("AWS_ACCESS_KEY_ID", s3.key_id)
    nb_orchestra.set_secret("AWS_SECRET_KEY_ID", s3.secret)
    yield
    nb_orchestra.set_secret("AWS_ACCESS_KEY_ID", None)
    nb_orchestra.set_secret("AWS_SECRET_KEY_ID", None)


@pytest.fixture
def bucket(s3, keys):
    """A new bucket (moto's buckets live as long as the process: a fresh name per test)."""
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.client(key_id=s3.key_id, secret=s3.secret).create_bucket(Bucket=name)
    return name


def run_s3(s3, bucket: str, tasks: str, **extra_inputs):
    """Run a flow of ``tasks`` (YAML under `tasks:`) with the connection defaults and inputs."""
    ex = run_flow(CONNECTION + tasks, inputs={"endpoint": s3.url, "bucket": bucket, **extra_inputs})
    assert s3.secret not in _everything(ex)
    return ex


def _everything(ex) -> str:
    """Every text a run shows: logs, failure messages, outputs."""
    texts = [log.message for log in ex.logs] + [run.message or "" for run in ex.taskruns] + [ex.message or ""]
    return "\n".join(texts) + json.dumps(ex.outputs, default=str)


def objects(s3, bucket: str) -> dict[str, bytes]:
    client = s3.client(key_id=s3.key_id, secret=s3.secret)
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def put(s3, bucket: str, files: dict[str, bytes]) -> None:
    client = s3.client(key_id=s3.key_id, secret=s3.secret)
    for key, body in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


def failure(ex, task_id: str) -> str:
    assert ex.state == "FAILED", messages(ex)
    return ex.taskrun(task_id).message or ""


# -- one object at a time -------------------------------------------------------------------------

def test_a_written_file_goes_up_and_comes_back_byte_for_byte(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "city,trips\\nLyon,3\\nNantes,4\\n"
    extension: .csv
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.write.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: data/trips.csv
    contentType: text/csv
    metadata:
      source: course
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{ inputs.bucket }}"
    key: "{{ outputs.upload.key }}"
""")
    assert ex.state == "SUCCESS", messages(ex)
    upload, download = ex.outputs["upload"], ex.outputs["download"]
    assert upload["bucket"] == bucket and upload["key"] == "data/trips.csv"
    assert re.fullmatch(r'"[0-9a-f]{32}"', upload["eTag"])
    assert internal_storage.to_path(download["uri"]).read_bytes() == b"city,trips\nLyon,3\nNantes,4\n"
    assert download["uri"].endswith(".csv")
    assert download["eTag"] == upload["eTag"]
    assert download["contentLength"] == 27 and download["contentType"] == "text/csv"
    assert download["metadata"] == {"source": "course"}
    assert objects(s3, bucket) == {"data/trips.csv": b"city,trips\nLyon,3\nNantes,4\n"}


def test_a_list_or_map_in_from_uploads_each_file_under_the_key(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: one
    type: io.kestra.plugin.core.storage.Write
    content: first
    extension: .txt
  - id: two
    type: io.kestra.plugin.core.storage.Write
    content: second
    extension: .txt
  - id: as_map
    type: io.kestra.plugin.aws.s3.Upload
    from:
      a.txt: "{{ outputs.one.uri }}"
      b.txt: "{{ outputs.two.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: mapped
  - id: as_json_list
    type: io.kestra.plugin.aws.s3.Upload
    from: |
      ["{{ outputs.one.uri }}", "{{ outputs.two.uri }}"]
    bucket: "{{ inputs.bucket }}"
    key: listed/
""")
    assert ex.state == "SUCCESS", messages(ex)
    files = ex.outputs["as_map"]["files"]
    assert sorted(files) == ["a.txt", "b.txt"] and files["a.txt"]["contentLength"] == 5
    names = {uri.rsplit("/", 1)[1]: text for uri, text in ((ex.outputs["one"]["uri"], b"first"),
                                                           (ex.outputs["two"]["uri"], b"second"))}
    assert objects(s3, bucket) == {"mapped/a.txt": b"first", "mapped/b.txt": b"second",
                                   **{f"listed/{name}": text for name, text in names.items()}}
    assert ex.outputs["as_json_list"]["key"] == "listed/"
    assert sorted(ex.outputs["as_json_list"]["files"]) == sorted(names)


def test_list_selects_by_prefix_regexp_and_filter_in_kestras_object_shape(s3, bucket):
    put(s3, bucket, {"in/2024-01-01.csv": b"1", "in/2024-01-02.csv": b"22", "in/notes.txt": b"n",
                     "in/sub/": b"", "out/2024-01-01.csv": b"x"})
    ex = run_s3(s3, bucket, """
tasks:
  - id: csv
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    prefix: in/
    regexp: .*\\.csv
  - id: dirs
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    filter: DIRECTORY
  - id: first
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    maxFiles: 2
""")
    assert ex.state == "SUCCESS", messages(ex)
    found = ex.outputs["csv"]["objects"]
    assert [item["key"] for item in found] == ["in/2024-01-01.csv", "in/2024-01-02.csv"]
    assert set(found[1]) == {"key", "etag", "size", "lastModified"} and found[1]["size"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", found[1]["lastModified"])
    assert [item["key"] for item in ex.outputs["dirs"]["objects"]] == ["in/sub/"]
    assert len(ex.outputs["first"]["objects"]) == 2
    assert any("maxFiles limit is 2" in text for text in messages(ex, "first", "WARN"))


def test_copy_with_delete_moves_the_object_and_delete_removes_one(s3, bucket):
    put(s3, bucket, {"raw/a.csv": b"aaa", "raw/b.csv": b"bbb"})
    ex = run_s3(s3, bucket, """
tasks:
  - id: move
    type: io.kestra.plugin.aws.s3.Copy
    from:
      bucket: "{{ inputs.bucket }}"
      key: raw/a.csv
    to:
      key: archive/a.csv
    delete: true
  - id: delete
    type: io.kestra.plugin.aws.s3.Delete
    bucket: "{{ inputs.bucket }}"
    key: raw/b.csv
""")
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs["move"]["bucket"] == bucket and ex.outputs["move"]["key"] == "archive/a.csv"
    assert ex.outputs["move"]["eTag"].startswith('"')
    assert objects(s3, bucket) == {"archive/a.csv": b"aaa"}


def test_downloads_then_moves_or_deletes_what_it_listed(s3, bucket):
    put(s3, bucket, {"landing/x.csv": b"x1", "landing/y.csv": b"y22", "other/z.csv": b"z"})
    ex = run_s3(s3, bucket, """
tasks:
  - id: take
    type: io.kestra.plugin.aws.s3.Downloads
    bucket: "{{ inputs.bucket }}"
    prefix: landing/
    action: MOVE
    moveTo:
      key: done/
  - id: purge
    type: io.kestra.plugin.aws.s3.Downloads
    bucket: "{{ inputs.bucket }}"
    prefix: other/
    action: DELETE
""")
    assert ex.state == "SUCCESS", messages(ex)
    taken = ex.outputs["take"]
    assert sorted(taken["outputFiles"]) == ["landing/x.csv", "landing/y.csv"]
    assert internal_storage.to_path(taken["outputFiles"]["landing/y.csv"]).read_bytes() == b"y22"
    assert all(item["uri"] == taken["outputFiles"][item["key"]] for item in taken["objects"])
    assert internal_storage.to_path(ex.outputs["purge"]["outputFiles"]["other/z.csv"]).read_bytes() == b"z"
    assert objects(s3, bucket) == {"done/x.csv": b"x1", "done/y.csv": b"y22"}


def test_delete_list_counts_what_it_deleted_and_can_fail_when_nothing_matched(s3, bucket):
    put(s3, bucket, {"tmp/1": b"12345", "tmp/2": b"678", "keep/3": b"9"})
    ex = run_s3(s3, bucket, """
tasks:
  - id: clean
    type: io.kestra.plugin.aws.s3.DeleteList
    bucket: "{{ inputs.bucket }}"
    prefix: tmp/
    concurrent: 2
  - id: again
    type: io.kestra.plugin.aws.s3.DeleteList
    bucket: "{{ inputs.bucket }}"
    prefix: tmp/
    errorOnEmpty: true
""")
    assert ex.outputs["clean"] == {"count": 2, "size": 8}
    assert failure(ex, "again") == f"Unable to find any files to delete on {bucket} with regexp='null', prefix='tmp/'"
    assert objects(s3, bucket) == {"keep/3": b"9"}


def test_create_bucket_twice_is_s3s_answer_in_each_region(s3, keys):
    name = f"new-{uuid.uuid4().hex[:12]}"
    task = """
  - id: {id}
    type: io.kestra.plugin.aws.s3.CreateBucket
    bucket: "{{{{ inputs.bucket }}}}"
    region: {region}
"""
    us = run_s3(s3, name, "tasks:" + task.format(id="first", region="us-east-1")
                + task.format(id="second", region="us-east-1"))
    assert us.state == "SUCCESS", messages(us)  # us-east-1 answers its owner 200 again (S3's legacy)
    assert us.outputs["first"] == {"bucket": name, "region": f"/{name}"}
    eu = run_s3(s3, name + "-eu", "tasks:" + task.format(id="first", region="eu-west-1")
                + task.format(id="second", region="eu-west-1"))
    assert failure(eu, "second") == f"S3 bucket '{name}-eu' already exists and is yours"
    assert s3.client(key_id=s3.key_id, secret=s3.secret).get_bucket_location(Bucket=name + "-eu")[
        "LocationConstraint"] == "eu-west-1"


# -- failures -------------------------------------------------------------------------------------

def test_a_missing_bucket_or_key_is_named_in_one_line(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: key
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{ inputs.bucket }}"
    key: nowhere/file.csv
    allowFailure: true
  - id: bucket
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}-missing"
""")
    assert ex.taskrun("key").message == f"S3 object 'nowhere/file.csv' does not exist in bucket '{bucket}'"
    assert failure(ex, "bucket") == f"S3 bucket '{bucket}-missing' does not exist"
    assert "Traceback" not in _everything(ex)


@pytest.mark.parametrize(("key_id", "secret", "named"), [
    (None, "wrong-secret-0123456789", "secretKeyId"),
    ("AKIAUNKNOWNKEY000000", "another-wrong-secret-42", "accessKeyId"),
])
def test_wrong_credentials_are_refused_naming_the_property_never_the_secret(s3, bucket, key_id, secret, named):
    ex = run_s3(s3, bucket, f"""
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{{{ inputs.bucket }}}}"
    accessKeyId: {key_id or s3.key_id}
    secretKeyId: {secret}
""")
    message = failure(ex, "list")
    assert f"check property '{named}'" in message and "\n" not in message and len(message) < 200
    assert secret not in _everything(ex) and s3.secret not in _everything(ex)


def test_an_unreachable_endpoint_fails_in_seconds(bucket):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    ex = run_flow(CONNECTION + """
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
""", inputs={"endpoint": f"http://127.0.0.1:{port}", "bucket": bucket})
    assert time.monotonic() - started < 20
    assert failure(ex, "list") == (f"S3 ListObjectsV2 of bucket '{bucket}': cannot reach http://127.0.0.1:{port}: "
                                   "check properties 'endpointOverride' and 'region'")


def test_without_keys_the_default_chain_is_used_and_its_absence_explained(s3, bucket, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    body = """
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    endpointOverride: "{{ inputs.endpoint }}"
    region: us-east-1
    bucket: "{{ inputs.bucket }}"
inputs:
  - id: endpoint
    type: STRING
  - id: bucket
    type: STRING
"""
    ex = run_flow(body, inputs={"endpoint": s3.url, "bucket": bucket})
    assert "no AWS credentials: set properties 'accessKeyId' and 'secretKeyId'" in failure(ex, "list")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret)
    ex = run_flow(body, inputs={"endpoint": s3.url, "bucket": bucket})
    assert ex.state == "SUCCESS", messages(ex)


def test_an_assumed_role_lists_with_the_credentials_sts_hands_back(s3, bucket):
    iam = s3.client("iam", s3.key_id, s3.secret)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"reader-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role["Role"]["RoleName"], PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    put(s3, bucket, {"shared.csv": b"1"})
    body = CONNECTION + """  - id: role
    type: STRING
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    stsRoleArn: "{{ inputs.role }}"
    stsRoleSessionName: course
    stsEndpointOverride: "{{ inputs.endpoint }}"
"""
    ex = run_flow(body, inputs={"endpoint": s3.url, "bucket": bucket, "role": role["Role"]["Arn"]})
    assert ex.state == "SUCCESS", messages(ex)
    assert [item["key"] for item in ex.outputs["list"]["objects"]] == ["shared.csv"]
    nb_orchestra.set_secret("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")  # STS refuses the caller
    refused = run_flow(body, inputs={"endpoint": s3.url, "bucket": bucket, "role": role["Role"]["Arn"]})
    assert failure(refused, "list") == ("STS AssumeRole of property 'stsRoleArn' refused: the access key ID is "
                                        "not known to the server: check property 'accessKeyId'")


def test_force_path_style_needs_compatibility_mode_on_transfers_as_in_kestra(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: compatible
  - id: path_style_alone
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.write.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: alone.txt
    forcePathStyle: true
    allowFailure: true
  - id: compatible
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.write.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: c.txt
    compatibilityMode: true
    forcePathStyle: true
""")
    assert ex.taskrun("path_style_alone").message == (
        "'forcePathStyle' must be used in conjunction with 'compatibilityMode'")
    assert ex.taskrun("compatible").state == "SUCCESS"
    assert objects(s3, bucket) == {"c.txt": b"compatible"}


def test_bad_connection_properties_are_named(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: region
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    region: eu west 1
    allowFailure: true
  - id: metadata_service
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
    endpointOverride: http://169.254.169.254
""")
    assert ex.taskrun("region").message == (
        "The s3 client of properties 'region' and 'endpointOverride': InvalidRegionError: Provided region_name "
        "'eu west 1' doesn't match a supported format.")
    assert failure(ex, "metadata_service") == (
        "property 'endpointOverride': 'http://169.254.169.254' is a link-local address (instance metadata), "
        "not allowed")


def test_without_boto3_the_task_names_the_extra(s3, bucket, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    ex = run_s3(s3, bucket, """
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{ inputs.bucket }}"
""")
    assert failure(ex, "list") == "AWS tasks need the boto3 package: pip install 'nb-orchestra[aws]'"


def test_versions_are_reported_and_an_older_one_downloaded(s3, bucket):
    client = s3.client(key_id=s3.key_id, secret=s3.secret)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=bucket, Key="v.txt", Body=b"one")["VersionId"]
    ex = run_flow(CONNECTION + """  - id: first
    type: STRING
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: two
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.write.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: v.txt
  - id: older
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{ inputs.bucket }}"
    key: v.txt
    versionId: "{{ inputs.first }}"
  - id: delete
    type: io.kestra.plugin.aws.s3.Delete
    bucket: "{{ inputs.bucket }}"
    key: v.txt
""", inputs={"endpoint": s3.url, "bucket": bucket, "first": first})
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs["upload"]["versionId"] not in (None, first)
    assert ex.outputs["older"]["versionId"] == first
    assert internal_storage.to_path(ex.outputs["older"]["uri"]).read_bytes() == b"one"
    assert ex.outputs["delete"]["deleteMarker"] is True and ex.outputs["delete"]["versionId"]
    assert objects(s3, bucket) == {}


def test_download_with_a_prefix_downloads_every_file_it_selects(s3, bucket):
    put(s3, bucket, {"day/a.json": b"{}", "day/b.json": b"[]", "day/folder/": b""})
    ex = run_s3(s3, bucket, """
tasks:
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{ inputs.bucket }}"
    prefix: day/
""")
    assert ex.state == "SUCCESS", messages(ex)
    files = ex.outputs["download"]["files"]
    assert sorted(files) == ["day/a.json", "day/b.json"]
    assert internal_storage.to_path(files["day/b.json"]["uri"]).read_bytes() == b"[]"
    assert files["day/b.json"]["contentLength"] == 2


def test_a_key_without_permission_is_access_denied(s3, bucket):
    iam = s3.client("iam", s3.key_id, s3.secret)
    user = f"intern-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    ex = run_s3(s3, bucket, f"""
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{{{ inputs.bucket }}}}"
    accessKeyId: {key["AccessKeyId"]}
    secretKeyId: {key["SecretAccessKey"]}
""")
    assert failure(ex, "list") == (f"S3 ListObjectsV2 of bucket '{bucket}' refused: access denied "
                                   "(the credentials lack the permission)")
    assert key["SecretAccessKey"] not in _everything(ex)


def test_upload_options_reach_s3_and_a_stored_checksum_is_verified_on_download(s3, bucket):
    ex = run_s3(s3, bucket, """
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: checked
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.write.uri }}"
    bucket: "{{ inputs.bucket }}"
    key: opts.txt
    storageClass: STANDARD_IA
    serverSideEncryption: AES256
    checksumAlgorithm: SHA256
    cacheControl: no-cache
    tagging:
      course: zoomcamp
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{ inputs.bucket }}"
    key: opts.txt
    validateChecksum: true
""")
    assert ex.state == "SUCCESS", messages(ex)
    client = s3.client(key_id=s3.key_id, secret=s3.secret)
    head = client.head_object(Bucket=bucket, Key="opts.txt")
    assert (head["StorageClass"], head["ServerSideEncryption"], head["CacheControl"]) == (
        "STANDARD_IA", "AES256", "no-cache")
    assert client.get_object_tagging(Bucket=bucket, Key="opts.txt")["TagSet"] == [
        {"Key": "course", "Value": "zoomcamp"}]
    assert ex.outputs["download"]["checksumAlgorithm"] == "SHA256"
    assert ex.outputs["download"]["checksumValue"] == base64.b64encode(hashlib.sha256(b"checked").digest()).decode()


@pytest.mark.parametrize(("task", "prop", "value"), [
    ("Upload", "checksumAlgorithm", "MD5"), ("List", "filter", "directory"), ("Downloads", "action", "move")])
def test_an_enum_that_renders_to_an_unknown_value_is_named_in_one_line(s3, bucket, task, prop, value):
    extra = "    from: \"{{ outputs.write.uri }}\"\n    key: x.txt\n" if task == "Upload" else ""
    ex = run_s3(s3, bucket, f"""
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: x
  - id: act
    type: io.kestra.plugin.aws.s3.{task}
    bucket: "{{{{ inputs.bucket }}}}"
    {prop}: "{{{{ '{value}' }}}}"
{extra}""")
    assert failure(ex, "act").startswith(f"property '{prop}': '{value}' is not one of ")
