"""Certificates for fakes served over https, from throwaway CAs made by trustme.

A test trusts a CA the way an operator would: its certificate in a PEM file named by
``network.ca_file`` (or by OpenSSL's ``SSL_CERT_FILE``). A fake whose certificate comes from
another CA stands for a server the bot must refuse.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

#: The names a fake's certificate is for: the address every fake listens on.
LOOPBACK = ("127.0.0.1",)


def server_context(ca: trustme.CA, names: tuple[str, ...] = LOOPBACK) -> ssl.SSLContext:
    """A server's TLS settings with a certificate for ``names`` issued by ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def ca_file(ca: trustme.CA, folder: Path) -> Path:
    """``ca``'s certificate in a PEM file in ``folder``, as an operator would hand it to the bot."""
    path = folder / "provider-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
