"""Fixtures: a fresh embedded store per test, a real `vecstore serve` for the remote tests,
and a leak check of libvecstore's allocations around every test."""
import gc
import os
import signal
import subprocess
import urllib.request

import numpy as np
import pytest

import vecstore
from vecstore import _vecstore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli_path():
    p = os.environ.get("VS_CLI") or os.path.join(ROOT, "build", "vecstore")
    if not os.path.exists(p):
        pytest.fail(f"the vecstore CLI is needed for the remote tests: {p} (build it, or set VS_CLI)")
    return p


@pytest.fixture
def store(tmp_path):
    s = vecstore.open(str(tmp_path / "db"), fsync="off")
    yield s
    s.close()


@pytest.fixture
def rng():
    return np.random.default_rng(int(os.environ.get("VS_TEST_SEED", "12345")))


@pytest.fixture(autouse=True)
def no_leaks():
    """Everything a test allocated in libvecstore is freed once its objects are gone (the
    library counts its live allocations; stores are shared per process and closed last)."""
    gc.collect()
    before = _vecstore.live_allocations()
    yield
    gc.collect()
    after = _vecstore.live_allocations()
    assert after == before, f"libvecstore allocations: {before} before the test, {after} after"


class Server:
    def __init__(self, path, *args):
        self.proc = subprocess.Popen([cli_path(), "serve", path, "--port", "0", "--fsync", "off", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = None
        for line in self.proc.stdout:
            if line.startswith("listening "):
                port = int(line.split()[1])
                break
        if port is None:
            self.proc.kill()
            raise RuntimeError("vecstore serve did not start")
        self.url = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(self.url + "/readyz", timeout=10).read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        assert rc == 0, f"vecstore serve exited with {rc}"


@pytest.fixture
def server(tmp_path):
    s = Server(str(tmp_path / "served"))
    yield s
    s.stop()


@pytest.fixture
def remote(server):
    c = vecstore.connect(server.url)
    yield c
    c.close()
