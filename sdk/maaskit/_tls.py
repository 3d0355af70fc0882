"""An endpoint's TLS settings as one ``ssl.SSLContext``.

httpx 0.28 deprecates ``verify=<path>`` and ``cert=``, and with a CA bundle path it ignores
``cert`` altogether (the client certificate of an mTLS endpoint was silently not sent), so
maaskit builds the context itself.
"""

from __future__ import annotations

import os
import ssl

import httpx

from ._endpoint import CertTypes, VerifyTypes

__all__ = ["tls_context"]


def tls_context(verify: VerifyTypes | None, cert: CertTypes | None) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            raise ValueError("with verify=<SSLContext>, load the client certificate into it")
        return verify
    if verify is None or verify is True:
        context = httpx.create_ssl_context()
    elif verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(cafile=verify)
    if isinstance(cert, str):
        context.load_cert_chain(cert)
    elif cert is not None:
        context.load_cert_chain(*cert)
    return context
