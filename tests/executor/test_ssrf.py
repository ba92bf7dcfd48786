"""The webhook SSRF guard: which addresses are refused, and that the check sits on the socket."""

from __future__ import annotations

import pytest
import requests

from scsync.executor.ssrf import find_refusal, guarded_session, refusal

from .conftest import WebhookReceiver


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1",                      # loopback
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "fc00::1",    # private
    "169.254.10.10", "fe80::1",                            # link-local
    "169.254.169.254", "fd00:ec2::254",                    # cloud metadata
    "100.64.0.1", "100.127.255.254",                       # CGNAT
    "0.0.0.0", "::",  # noqa: S104 - unspecified, refused, not bound
    "224.0.0.1", "ff02::1",                                # multicast
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::7f00:1", "2002:7f00:1::1",                   # NAT64 and 6to4 of loopback
])
def test_refused(address: str) -> None:
    assert refusal(address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def test_names_are_checked_after_resolution(webhook_receiver: WebhookReceiver) -> None:
    url = webhook_receiver.url.replace("127.0.0.1", "localhost")
    with guarded_session(frozenset()) as session, pytest.raises(requests.ConnectionError) as err:
        session.post(url, data=b"{}", timeout=2)
    refused = find_refusal(err.value)
    assert refused is not None
    assert "loopback" in str(refused)
    assert webhook_receiver.received() == []


def test_allow_list_opens_a_named_host(webhook_receiver: WebhookReceiver) -> None:
    with guarded_session(frozenset({"127.0.0.1"})) as session:
        answer = session.post(webhook_receiver.url, data=b"{}", timeout=2)
        answer.close()
    assert answer.status_code == 200
    assert len(webhook_receiver.received()) == 1
