# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""PostgreSQL connection options (module_utils/pg.py), generated from its argument spec."""

from ansible_collections.sluice.cdc.plugins.module_utils import pg
from ansible_collections.sluice.cdc.plugins.module_utils.doc_options import documentation

DESCRIPTIONS = {
    'host': ['PostgreSQL host name or address (libpq C(host)).'],
    'port': ['PostgreSQL TCP port (libpq C(port)).'],
    'database': ['Database to connect to (libpq C(dbname)).'],
    'user': ['Login name (libpq C(user)).'],
    'password': ['Password of the login (libpq C(password)); never logged or returned.'],
    'sslmode': ['TLS mode (libpq C(sslmode)). V(verify-full) checks the certificate against O({p}sslrootcert) and the '
                'host name; V(prefer), the default, encrypts when the server offers TLS but verifies nothing.'],
    'sslrootcert': ['PEM file of the CA certificates that verify the server (libpq C(sslrootcert)); with '
                    'V(verify-ca) or V(verify-full).'],
    'sslcert': ['PEM file of a client certificate (libpq C(sslcert)).'],
    'sslkey': ['PEM file of the private key of O({p}sslcert) (libpq C(sslkey)).'],
    'connect_timeout': ['Seconds to wait for the connection (libpq C(connect_timeout)).'],
}


class ModuleDocFragment:
    DOCUMENTATION = documentation(pg.argument_spec(), DESCRIPTIONS)
