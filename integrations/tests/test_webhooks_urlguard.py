"""The SSRF guard of webhooks (integrations/webhooks/urlguard.py): which addresses are public, what `vet` refuses.

No network: address literals resolve without DNS, and `localhost` comes from /etc/hosts.
"""

import ipaddress

import pytest

from integrations.webhooks.urlguard import UnsafeURL, is_public, vet

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (CGNAT)
    "100.127.255.254",
    "169.254.169.254",  # cloud metadata
    "169.254.1.1",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fc00::1",  # unique local
    "fd00:ec2::254",  # a cloud's metadata over IPv6
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "ff0e::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible (deprecated)
    "::808:808",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001::1",  # Teredo
    "2001:db8::1",  # documentation
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_that_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/",
        "https://LocalHost/",
        "https://127.0.0.1/",
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://0x7f.1/",  # and in hex
        "https://017700000001/",  # and in octal
        "https://[::1]:8443/",
        "https://[::ffff:7f00:1]/",
        "https://[64:ff9b::7f00:1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.100.100.200/",  # another cloud's metadata, in CGNAT space
    ],
)
def test_loopback_private_and_metadata_urls_are_refused(url):
    with pytest.raises(UnsafeURL, match="not a public address"):
        vet(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://8.8.8.8/", "Use an https:// URL"),
        ("HTTP://8.8.8.8/", "Use an https:// URL"),
        ("gopher://8.8.8.8/", "Use an https:// URL"),
        ("file:///etc/passwd", "Use an https:// URL"),
        ("//8.8.8.8/", "Use an https:// URL"),
        ("https://a:b@8.8.8.8/", "Leave the user name and password out"),
        ("https://8.8.8.8:70000/", "Enter a valid URL"),
        ("https:///nohost", "Enter a valid URL"),
        ("https://[::1/", "Enter a valid URL"),
        ("https://nothing.invalid/", "does not resolve"),
    ],
)
def test_other_refusals(url, message):
    with pytest.raises(UnsafeURL, match=message):
        vet(url, allow_private=False)


def test_a_public_url_is_a_target_with_its_vetted_addresses():
    target = vet("https://8.8.8.8:8443/in/é?a=1&b=2#frag", allow_private=False)
    assert (target.scheme, target.host, target.port) == ("https", "8.8.8.8", 8443)
    assert target.path == "/in/%C3%A9?a=1&b=2"  # ASCII on the request line; the fragment is never sent
    assert target.addresses == (ipaddress.ip_address("8.8.8.8"),)


def test_with_private_addresses_allowed_http_and_loopback_pass():
    target = vet("http://localhost:8000/hooks", allow_private=True)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "localhost", 8000, "/hooks")
    assert ipaddress.ip_address("127.0.0.1") in target.addresses
    # a scheme other than http(s) still does not
    with pytest.raises(UnsafeURL):
        vet("ftp://localhost/", allow_private=True)
