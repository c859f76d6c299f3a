"""io.kestra.plugin.core.http.Request / Download against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

import nb_orchestra
from nb_orchestra import internal_storage
from nb_orchestra.plugins.core import http as http_plugin

from .conftest import messages, run_fixture

BIG = bytes(range(256)) * 8192  # 2 MiB
BASIC_OK = "Basic " + base64.b64encode(b"user:pass").decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def send(self, code: int, body: bytes = b"", content_type: str = "text/plain", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urlparse(self.path).path
        auth = self.headers.get("Authorization")
        if path == "/json":
            self.send(200, b'{"hello":"world","n":[1,2]}', "application/json",
                      [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        elif path == "/missing":
            self.send(404, b"no such thing here " + b"x" * 3000)
        elif path == "/redirect":
            self.send(302, headers=[("Location", "/json")])
        elif path == "/auth":
            self.send(200, b"welcome") if auth == BASIC_OK else self.send(401, b"who are you?")
        elif path == "/bearer":
            self.send(200, b"token ok") if auth == "Bearer t0k3n" else self.send(401, b"bad token")
        elif path == "/slow":
            time.sleep(1.5)
            self.send(200, b"late")
        elif path == "/files/big.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.end_headers()
            for start in range(0, len(BIG), 65536):
                self.wfile.write(BIG[start:start + 65536])
        elif path == "/report":
            self.send(200, b"a,b\n1,2\n", "text/csv", [("Content-Disposition", 'attachment; filename="report.csv"')])
        elif path == "/empty":
            self.send(200)
        elif path == "/drip":  # a body that never ends, one chunk every 0.1 s
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x" * 100)
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
        else:
            self.send(200, json.dumps({"method": "GET", "path": self.path,
                                       "headers": dict(self.headers.items())}).encode(), "application/json")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        content_type = self.headers.get("Content-Type", "")
        echo = {"method": self.command, "content_type": content_type, "body": raw.decode("utf-8", "replace"),
                "headers": dict(self.headers.items())}
        if content_type.startswith("application/x-www-form-urlencoded"):
            echo["form"] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if content_type.startswith("multipart/form-data"):
            message = BytesParser().parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
            echo["parts"] = {
                part.get_param("name", header="content-disposition"): {
                    "filename": part.get_filename(),
                    "content": part.get_payload(decode=True).decode("utf-8", "replace"),
                } for part in message.get_payload()
            }
        self.send(201, json.dumps(echo).encode(), "application/json")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_get_json_outputs_code_headers_and_body_string(server):
    ex = run_fixture("valid/http/get_json.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS"
    out = ex.outputs["req"]
    assert out["code"] == 200 and out["uri"] == f"{server}/json"
    assert out["body"] == '{"hello":"world","n":[1,2]}'
    assert out["headers"]["Content-Type"] == ["application/json"]
    assert out["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert messages(ex, "use") == ["world 200"]


def test_default_request_headers_and_legacy_alias(server):
    ex = run_fixture("valid/http/legacy_alias.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS"
    echo = json.loads(ex.outputs["req"]["body"])
    assert echo["path"] == "/echo?q=a%20b"
    assert echo["headers"]["User-Agent"] == "Kestra"
    assert echo["headers"]["Content-Type"] == "application/json"  # contentType's default, as Kestra sends it


def test_post_body_with_content_type_and_headers(server):
    ex = run_fixture("valid/http/post_body.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS", ex.taskruns[0].message
    assert ex.outputs["req"]["code"] == 201
    echo = json.loads(ex.outputs["req"]["body"])
    assert echo["method"] == "POST"
    assert echo["content_type"] == "application/json; charset=UTF-8"
    assert json.loads(echo["body"]) == {"title": "Kestra Pen"}
    assert echo["headers"]["X-Trace"] == "KESTRA PEN"


def test_form_data_is_url_encoded_by_default(server):
    ex = run_fixture("valid/http/form_data.yaml", inputs={"server": server})
    echo = json.loads(ex.outputs["req"]["body"])
    assert echo["content_type"].startswith("application/x-www-form-urlencoded")
    assert echo["form"] == {"user": "ann", "password": "p&ss word"}


def test_multipart_form_data_sends_kestra_files(server):
    ex = run_fixture("valid/http/multipart_form_data.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    parts = json.loads(ex.outputs["upload"]["body"])["parts"]
    assert parts["user"] == {"filename": None, "content": "John Doe"}
    assert parts["data"] == {"filename": "report.csv", "content": "a,b\n1,2\n"}
    assert parts["named"] == {"filename": "renamed.csv", "content": "a,b\n1,2\n"}
    assert json.loads(parts["meta"]["content"]) == {"tags": ["a", "b"]}


def test_404_fails_with_code_and_start_of_body(server):
    ex = run_fixture("valid/http/not_found.yaml", inputs={"server": server})
    assert ex.state == "FAILED"
    assert ex.taskruns[0].message == "Failed http request with response code '404' and body:"
    error = messages(ex, "req", "ERROR")[0]
    assert "no such thing here xxx" in error and error.endswith("…") and len(error) < 1200
    assert "req" not in ex.outputs


ALLOW_FAILED = {  # the parameter (as in the test's id) -> the flow that sets allowFailed that way
    "options:\n              allowFailed: true": "valid/http/allow_failed_in_options.yaml",
    "allowFailed: true": "valid/http/allow_failed.yaml",
}


@pytest.mark.parametrize("allow", list(ALLOW_FAILED))
def test_allow_failed_keeps_the_response(server, allow):
    ex = run_fixture(ALLOW_FAILED[allow], inputs={"server": server})
    assert ex.state == "SUCCESS"
    assert ex.outputs["req"]["code"] == 404
    assert ex.outputs["req"]["body"].startswith("no such thing here")


def test_allowed_response_codes(server):
    ex = run_fixture("valid/http/allowed_response_codes.yaml", inputs={"server": server})
    assert ex.taskrun("ok").state == "SUCCESS"
    assert ex.taskrun("refused").state == "FAILED"
    assert ex.taskrun("refused").message.startswith("Failed http request with response code '302'")


def test_redirects_followed_unless_disabled(server):
    ex = run_fixture("valid/http/redirects.yaml", inputs={"server": server})
    assert ex.outputs["follow"]["code"] == 200 and "hello" in ex.outputs["follow"]["body"]
    assert ex.outputs["follow"]["uri"] == f"{server}/redirect"
    assert ex.outputs["stay"]["code"] == 302
    assert ex.outputs["stay"]["headers"]["Location"] == ["/json"]


def test_basic_and_bearer_auth(server):
    ex = run_fixture("valid/http/auth.yaml", inputs={"server": server})
    assert [ex.outputs[t]["body"] for t in ("basic", "legacy", "bearer")] == ["welcome", "welcome", "token ok"]
    assert ex.taskrun("wrong").state == "FAILED"
    assert "'401'" in ex.taskrun("wrong").message


def test_read_timeout_fails_with_duration(server):
    start = time.monotonic()
    ex = run_fixture("valid/http/read_timeout.yaml", inputs={"server": server})
    assert ex.state == "FAILED"
    assert ex.taskrun("old").message == f"timed out after PT0.2S waiting for {server}/slow"
    assert ex.taskrun("new").message == f"timed out after PT0.3S waiting for {server}/slow"
    assert time.monotonic() - start < 1.4


def test_unreachable_host():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ex = run_fixture("valid/http/unreachable.yaml", inputs={"server": f"http://127.0.0.1:{port}"})
    assert ex.state == "FAILED"
    assert ex.taskrun("req").message.startswith(f"cannot reach http://127.0.0.1:{port}/x: ")


def test_bad_option_values_fail_the_task(server):
    ex = run_fixture("valid/http/bad_option_values.yaml", inputs={"server": server})
    assert ex.taskrun("charset").message == "options.defaultCharset: unknown charset 'NOT-A-CHARSET'"
    assert ex.taskrun("auth").message == "options.auth.type must be BASIC or BEARER, got 'DIGEST'"


def test_unknown_option_rejected_when_the_flow_is_loaded(server):
    with pytest.raises(nb_orchestra.FlowValidationError, match="unknown option 'folowRedirects'"):
        run_fixture("valid/http/unknown_option.yaml", inputs={"server": server})


def test_download_streams_to_storage_with_progress(server, monkeypatch):
    monkeypatch.setattr(http_plugin, "_PROGRESS_EVERY_S", 0.0)
    ex = run_fixture("valid/http/download_big.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS"
    out = ex.outputs["dl"]
    assert out["code"] == 200 and out["length"] == len(BIG)
    assert out["headers"]["Content-Length"] == [str(len(BIG))]
    assert out["uri"].startswith("kestra:///tests/test/executions/") and out["uri"].endswith("/big.bin")
    assert internal_storage.to_path(out["uri"]).read_bytes() == BIG
    progress = messages(ex, "dl", "INFO")
    assert 5 <= len(progress) <= 11
    assert progress[-1] == "downloaded 2.1 MB of 2.1 MB (100%)"
    assert all(line.startswith("downloaded ") and line.endswith("%)") for line in progress)


def test_download_file_names(server):
    ex = run_fixture("valid/http/download_file_names.yaml", inputs={"server": server})
    assert ex.outputs["disposition"]["uri"].endswith("/report.csv")
    assert ex.outputs["named"]["uri"].endswith("/mine 2.csv")
    assert internal_storage.to_path(ex.outputs["named"]["uri"]).read_text() == "a,b\n1,2\n"
    assert messages(ex, level="INFO") == []  # quick downloads log no progress


def test_download_empty_response(server):
    ex = run_fixture("valid/http/download_empty.yaml", inputs={"server": server})
    assert ex.outputs["lenient"]["length"] == 0
    assert messages(ex, "lenient", "WARN") == [f"File '{server}/empty' is empty"]
    assert ex.taskrun("strict").state == "FAILED"
    assert ex.taskrun("strict").message.startswith("No response from server")


def test_download_404_fails(server):
    ex = run_fixture("valid/http/download_not_found.yaml", inputs={"server": server})
    assert ex.state == "FAILED"
    assert ex.taskrun("dl").message.startswith("Failed http request with response code '404'")


def test_task_timeout_stops_a_download_between_chunks(server):
    start = time.monotonic()
    ex = run_fixture("valid/http/download_timeout.yaml", inputs={"server": server})
    assert ex.state == "FAILED"
    assert ex.taskrun("dl").message.startswith("Timeout after PT0.5S")
    assert time.monotonic() - start < 3


def test_secret_in_headers_is_masked_in_logs_but_sent(server):
    from nb_orchestra.secrets import set_secret

    set_secret("HTTP_TOKEN", "t0k3n")
    try:
        ex = run_fixture("valid/http/secret_header.yaml", inputs={"server": server})
    finally:
        set_secret("HTTP_TOKEN", None)
    assert ex.outputs["req"]["body"] == "token ok"
    logged = messages(ex, "req", "INFO")[0]
    assert "Authorization: Bearer ******" in logged and "t0k3n" not in logged
