# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""Connection options shared by the modules that talk to SQL Server (module_utils/mssql.connection_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  database:
    description: Database to work in (the connection's database).
    type: str
    required: true
  login_host:
    description: SQL Server host name or address.
    type: str
    required: true
  login_port:
    description: SQL Server TCP port.
    type: int
    default: 1433
  login_user:
    description: SQL Server login used by the module; enabling CDC needs C(sysadmin), the rest C(db_owner).
    type: str
    required: true
  login_password:
    description: Password of O(login_user).
    type: str
    required: true
  odbc_driver:
    description: ODBC driver name as registered with unixODBC.
    type: str
    choices: ["ODBC Driver 18 for SQL Server", "FreeTDS"]
    default: ODBC Driver 18 for SQL Server
  encrypt:
    description:
      - Encrypt the connection (TLS). With FreeTDS this sets C(Encryption=require).
    type: bool
    default: true
  trust_server_certificate:
    description:
      - Accept the server certificate without verification (only for test servers with self-signed certificates).
      - FreeTDS verifies the certificate only when its C(ca file) is configured; this option has no effect there.
    type: bool
    default: false
  timeout:
    description: Seconds for the login and for each statement.
    type: int
    default: 30
"""
