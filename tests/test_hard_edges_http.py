"""Hostile HTTPS servers (issue 14, "bounded time and memory for every network
conversation"): an answer that never ends or trickles stops at its size or time limit
with a plain error, for every client of the session (admin API, Graph, MSAL)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from tests.hostile_servers import endless_chunks, hostile_server, https_answer, trickle
from wizard.core.errors import NetworkError, ServiceTimeout
from wizard.services.http import WizardSession, send


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, str(ca_path)


def test_an_endless_answer_stops_at_the_size_limit(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca = tls
    with hostile_server(https_answer(context, endless_chunks)) as server:
        with WizardSession(max_answer_bytes=1024 * 1024) as session:
            session.verify = ca
            with pytest.raises(NetworkError) as caught:
                send(session, "GET", f"https://127.0.0.1:{server.port}/", service="Exchange")
    assert "far larger than expected" in caught.value.what
    assert "AnswerTooLarge" in caught.value.detail


def test_a_trickling_answer_stops_at_the_time_limit(tls: tuple[ssl.SSLContext, str]) -> None:
    # 20 bytes a second never trips the per-byte read timeout; the whole answer's does.
    context, ca = tls
    with hostile_server(https_answer(context, trickle)) as server:
        with WizardSession(answer_deadline=0.3) as session:
            session.verify = ca
            with pytest.raises(ServiceTimeout) as caught:
                send(session, "GET", f"https://127.0.0.1:{server.port}/", service="Graph")
    assert "did not answer in time" in caught.value.what
