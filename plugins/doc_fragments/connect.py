# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""Connection options shared by the modules that talk to the Kafka Connect REST API."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of a Kafka Connect worker's REST API, for example C(http://connect-1:8083). Requests to a
        follower are forwarded to the leader by Connect.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the TLS certificate of an C(https) O(url).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates that verify the worker's certificate.
    type: path
  client_cert:
    description:
      - PEM file of a client certificate for mutual TLS. May also hold the private key.
    type: path
  client_key:
    description:
      - PEM file of the private key of O(client_cert), if it is not in that file.
    type: path
  url_username:
    description:
      - User name for HTTP basic authentication (sent with the first request).
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication.
    type: str
  request_timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 30
"""
