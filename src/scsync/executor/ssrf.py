"""The SSRF guard for execution-ended webhooks.

A webhook URL is user input pointing the executor at any address.  The check
happens on the socket itself, after name resolution, in the connection class
`requests` uses, so a name that resolves to a public address during a check
and to 127.0.0.1 a moment later (DNS rebinding) is still refused.  Redirects
are never followed and proxies from the environment are ignored, since either
would move the request past the check.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # CGNAT: is_private is False for it, yet it is never the internet
        "169.254.169.254/32",  # cloud metadata, named although link-local covers it
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "64:ff9b::/96",  # NAT64 prefix: checked again through the IPv4 it embeds
    )
)


class AddressRefused(OSError):
    """The webhook host resolves to an address the guard refuses."""


def refusal(address: str) -> str | None:
    """Why an address is refused, or None when it may be contacted."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (why := refusal(str(embedded))):
            return why
    for network in _BLOCKED_NETWORKS:
        if ip in network and not str(network).startswith("64:ff9b"):
            return f"{ip} is in a blocked network ({network})"
    kinds = {
        "loopback": ip.is_loopback, "private": ip.is_private, "link-local": ip.is_link_local,
        "multicast": ip.is_multicast, "unspecified": ip.is_unspecified,
        "reserved": ip.is_reserved,
    }
    for kind, hit in kinds.items():
        if hit:
            return f"{ip} is a {kind} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def _guarded_connect(conn: HTTPConnection, allowed_hosts: frozenset[str]) -> socket.socket:
    """Resolve, keep only permitted addresses, connect, then check the peer once more."""
    host = conn.host.strip("[]").lower()
    exempt = host in allowed_hosts
    infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
    reasons: list[str] = []
    last_error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        if not exempt and (why := refusal(str(sockaddr[0]))):
            reasons.append(why)
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if isinstance(conn.timeout, int | float):
                sock.settimeout(conn.timeout)
            sock.connect(sockaddr)
            peer = str(sock.getpeername()[0])
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        if not exempt and (why := refusal(peer)):
            sock.close()
            raise AddressRefused(f"webhook host {host} connected to a refused address: {why}")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    if last_error is not None:
        raise last_error
    raise AddressRefused(f"webhook host {host} refused: " + "; ".join(sorted(set(reasons))))


class _GuardedAdapter(HTTPAdapter):
    """Swaps urllib3's connection classes for ones that connect through the guard."""

    def __init__(self, allowed_hosts: frozenset[str]) -> None:
        self._allowed_hosts = allowed_hosts
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        allowed = self._allowed_hosts

        class GuardedHTTPConnection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _guarded_connect(self, allowed)

        class GuardedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _guarded_connect(self, allowed)

        class GuardedHTTPPool(HTTPConnectionPool):
            ConnectionCls = GuardedHTTPConnection

        class GuardedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = GuardedHTTPSConnection

        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block,
                                       **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPPool, "https": GuardedHTTPSPool,
        }


def guarded_session(allowed_hosts: frozenset[str]) -> requests.Session:
    """A session whose every connection passes the guard; allowed_hosts are exempt by name."""
    session = requests.Session()
    session.trust_env = False  # an HTTP(S)_PROXY would connect on our behalf, past the check
    adapter = _GuardedAdapter(allowed_hosts)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def find_refusal(exc: BaseException) -> AddressRefused | None:
    """The AddressRefused buried in what requests raises, if that was the cause."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AddressRefused):
            return current
        stack += [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *current.args]
    return None
