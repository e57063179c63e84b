"""Shared fixtures: a bedrock-double process for the whole session.

The binary comes from env BEDROCK_DOUBLE_BIN (default
<repo>/target/debug/bedrock-double). It is started with --port 0 and its first
stdout line, ``listening on http://127.0.0.1:PORT``, says where it went; we
block on reading that line instead of sleeping.
"""

import contextlib
import json
import os
import pathlib
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import dataclass

import boto3
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "listening on "

# The double's default credentials (AWS documentation example keys).
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"

# Loopback traffic must never go through a proxy from the environment.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"


@dataclass
class Double:
    url: str
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY
    region: str = REGION

    def stats(self) -> dict:
        """GET /__double/stats: requests that reached an operation handler."""
        with urllib.request.urlopen(f"{self.url}/__double/stats", timeout=10) as response:
            return json.load(response)


def run_double(*args):
    """A bedrock-double process with extra arguments, stopped on exit."""
    binary = os.environ.get("BEDROCK_DOUBLE_BIN", str(REPO / "target" / "debug" / "bedrock-double"))
    process = subprocess.Popen(
        [binary, "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith(PREFIX):
            raise RuntimeError(f"bedrock-double did not start (first line: {line!r})")
        yield Double(url=line[len(PREFIX):].strip())
    finally:
        process.terminate()
        code = process.wait(timeout=10)
    # The binary's contract: SIGTERM is a clean exit.
    assert code == 0, f"bedrock-double exited with {code}"


@pytest.fixture(scope="session")
def double():
    yield from run_double()


@contextlib.contextmanager
def account_data_retention(double, mode):
    """The double's account set to data retention `mode` (through boto3's
    PutAccountDataRetention), and back to a fresh account's `inherit` after."""
    client = boto3.client(
        "bedrock",
        region_name=double.region,
        endpoint_url=double.url,
        aws_access_key_id=double.access_key_id,
        aws_secret_access_key=double.secret_access_key,
    )
    client.put_account_data_retention(mode=mode)
    try:
        yield client
    finally:
        client.put_account_data_retention(mode="inherit")


# The model the `denying_double` account has no access to.
DENIED_MODEL = "anthropic.claude-sonnet-5-5"


@pytest.fixture(scope="session")
def denying_double():
    """A double whose account may not call DENIED_MODEL."""
    yield from run_double("--deny-model", DENIED_MODEL)


@dataclass
class Proxy:
    url: str
    key: str
    home: pathlib.Path


def ledger_rows(proxy, select, at_least):
    """What `select` reads from the proxy's ledger, polled until it has `at_least` rows.

    An answer's row is safe when the answer ends (in the ledger's journal) and
    reaches SQLite a moment later, from a background writer.
    """
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(proxy.home / "ledger.sqlite3") as db:
            rows = list(db.execute(select))
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture(scope="session")
def proxy(double, tmp_path_factory):
    """`clawrouter serve` on a free port, with the double as its Bedrock."""
    binary = os.environ.get("CLAWROUTER_BIN", str(REPO / "target" / "debug" / "clawrouter"))
    home = tmp_path_factory.mktemp("clawrouter-home")
    key = "sk-test-python-0123456789"
    env = {
        **os.environ,
        "CLAWROUTER_HOME": str(home),
        "CLAWROUTER_API_KEY": key,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "AWS_ENDPOINT_URL_BEDROCK": double.url,
        "AWS_ACCESS_KEY_ID": double.access_key_id,
        "AWS_SECRET_ACCESS_KEY": double.secret_access_key,
        "AWS_REGION": double.region,
    }
    process = subprocess.Popen([binary, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        if not line.startswith(PREFIX):
            raise RuntimeError(f"clawrouter serve did not start (first line: {line!r})")
        yield Proxy(url=line[len(PREFIX):].strip(), key=key, home=home)
    finally:
        process.terminate()
        code = process.wait(timeout=15)
    assert code == 0, f"clawrouter serve exited with {code} on SIGTERM"
