"""io.kestra.plugin.notifications.*: webhooks against a recording HTTP server on 127.0.0.1, mail
against a local SMTP server (aiosmtpd), SendGrid against the same HTTP server."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import nb_orchestra
from nb_orchestra import internal_storage

from .conftest import messages, run_fixture

DURATION = r"\d\d:\d\d:\d\d\.\d\d\d"
SMTP_PASSWORD = "s3cret-pa55word"
SENDGRID_KEY = "SG.k3y-that-must-not-leak"


# -- a recording HTTP server ----------------------------------------------------------------------

class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        if self.path.startswith("/fail/"):
            self.answer(500, b"internal trouble")
        elif self.path.startswith("/slow/"):
            time.sleep(1.5)
            self.answer(200, b"late")
        elif self.path.startswith("/sendgrid/"):
            self.answer(202, b"", [("X-Message-Id", "msg-1")])
        else:
            self.answer(200, b"ok")

    def answer(self, code, body, headers=()):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (the timeout test)
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def received(path_start: str) -> list[dict]:
    return [request for request in Recorder.received if request["path"].startswith(path_start)]


def body_of(path_start: str) -> dict:
    [request] = received(path_start)
    assert request["headers"]["Content-Type"] == "application/json"
    return json.loads(request["body"])


def leaks(ex, *secrets: str) -> list[str]:
    """Every log line and failure message of ``ex`` that shows one of ``secrets``."""
    texts = [log.message for log in ex.logs] + [run.message or "" for run in ex.taskruns] + [ex.message or ""]
    return [text for text in texts for secret in secrets if secret in text]


# -- webhooks -------------------------------------------------------------------------------------

def test_each_webhook_receives_the_body_kestra_sends(server):
    ex = run_fixture("valid/notifications/webhooks.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS", messages(ex)

    # Slack and Discord payloads are read as JSON and sent compact, as Jackson writes them
    [slack] = received("/services/T000/B000/slackpayload")
    assert slack["body"] == (
        '{"text":"Flow tests.test ran ' + ex.id + '","blocks":[{"type":"section","text":{"type":"mrkdwn",'
        '"text":"*ünïcode* ✓"}}]}').encode()
    assert slack["headers"]["Content-Type"] == "application/json"
    assert body_of("/services/T000/B000/slacktext") == {"text": "*Done* with _care_, see <https://kestra.io|the docs>"}
    assert body_of("/api/webhooks/123/discordtoken") == {
        "content": "Hello from test", "embeds": [{"title": "ok", "color": 65280}]}

    # Teams and Google Chat payloads are sent as the rendered text, untouched
    [teams] = received("/webhookb2/teamstoken")
    assert teams["body"] == (b'{"@type": "MessageCard", "summary": "Flow test",\n'
                             b' "sections": [{"activityTitle": "Kestra", "markdown": true}]}\n')
    [google] = received("/v1/spaces/AAA/messages?key=googlekey&token=googletoken")
    assert google["body"] == b'{"text": "Google Chat says hi from test"}'
    assert google["headers"]["X-Trace"] == "tests"
    assert messages(ex, "google", "INFO") == ["Request succeeded"]


def test_an_execution_task_in_errors_summarises_the_failure(server, monkeypatch):
    monkeypatch.setenv("KESTRA_URL", "http://kestra.local:8080/")
    ex = run_fixture("valid/notifications/execution_in_errors.yaml", inputs={"server": server})
    assert ex.state == "FAILED"
    assert {run.task_id: run.state for run in ex.taskruns} == {
        "hello": "SUCCESS", "boom": "FAILED", "slack": "SUCCESS", "discord": "SUCCESS", "teams": "SUCCESS",
        "google": "SUCCESS"}
    link = f"http://kestra.local:8080/ui/executions/tests/test/{ex.id}"
    title = "[tests] test ➛ FAILED"

    slack = body_of("/services/T000/B000/slackexecution")
    assert re.fullmatch(rf"\*<{re.escape(link)}\|{re.escape(title)}>\*\n> Failed on task `boom` after {DURATION}",
                        slack["text"])
    assert slack["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Please have a look, test failed"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": slack["text"]},
         "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Details"}, "url": link}}]
    [attachment] = slack["attachments"]
    assert attachment["color"] == "danger"
    assert attachment["ts"] == int(ex.start_date.timestamp())
    assert [(f["title"], f["value"], f["short"]) for f in attachment["fields"]] == [
        ("Namespace", "tests", True), ("Flow ID", "test", True), ("Execution ID", ex.id, True),
        ("Execution Status", "FAILED", True), ("Team", "data", True), ("Env", "tests", True),
        ("Final task ID", "boom", True)]
    assert (slack["channel"], slack["username"], slack["icon_emoji"]) == ("#alerts", "Kestra", ":fire:")

    discord = body_of("/api/webhooks/123/discordexecution")
    assert (discord["username"], discord["content"], discord["tts"]) == ("Kestra", "Execution report", False)
    [embed] = discord["embeds"]
    assert embed["description"] == (
        f"Namespace: tests\nFlow ID: test\nExecution ID: {ex.id}\nExecution Status: FAILED \nFinal task ID: boom "
        f"\n\n[Link to the Execution page]({link})")
    assert re.fullmatch(rf"Failed on task `boom` after {DURATION}", embed["footer"]["text"])

    teams = body_of("/webhookb2/teamsexecution")
    assert teams["@type"] == "MessageCard" and teams["themeColor"] == "0076D7"
    assert re.fullmatch(rf"\*<{re.escape(link)}\|{re.escape(title)}>\*\n> Failed on task `boom` after {DURATION}",
                        teams["summary"])
    [section] = teams["sections"]
    assert section["activityTitle"] == "Kestra" and section["markdown"] is True
    assert section["facts"] == [
        {"name": "Namespace", "value": "tests"}, {"name": "Flow ID", "value": "test"},
        {"name": "Execution ID", "value": ex.id}, {"name": "Execution Status", "value": "FAILED"},
        {"name": "Final task ID", "value": "boom"}]

    google = body_of("/v1/spaces/AAA/messages?token=googleexecution")
    assert re.fullmatch(
        rf"Kestra Google notification: Namespace tests, Flow ID test, Execution ID {ex.id}, Execution Status "
        rf"FAILED, Final task ID boom\. \*<{re.escape(link)}\|{re.escape(title)}>\*\n> Failed on task `boom` "
        rf"after {DURATION}", google["text"])


def test_an_execution_task_in_after_execution_reports_the_final_state(server, monkeypatch):
    monkeypatch.delenv("KESTRA_URL", raising=False)
    ex = run_fixture("valid/notifications/execution_after.yaml", inputs={"server": server})
    assert ex.state == "SUCCESS" and ex.taskrun("slack").state == "SUCCESS"
    slack = body_of("/services/T000/B000/slackafter")
    assert re.fullmatch(rf"\*\[tests\] test ➛ SUCCESS\*\n> Succeeded after {DURATION}", slack["text"])
    assert "accessory" not in slack["blocks"][0]  # no Kestra UI to link to
    assert slack["attachments"][0]["color"] == "good"
    assert slack["attachments"][0]["fields"][-1] == {"title": "Final task ID", "value": "hello", "short": True}

    # the first of the user's embeds also holds the summary (its description and footer win)
    discord = body_of("/api/webhooks/123/discordafter")
    assert discord["avatar_url"] == "https://example.org/kestra.png" and discord["tts"] is False
    [embed] = discord["embeds"]
    assert embed["title"] == "Nightly test" and embed["url"] == "https://example.org/runs"
    assert embed["color"] == (255 << 16) + (128 << 8)
    assert embed["author"] == {"name": "Kestra", "url": "https://example.org/runs",
                               "icon_url": "https://example.org/kestra.png"}
    assert embed["description"].startswith("Namespace: tests\nFlow ID: test\n")
    assert re.fullmatch(rf"Succeeded after {DURATION}", embed["footer"]["text"])


def test_an_execution_task_summarises_the_execution_of_its_flow_trigger(server):
    trigger = {"executionId": "7fRkQ2", "namespace": "prod", "flowId": "etl", "flowRevision": 3, "state": "FAILED"}
    ex = run_fixture("valid/notifications/execution_of_trigger.yaml", inputs={"server": server}, trigger=trigger)
    assert ex.state == "SUCCESS", messages(ex)
    assert body_of("/v1/spaces/AAA/messages?token=googletrigger") == {"text": (
        "Kestra Google notification: Namespace prod, Flow ID etl, Execution ID 7fRkQ2, Execution Status FAILED, "
        "Final task ID . *<|[prod] etl ➛ FAILED>*\n> Failed")}


def test_an_execution_task_refuses_an_execution_it_cannot_see(server):
    ex = run_fixture("valid/notifications/execution_unknown.yaml", inputs={"server": server})
    assert ex.state == "FAILED" and received("/webhookb2/teamsunknown") == []
    assert ex.taskrun("teams").message == ("executionId '4Xy9notHere': only the current execution, or the one "
                                           "that fired this execution's Flow trigger, can be summarised")


@pytest.mark.parametrize("path, expected", [
    ("fail", r"Failed http request with response code '500' and body:\ninternal trouble"),
    ("slow", r"timed out after PT0\.5S waiting for http://127\.0\.0\.1:\d+/…"),
])
def test_a_failing_webhook_fails_the_task_without_showing_its_url(server, path, expected):
    ex = run_fixture("valid/notifications/failing_webhook.yaml", inputs={"server": server}, values={"path": path})
    assert ex.state == "FAILED"
    run = ex.taskrun("notify")
    assert run.state == "FAILED"
    assert re.fullmatch(expected, "\n".join(messages(ex, "notify", "ERROR")))
    assert len(run.message) < 120
    assert leaks(ex, "XXsecretTOKENXX") == []


def test_an_unreachable_webhook_fails_the_task_without_showing_its_url():
    port = free_port()  # nothing listens there
    ex = run_fixture("valid/notifications/failing_webhook.yaml", inputs={"server": f"http://127.0.0.1:{port}"},
                     values={"path": "services"})
    assert ex.state == "FAILED"
    assert re.fullmatch(rf"cannot reach http://127\.0\.0\.1:{port}/…: .*refused.*", ex.taskrun("notify").message)
    assert leaks(ex, "XXsecretTOKENXX") == []


# -- SendGrid -------------------------------------------------------------------------------------

@pytest.fixture
def sendgrid_key():
    nb_orchestra.set_secret("SENDGRID_KEY", SENDGRID_KEY)
    yield SENDGRID_KEY
    nb_orchestra.set_secret("SENDGRID_KEY", None)


def test_sendgrid_posts_the_v3_mail_to_the_configured_api(server, sendgrid_key, monkeypatch):
    monkeypatch.setenv("NB_ORCHESTRA_SENDGRID_URL", f"{server}/sendgrid/v3/")
    ex = run_fixture("valid/notifications/sendgrid.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    [request] = received("/sendgrid/v3/mail/send")
    assert request["headers"]["Authorization"] == f"Bearer {SENDGRID_KEY}"
    assert json.loads(request["body"]) == {
        "from": {"email": "robot@example.org"},
        "personalizations": [{"to": [{"email": "ada@example.org"}, {"email": "bob@example.org"}],
                              "cc": [{"email": "carol@example.org"}], "subject": "Report for test"}],
        "content": [{"type": "text/plain", "value": "See attached."},
                    {"type": "text/html", "value": "<p>See attached.</p>"}],
        "attachments": [{"content": base64.b64encode(b"a,b\n1,2\n").decode(), "type": "text/csv",
                         "filename": "report.csv", "disposition": "attachment"}],
    }
    out = ex.outputs["send"]
    assert out["statusCode"] == 202 and out["body"] == "" and out["headers"]["x-message-id"] == "msg-1"


def test_a_refused_sendgrid_call_fails_without_the_api_key(server, sendgrid_key, monkeypatch):
    monkeypatch.setenv("NB_ORCHESTRA_SENDGRID_URL", f"{server}/fail/v3")
    ex = run_fixture("valid/notifications/sendgrid.yaml")
    assert ex.state == "FAILED"
    assert ex.taskrun("send").message == "Failed http request with response code '500' and body:"
    assert received("/fail/v3/mail/send")[-1]["headers"]["Authorization"] == f"Bearer {SENDGRID_KEY}"
    assert leaks(ex, SENDGRID_KEY) == []


# -- mail over SMTP -------------------------------------------------------------------------------

class Inbox:
    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def body_text(mail, subtype: str) -> str:
    """The text of a mail's plain or HTML body, with the line ends SMTP carried (CRLF) made plain."""
    return mail.get_body((subtype,)).get_content().replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp(**options):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate,
                            auth_exclude_mechanism=["LOGIN"], **options)
    controller.start()
    return controller, port, inbox


