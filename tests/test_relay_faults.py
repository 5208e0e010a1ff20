"""The relay loses nothing: the cloud unreachable, a revoked sign-in, Exchange's pace,
and a message that cannot be delivered for good (failed folder, admin report)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from tests.m365_helpers import SCANNER
from tests.relay_helpers import (
    INSIDE,
    OUTSIDE,
    Clock,
    SubmissionDoor,
    allow_smtp_auth,
    behind_door,
    delivered,
    device_client,
    enroll,
    relay_config,
    scan,
    subjects,
    with_scanner,
)
from tests.sandbox_fixtures import wait_for
from wizard.core.relay import RelayLimits
from wizard.sandbox.server import Sandbox
from wizard.services.relay import RelayServer, relay_status
from wizard.services.relay.status import TokenState
from wizard.services.secrets import SecretStore


def _send(port: int, username: str, password: str, *subjects: str) -> None:
    with device_client(port) as smtp:
        smtp.login(username, password)
        for subject in subjects:
            assert smtp.send_message(scan(subject)) == {}


def test_submission_down_then_back(
    sandbox: Sandbox, tmp_path: Path, expected_warnings: list[logging.LogRecord]
) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    submission = sandbox.smtp.submission
    door = SubmissionDoor(submission.host, submission.port)
    try:
        base = relay_config(sandbox, tmp_path, target=behind_door(sandbox, door))
        config, device, password = with_scanner(base, store)
        enroll(sandbox, config, store)
        with RelayServer(config, secrets=store, backoff=lambda n: 0.05) as relay:
            _send(relay.port(), device.username, password, "Down 1", "Down 2")
            # Accepted (250) and kept while the cloud cannot be reached.
            assert wait_for(lambda: "unreachable" in relay.status().last_error)
            assert relay.status().queued == 2
            assert wait_for(lambda: relay_status(config).queued == 2)
            door.open()
            assert wait_for(lambda: relay.status().delivered == 2)
            assert relay.status().queued == 0
        counts = Counter(subjects(sandbox))
        assert counts == {"Down 1": 1, "Down 2": 1}
        assert any("not delivered yet" in r.getMessage() for r in expected_warnings)
    finally:
        door.close()


def test_a_revoked_sign_in_holds_the_mail_until_the_mailbox_signs_in_again(
    sandbox: Sandbox, tmp_path: Path, expected_warnings: list[logging.LogRecord]
) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path), store)
    enroll(sandbox, config, store)
    # "Revoke sessions" in Entra: the refresh token the relay keeps is dead.
    assert sandbox.identity.revoke_refresh_tokens(SCANNER) >= 1
    with RelayServer(config, secrets=store) as relay:
        _send(relay.port(), device.username, password, "Revoked")
        assert wait_for(lambda: relay.status().tokens[SCANNER] == TokenState.REFUSED.value)
        status = relay.status()
        assert "no longer accepts the relay's sign-in" in status.last_error
        assert "nothing is lost" in status.last_error
        assert status.queued == 1 and status.failed == 0
        assert delivered(sandbox, "Revoked") == []
        # The Relay step signs the mailbox in again; the relay sends what it held.
        enroll(sandbox, config, store)
        relay.retry_now()
        assert wait_for(lambda: delivered(sandbox, "Revoked") == [OUTSIDE])
        assert wait_for(lambda: relay.status().tokens[SCANNER] == TokenState.OK.value)
    assert Counter(subjects(sandbox)) == {"Revoked": 1}
    assert any("holding the mail" in r.getMessage() for r in expected_warnings)


def test_a_mailbox_sends_at_most_its_per_minute_limit(sandbox: Sandbox, tmp_path: Path) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    clock = Clock()
    limits = RelayLimits(messages_per_minute=2)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path, limits=limits), store)
    enroll(sandbox, config, store)
    with RelayServer(config, secrets=store, clock=clock) as relay:
        _send(relay.port(), device.username, password, "Pace 1", "Pace 2", "Pace 3")
        assert wait_for(lambda: relay.status().delivered == 2)
        # The third waits in the queue for the next minute; nothing is refused.
        assert relay.status().queued == 1
        assert delivered(sandbox, "Pace 3") == []
        clock.advance(61)
        relay.retry_now()
        assert wait_for(lambda: delivered(sandbox, "Pace 3") == [OUTSIDE])
    assert Counter(subjects(sandbox)) == {"Pace 1": 1, "Pace 2": 1, "Pace 3": 1}


def test_a_message_that_cannot_go_lands_in_failed_with_its_reason_and_a_report(
    sandbox: Sandbox, tmp_path: Path, expected_warnings: list[logging.LogRecord]
) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    clock = Clock()
    submission = sandbox.smtp.submission
    door = SubmissionDoor(submission.host, submission.port)
    try:
        base = relay_config(
            sandbox,
            tmp_path,
            target=behind_door(sandbox, door),
            limits=RelayLimits(give_up_after_seconds=3600),
            admin_report_address=INSIDE,
        )
        config, device, password = with_scanner(base, store)
        enroll(sandbox, config, store)
        with RelayServer(config, secrets=store, clock=clock, backoff=lambda n: 1.0) as relay:
            _send(relay.port(), device.username, password, "Too late")
            assert wait_for(lambda: "unreachable" in relay.status().last_error)
            clock.advance(3601)
            relay.retry_now()
            assert wait_for(lambda: relay.status().failed == 1)
            [reason_file] = (tmp_path / "failed").glob("*.reason.json")
            reason = json.loads(reason_file.read_text())["reason"]
            assert reason.startswith("gave up after") and "unreachable" in reason
            assert (tmp_path / "failed" / f"{reason_file.name.split('.')[0]}.msg").exists()
            # The admin's report waits in the queue like any message, and goes when
            # the cloud is back.
            assert wait_for(lambda: relay.status().queued == 1)
            door.open()
            relay.retry_now()
            assert wait_for(
                lambda: delivered(sandbox, "Relay: a message could not be delivered") == [INSIDE]
            )
        assert delivered(sandbox, "Too late") == []
        assert any("failed for good" in r.getMessage() for r in expected_warnings)
    finally:
        door.close()


def test_troubleshoot_can_ask_whether_the_sign_in_still_works(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from wizard.services.relay import probe_token

    store = SecretStore()
    config, _, _ = with_scanner(relay_config(sandbox, tmp_path), store)
    assert probe_token(config, store, SCANNER)[0] == "missing"
    enroll(sandbox, config, store)
    assert probe_token(config, store, SCANNER)[0] == "ok"
    sandbox.identity.revoke_refresh_tokens(SCANNER)
    state, why = probe_token(config, store, SCANNER)
    assert state == "refused" and "Sign in as" in why
