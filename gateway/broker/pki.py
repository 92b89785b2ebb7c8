"""The hall's PKI for the broker: a CA (EC P-256) and the broker's server certificate.

Made with ``cryptography``; the CA certificate is provisioned onto every
keypad, which then trusts only this hall's broker.  Used by
:mod:`gateway.broker.config`, which writes the files.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import InvalidSettingError
from .errors import check_id as _check_id

__all__ = ["DEFAULT_HOSTS", "KeyPair", "load_ca", "make_ca", "make_server_cert", "subject_alt_name"]

DEFAULT_HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate and its PEM (PKCS#8, unencrypted) private key."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidSettingError("CA key is not an EC key")
        return key


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now if now is not None else datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca_common_name(hall: str) -> str:
    return f"hallvote hall {hall} CA"


def make_ca(hall: str, *, now: datetime.datetime | None = None, days: int = 3650) -> KeyPair:
    """A new hall CA: EC P-256, may sign server certificates only (path length 0)."""
    hall = _check_id(hall, "hall")
    now = _now(now)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hallvote"),
            x509.NameAttribute(NameOID.COMMON_NAME, _ca_common_name(hall)),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def load_ca(cert_pem: bytes, key_pem: bytes, *, hall: str | None = None) -> KeyPair:
    """Load an existing hall CA, checking the key matches and (if given) the hall."""
    try:
        ca = KeyPair(cert_pem, key_pem)
        cert = ca.cert
        key = ca.private_key()
    except (ValueError, TypeError) as e:
        raise InvalidSettingError(f"existing CA cannot be read: {e}") from e
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        raise InvalidSettingError("existing CA certificate and key do not match")
    if hall is not None:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        found = cns[0].value if cns else "?"
        if isinstance(found, bytes):
            found = found.decode("utf-8", "replace")
        if found != _ca_common_name(hall):
            raise InvalidSettingError(f"existing CA is not the CA of hall {hall!r} ({found})")
    return ca


def subject_alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    ok = (
        host
        and len(host) <= 253
        and all(
            label
            and len(label) <= 63
            and label[0] != "-"
            and label[-1] != "-"
            and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)
            for label in labels
        )
    )
    if not ok:
        raise InvalidSettingError(f"bad host name {host!r}: not an IP address or DNS name")
    return x509.DNSName(host.lower())


def make_server_cert(
    ca: KeyPair,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    *,
    now: datetime.datetime | None = None,
    days: int = 825,
) -> KeyPair:
    """A TLS server certificate signed by ``ca`` for the given DNS names and IP addresses."""
    if not hosts:
        raise InvalidSettingError("at least one host name or IP address is needed")
    sans = [subject_alt_name(h) for h in hosts]
    now = _now(now)
    ca_cert = ca.cert
    ca_key = ca.private_key()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hallvote"),
                    x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))
