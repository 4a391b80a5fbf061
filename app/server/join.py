"""How attendees get in: the attendee link for this machine's LAN address(es), and its QR code.

The link names the address a browser in the room can reach: the one the host opened /host by, when that
is not this machine's loopback, then the addresses of this machine's network interfaces (when the server
listens on all of them), with `?token=` when an ACCESS_CODE is set. The QR code is drawn by segno (pure
Python, SVG); nothing is fetched. Finding the addresses sends nothing on the network (an ioctl per
interface, Linux).
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
from urllib.parse import quote, urlsplit

from .settings import Settings

SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
VIRTUAL = ("docker", "br-", "veth", "virbr", "cni", "flannel", "lxc", "podman", "tun", "tap")  # not the room's
ALL = ("0.0.0.0", "::", "")


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces: loopback, link-local and container bridges left out."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return []
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            if name.startswith(VIRTUAL):
                continue
            try:
                raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # no IPv4 address on this interface
            address = socket.inet_ntoa(raw[20:24])
            ip = ipaddress.ip_address(address)
            if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified) and address not in found:
                found.append(address)
    return found


def in_container() -> bool:
    return os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")


def is_loopback_name(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1, and ::ffff:127.x)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def attendee_urls(settings: Settings, request_host: str | None = None,
                  scheme: str = "http", public_url: str | None = None) -> tuple[list[str], list[str]]:
    """(the attendee links, notes for the host about them). `request_host`: the Host the host's browser used;
    `public_url`: the address the host gave (typed on /host and kept, else PUBLIC_URL), which comes first."""
    path = f"/?token={quote(settings.access_code, safe='')}" if settings.access_code else "/"
    public = public_url or settings.public_url
    if public:
        return [public.rstrip("/") + path], []
    urls: list[str] = []
    notes: list[str] = []
    if request_host and not is_loopback_name(urlsplit("//" + request_host).hostname or ""):
        urls.append(f"{scheme}://{request_host}{path}")
    if settings.host in ALL:
        if in_container():
            if not urls:
                notes.append("Inside a container this server sees only its own address: type this machine's "
                             "address on the room's network below (or start it with PUBLIC_URL=http://ADDRESS:PORT), "
                             "or open /host by that address, and the attendees' link shows it.")
        else:
            urls += [f"http://{a}:{settings.port}{path}" for a in lan_addresses()]
            if not urls:
                notes.append("No network address found: connect this machine to the room's network.")
    elif is_loopback_name(settings.host):
        notes.append(f"The server listens on {settings.host} only, so nobody else can reach it: start it with "
                     "HOST=0.0.0.0 (python -m app serve --host 0.0.0.0).")
    else:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        urls.append(f"http://{host}:{settings.port}{path}")
    return list(dict.fromkeys(urls)), notes


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG markup (error correction M: a projected code survives a glare)."""
    import segno

    svg: str = segno.make(url, error="m", micro=False).svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr", title=url)
    return svg