@pytest.fixture
def smtp():
    controller, port, inbox = start_smtp(auth_require_tls=False)
    yield port, inbox
    controller.stop()


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory):
    """A TLS context with a self-signed certificate for 127.0.0.1 (made by openssl)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def smtp_password():
    yield SMTP_PASSWORD
    nb_orchestra.set_secret("SMTP_PASSWORD", None)


def test_mail_send_delivers_text_html_and_a_stored_attachment(smtp, smtp_password):
    port, inbox = smtp
    nb_orchestra.set_secret("SMTP_PASSWORD", smtp_password)
    ex = run_fixture("valid/notifications/mail.yaml", inputs={"port": port})
    assert ex.state == "SUCCESS", messages(ex)
    [envelope] = inbox.envelopes
    assert inbox.logins == ["robot"]
    assert envelope.mail_from == "robot@example.org"
    assert envelope.rcpt_tos == ["ada@example.org", "bob@example.org", "carol@example.org"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "Report for test"
    assert mail["From"] == "Kestra Robot <robot@example.org>"
    assert mail["To"] == "ada@example.org, Bob <bob@example.org>" and mail["Cc"] == "carol@example.org"
    assert body_text(mail, "plain") == "The report of tests is attached.\n"
    assert body_text(mail, "html") == "<p>The report is <b>attached</b>.</p>\n"
    [attachment] = list(mail.iter_attachments())
    stored = internal_storage.to_path(ex.outputs["report"]["uri"]).read_bytes()
    assert attachment.get_filename() == "report.csv" and attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == stored == "city,count\nParis,3\nZürich,4\n".encode()
    assert leaks(ex, SMTP_PASSWORD) == []


def test_a_refused_smtp_login_fails_without_the_password(smtp):
    port, inbox = smtp
    nb_orchestra.set_secret("SMTP_PASSWORD", "wrong-" + SMTP_PASSWORD)
    try:
        ex = run_fixture("valid/notifications/mail.yaml", inputs={"port": port})
    finally:
        nb_orchestra.set_secret("SMTP_PASSWORD", None)
    assert ex.state == "FAILED" and inbox.envelopes == []
    assert ex.taskrun("mail").message.startswith(f"SMTP authentication of 'robot' refused by 127.0.0.1:{port}: 535")
    assert leaks(ex, SMTP_PASSWORD) == []


def test_mail_execution_in_errors_mails_the_summary(smtp):
    port, inbox = smtp
    ex = run_fixture("valid/notifications/mail_execution.yaml", inputs={"port": port})
    assert ex.state == "FAILED" and ex.taskrun("mail").state == "SUCCESS"
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["oncall@example.org"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == f"Execution {ex.id} failed"
    assert body_text(mail, "plain") == "Please view this email in a modern email client\n"
    html = body_text(mail, "html")
    assert '[tests] test ➛ <span style="color: red;">FAILED</span>' in html
    assert re.search(rf"Failed on task <code>boom</code> after {DURATION}", html)
    assert f"<strong>Execution :</strong> {ex.id}</p>" in html
    assert "<strong>Final task ID :</strong> boom</p>" in html
    assert "<p>Someone &lt;please&gt; look</p>" in html


@pytest.mark.parametrize("strategy", ["SMTP_TLS", "SMTPS"])
def test_mail_over_tls_trusts_the_listed_hosts_only(server_tls, smtp_password, strategy):
    options = {"tls_context": server_tls, "require_starttls": True} if strategy == "SMTP_TLS" \
        else {"ssl_context": server_tls, "auth_require_tls": False}  # aiosmtpd cannot tell TLS from the start
    controller, port, inbox = start_smtp(**options)
    nb_orchestra.set_secret("SMTP_PASSWORD", smtp_password)
    try:
        trusted = run_fixture("valid/notifications/mail_tls.yaml", inputs={"port": port},
                              values={"strategy": strategy, "trusted": '["127.0.0.1"]'})
        refused = run_fixture("valid/notifications/mail_tls.yaml", inputs={"port": port},
                              values={"strategy": strategy, "trusted": "[]"})
    finally:
        controller.stop()
    assert trusted.state == "SUCCESS", messages(trusted)
    [envelope] = inbox.envelopes
    assert inbox.logins == ["robot"] and envelope.rcpt_tos == ["ada@example.org"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "Over TLS" and body_text(mail, "plain") == "Sealed.\n"
    assert refused.state == "FAILED"  # a self-signed certificate, not trusted
    assert refused.taskrun("mail").message == f"TLS with 127.0.0.1:{port} failed: CERTIFICATE_VERIFY_FAILED"
    assert leaks(trusted, SMTP_PASSWORD) == leaks(refused, SMTP_PASSWORD) == []
