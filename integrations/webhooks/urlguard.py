"""What a webhook may call: an https URL whose host resolves to public addresses only (the SSRF guard).

A webhook makes the clinic's server send requests to a URL that someone
typed in, so that URL must not reach what only the server can reach: this
machine, the private network, a cloud's metadata service. `vet` resolves
the host once and refuses it unless every address it resolves to is a
public unicast one; the delivery then connects to those vetted addresses
(never resolving again), so a name that changes its answer between the
check and the connection (DNS rebinding) gains nothing. It runs when a
subscription is saved and again before every delivery, since DNS can change.

With the setting `WEBHOOK_ALLOW_PRIVATE` on (local runs, tests) any address
and plain http are allowed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"https": 443, "http": 80}

# IPv6 ranges that carry an IPv4 address in their last 32 bits: the IPv4 address decides.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv4-compatible IPv6 (deprecated, RFC 4291): never a receiver's address.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# The metadata service of the big clouds (also link-local, so refused twice over; named for the reader).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


class UnsafeURL(ValueError):
    """A URL a webhook may not call; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (`addresses`, resolved once) and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[IPAddress, ...]


def is_public(address: IPAddress) -> bool:
    """Whether `address` is a public unicast address (no loopback, private, link-local, CGNAT, reserved, ...)."""
    if address in METADATA or address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in IPV4_COMPATIBLE:
            return False
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None and not is_public(embedded):
            return False
    return True


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address `host` resolves to, in the resolver's order (an address literal is itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"{host} does not resolve to any address; check the host name.") from exc
    addresses: list[IPAddress] = []
    for family, *_, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"{host} does not resolve to any address; check the host name.")
    return tuple(addresses)


def parse(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL a webhook may have, before any resolving."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("Enter a valid URL, e.g. https://hooks.example.com/clinic.") from exc
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise UnsafeURL("Use an https:// URL: deliveries carry bookings and are only sent encrypted.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Leave the user name and password out of the URL; deliveries are signed instead.")
    try:
        # A name in another script goes on the wire in its ASCII (IDNA) form, in DNS and in the Host header.
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UnsafeURL("The host name is not valid.") from exc
    if not host:
        raise UnsafeURL("Enter a valid URL, e.g. https://hooks.example.com/clinic.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    # A request line is ASCII: other characters are sent percent-encoded (the ones already encoded stay).
    path = quote(path, safe="/?&=%:@!$'()*+,;~[]")
    return scheme, host, port or DEFAULT_PORTS[scheme], path


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def vet(url: str, *, allow_private: bool) -> Target:
    """`url` as a `Target` to connect to, or `UnsafeURL` saying why a webhook may not call it."""
    scheme, host, port, path = parse(url, allow_private=allow_private)
    addresses = resolve(host, port)
    if not allow_private:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            shown = host if _is_address(host) else f"{host} resolves to {refused[0]}, which"
            raise UnsafeURL(
                f"{shown} is not a public address (loopback, private, link-local or reserved). "
                "Webhooks are sent to receivers on the internet only."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)
