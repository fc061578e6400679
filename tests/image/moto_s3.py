"""A real S3 API on 127.0.0.1 for the image tests: moto in server mode, with its IAM checks on.

It hands out workspace credentials the way the OpenHexa App does (``files/backends/s3.py``):
the App's own IAM user assumes a role and gives the notebook server the session's access key,
secret and session token. With IAM checks on, moto refuses what AWS refuses: a wrong secret,
a missing or wrong session token, an action the role does not allow.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from unittest import mock
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import boto3
import requests
from moto.iam.access_control import IAMRequestBase
from moto.server import ThreadedMotoServer

from harness.net import free_port

# What the App's assumed role allows on the workspace bucket, and nothing else.
WORKSPACE_ACTIONS = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str = ""

    @property
    def secrets(self) -> list[str]:
        return [value for value in (self.access_key_id, self.secret_access_key, self.session_token) if value]


class MotoS3:
    """moto's server on a free port of 127.0.0.1, one workspace role, started and stopped by a fixture."""

    region = "eu-central-1"

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.app: Credentials | None = None  # the App's own IAM user
        self.role_arn = ""
        self._canonical_queries = mock.patch.object(
            IAMRequestBase, "_create_aws_request", _with_canonical_query(IAMRequestBase._create_aws_request)
        )

    def start(self, buckets: list[str]) -> MotoS3:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        self._canonical_queries.start()
        self._server.start()
        self._set_auth(float("inf"))  # set up as an administrator would, then check every request
        anyone = Credentials("AKIAADMINISTRATOR000", "set-up")
        iam = self._client("iam", anyone)
        iam.create_user(UserName="openhexa-app")
        iam.put_user_policy(
            UserName="openhexa-app",
            PolicyName="everything",
            PolicyDocument=_policy(["*"], ["*"]),
        )
        key = iam.create_access_key(UserName="openhexa-app")["AccessKey"]
        self.app = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        resources = [f"arn:aws:s3:::{bucket}{suffix}" for bucket in buckets for suffix in ("", "/*")]
        role = iam.create_role(
            RoleName="openhexa-workspaces",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
                }
            ),
        )
        iam.put_role_policy(
            RoleName="openhexa-workspaces",
            PolicyName="workspace-buckets",
            PolicyDocument=_policy(WORKSPACE_ACTIONS, resources),
        )
        self.role_arn = role["Role"]["Arn"]
        s3 = self.client()
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
        self._set_auth(0)
        return self

    def workspace_credentials(self, bucket: str) -> Credentials:
        """A session for one workspace, as the App's ``get_bucket_mount_config`` makes it."""
        sts = self._client("sts", self.app)
        answer = sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"openhexa-workspace-{bucket}",
            Policy=_policy(WORKSPACE_ACTIONS, [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]),
            DurationSeconds=3600,
        )["Credentials"]
        return Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])

    def client(self, credentials: Credentials | None = None):
        """An S3 client, as the App (its IAM user) unless other credentials are given."""
        return self._client("s3", credentials or self.app)

    def _client(self, service: str, credentials: Credentials):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token or None,
        )

    def _set_auth(self, unchecked_requests: float):
        """moto checks IAM after this many more requests (0: from now on; inf: never)."""
        response = requests.post(f"{self.endpoint}/moto-api/reset-auth", data=str(unchecked_requests), timeout=10)
        response.raise_for_status()

    def stop(self):
        try:
            self._set_auth(float("inf"))  # moto's settings are the process's: leave them as found
        finally:
            self._server.stop()
            self._canonical_queries.stop()


def _policy(actions: list[str], resources: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
    )


def _with_canonical_query(create_aws_request):
    """moto's signature check, with the query string canonicalised as AWS does it.

    SigV4 signs each query name and value URI-encoded; AWS decodes what arrives and encodes it
    again, so a client may send ``delimiter=/`` and sign ``delimiter=%2F`` (s3fs does). moto signs
    the query exactly as it arrived and would refuse every such listing.
    """

    def create(self):
        parts = urlsplit(self._path)
        if parts.query:
            pairs = [pair.partition("=") for pair in parts.query.split("&")]
            query = "&".join(f"{_encode(name)}={_encode(value)}" for name, _, value in pairs)
            self._path = urlunsplit(parts._replace(query=query))
        return create_aws_request(self)

    return create


def _encode(text: str) -> str:
    return quote(unquote(text), safe="-_.~")
