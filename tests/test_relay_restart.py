"""The relay process killed with messages queued, then started again: each message is
delivered exactly once. The relay runs as the service runs it (`main.py relay run`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.file_keyring import PATH_ENV, FileKeyring
from tests.relay_helpers import (
    SubmissionDoor,
    allow_smtp_auth,
    behind_door,
    device_client,
    enroll,
    free_port,
    relay_config,
    scan,
    subjects,
    with_scanner,
)
from tests.sandbox_fixtures import wait_for
from wizard.sandbox.server import Sandbox
from wizard.services.relay import save_config
from wizard.services.secrets import SecretStore

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


class RelayProcess:
    def __init__(self, config_path: Path, keyring_file: Path, out: Path) -> None:
        self.config_path = config_path
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
            PATH_ENV: str(keyring_file),
        }
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        with open(self.out, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "main.py"),
                    "relay",
                    "run",
                    "--config",
                    str(self.config_path),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

        def answering() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(self.out.read_text(errors="replace"))
            try:
                with device_client(port):
                    return True
            except OSError:
                return False

        assert wait_for(answering, START_TIMEOUT), self.out.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def door(sandbox: Sandbox) -> Iterator[SubmissionDoor]:
    submission = sandbox.smtp.submission
    found = SubmissionDoor(submission.host, submission.port)
    yield found
    found.close()


def test_killed_with_messages_queued_then_restarted_delivers_each_once(
    sandbox: Sandbox, tmp_path: Path, door: SubmissionDoor
) -> None:
    keyring_file = tmp_path / "keyring.json"
    store = SecretStore(FileKeyring(keyring_file))
    allow_smtp_auth(sandbox)
    port = free_port()
    base = relay_config(sandbox, tmp_path / "data", target=behind_door(sandbox, door))
    config, device, password = with_scanner(replace(base, submission_port=port), store)
    enroll(sandbox, config, store)
    config_path = save_config(config, tmp_path / "relay.json")
    relay = RelayProcess(config_path, keyring_file, tmp_path / "relay-out.txt")
    try:
        relay.start(port)
        with device_client(port) as smtp:
            smtp.login(device.username, password)
            for n in range(3):
                assert smtp.send_message(scan(f"Queued {n}")) == {}
        queue = tmp_path / "data" / "queue"
        assert len(list(queue.glob("*.msg"))) == 3
        relay.kill()
        # Killed without a chance to tidy up: the queue on disk is all there is.
        assert len(list(queue.glob("*.msg"))) == 3
        assert subjects(sandbox) == []
        door.open()
        relay.start(port)
        assert wait_for(lambda: len(subjects(sandbox)) >= 3, 20)
        assert wait_for(lambda: not list(queue.glob("*.msg")))
        assert relay.terminate() == 0
        assert Counter(subjects(sandbox)) == {"Queued 0": 1, "Queued 1": 1, "Queued 2": 1}
        lines = (tmp_path / "data" / "delivered.log").read_text().splitlines()
        assert sorted(json.loads(line)["id"] for line in lines) == sorted(
            {json.loads(line)["id"] for line in lines}
        )
        log = (tmp_path / "data" / "relay.log").read_text()
        assert "3 message(s) in the queue" in log and "relay stopped" in log
        assert password not in log
    finally:
        relay.close()
