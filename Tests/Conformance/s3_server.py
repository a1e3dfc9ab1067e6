"""moto in server mode as the S3 endpoint the upload tests write to, on 127.0.0.1, with
signatures checked: an IAM user with a key pair allowed everything, and a bucket."""
import json
import os
import socket
import subprocess
import sys
import time

import boto3


class S3Server:
    def __init__(self, bucket="recordings"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # The first four calls (the set-up below) are let through; every one after is checked.
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        setup = dict(endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="egress")
        key = iam.create_access_key(UserName="egress")["AccessKey"]
        iam.put_user_policy(UserName="egress", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        boto3.client("s3", **setup).create_bucket(Bucket=bucket)
        self.bucket, self.access_key, self.secret = bucket, key["AccessKeyId"], key["SecretAccessKey"]
        self.client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                                   aws_access_key_id=self.access_key, aws_secret_access_key=self.secret)

    def upload(self, stubs, **fields):
        """An S3Upload message for this server's bucket (fields override)."""
        values = dict(access_key=self.access_key, secret=self.secret, region="us-east-1", endpoint=self.endpoint,
                      bucket=self.bucket, force_path_style=True)
        values.update(fields)
        return stubs.egress.S3Upload(**values)

    def stop(self):
        self.process.kill()
        self.process.wait()
