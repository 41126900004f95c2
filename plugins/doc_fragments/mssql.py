# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""SQL Server connection options (module_utils/mssql.py CONNECTION_OPTIONS), generated from its argument spec."""

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.doc_options import documentation

DESCRIPTIONS = {
    'database': ['Database to work in (the connection\'s database, ODBC C(DATABASE)).'],
    'login_host': ['SQL Server host name or address (ODBC C(SERVER)).'],
    'login_port': ['SQL Server TCP port.'],
    'login_user': ['SQL Server login used by the module (ODBC C(UID)); enabling CDC needs C(sysadmin), the rest '
                   'C(db_owner).'],
    'login_password': ['Password of O(login_user) (ODBC C(PWD), always braced); never logged or returned.'],
    'odbc_driver': ['ODBC driver name as registered with unixODBC. A name containing C(FreeTDS) or C(tdsodbc) gets '
                    'FreeTDS attributes (C(SERVER), C(PORT), C(TDS_Version), C(Encryption)); any other the '
                    'Microsoft driver\'s.'],
    'encrypt': ['Encrypt the connection (ODBC C(Encrypt)): V(true) (C(yes)), V(false) (C(no)) or V(strict) '
                '(TDS 8.0, ODBC Driver 18 and SQL Server 2022). With FreeTDS V(true) sets C(Encryption=require).'],
    'trust_server_certificate': ['Accept the server certificate without verification (ODBC '
                                 'C(TrustServerCertificate); only for test servers with self-signed certificates).',
                                 'FreeTDS verifies the certificate only when its C(ca file) is configured; this '
                                 'option has no effect there.'],
    'hostname_in_certificate': ['Host name expected in the server certificate when it differs from O(login_host) '
                                '(ODBC C(HostNameInCertificate), ODBC Driver 18).'],
    'server_certificate': ['PEM or DER file of the server\'s own certificate to match instead of a CA chain '
                           '(ODBC C(ServerCertificate), ODBC Driver 18.1). The Microsoft driver takes its CAs from '
                           'the system store (update-ca-certificates); there is no CA-file keyword.'],
    'timeout': ['Seconds for the login and for each statement (pyodbc C(timeout) and C(Connection.timeout)).'],
}


class ModuleDocFragment:
    DOCUMENTATION = documentation(mssql.connection_argument_spec(), DESCRIPTIONS)
