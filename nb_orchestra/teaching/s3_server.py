"""A local Amazon S3 for the S3 tasks: moto's server, in this process, on a free port of 127.0.0.1,
so flows create buckets, upload, list and download offline.

It sets nothing globally: give its ``url`` to the tasks as ``endpointOverride`` (the course's
``pluginDefaults`` on ``io.kestra.plugin.aws``)::

    with S3Server() as s3:
        key_id, secret = s3.access_key()        # a real IAM user's key on this server
        s3.require_signatures()                 # from now on, wrong keys are refused

Until ``require_signatures()`` any key is accepted, as moto does by default. moto keeps its state
per process: two servers of one process share their buckets and the signature setting, which
``stop()`` turns back off.
"""

from __future__ import annotations

import json
import urllib.request
from types import TracebackType
from typing import Any

_EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class S3Server:
    """A running moto server: ``url`` (``http://127.0.0.1:PORT``), ``stop()``; a context manager."""

    def __init__(self, port: int = 0, region: str = "us-east-1") -> None:
        from moto.server import ThreadedMotoServer

        self.region = region
        self._signatures = False
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()

    @property
    def url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def client(self, service: str = "s3", key_id: str = "testing", secret: str = "testing") -> Any:
        """A boto3 client of ``service`` on this server."""
        import boto3  # type: ignore[import-untyped]

        return boto3.client(service, endpoint_url=self.url, region_name=self.region,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def access_key(self, user: str = "student") -> tuple[str, str]:
        """A new access key (id, secret) of IAM user ``user`` (made with every permission), which
        this server accepts once signatures are required. Call it before ``require_signatures``."""
        iam = self.client("iam")
        if user not in {known["UserName"] for known in iam.list_users()["Users"]}:
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="everything", PolicyDocument=json.dumps(_EVERYTHING))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def require_signatures(self, required: bool = True) -> None:
        """Check every request's signature against the IAM keys of this server (moto's IAM
        authentication, through its ``/moto-api/reset-auth``), or stop checking them."""
        self._signatures = required
        count = b"0" if required else b"inf"
        request = urllib.request.Request(f"{self.url}/moto-api/reset-auth", data=count, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def stop(self) -> None:
        if self._signatures:  # moto's setting is the process's: leave it as found
            self.require_signatures(False)
        self._server.stop()

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"S3Server({self.url!r})"
