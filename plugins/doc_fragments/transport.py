# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How every module of this collection talks HTTP: TLS, timeouts, retries (with connection or org_connection).
    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Whether to check the TLS certificate of the service. Turn it off only for tests; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust instead of the system ones.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response (not for a whole backup or restore, which C(wait_timeout) bounds).
    type: int
    default: 30
  retries:
    description:
      - How many times a request is retried after HTTP 429, 502, 503, 504 or a lost connection.
      - The wait honours C(Retry-After) (seconds or HTTP date), otherwise it is a jittered exponential backoff.
      - A C(429) or C(503) that says when to come back (C(Retry-After)) is a pace, not a failure. It is waited for as
        asked and does not use up O(retries), for at most 15 minutes of such waits per request (and ten times
        O(retries) answers). A single C(Retry-After) beyond 15 minutes is not waited for.
      - A request that starts something (a backup, an export, an import, a restore) is retried only when the
        service certainly did not act on it.
      - V(0) disables retries.
    type: int
    default: 5
  retry_max_delay:
    description:
      - Upper bound, in seconds, of one backoff delay when the service gives no C(Retry-After).
    type: int
    default: 60
"""
