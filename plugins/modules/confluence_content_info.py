#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_content_info
short_description: Count the spaces, pages and blog posts of a Confluence site, and compare them with a backup
version_added: 0.3.0
description:
  - Lists the spaces of a Confluence Cloud or Data Center site and counts the current pages and blog posts of each
    with Confluence's documented REST API (Cloud REST API v2 C(GET /wiki/api/v2/spaces); Data Center
    C(GET /rest/api/space); the CQL search C(GET .../rest/api/search) and its C(totalSize) on both). Changes nothing.
  - With O(expected), compares what it found with what should be there (the inventory of a backup, or the counts of
    the source site taken before a migration), space by space when the expectation names spaces, and fails when the
    spaces or the pages found fall short by more than O(max_shortfall_percent), naming the missing and short
    spaces. The content check of the role P(atlassian_ops.backup.site_migration#role) and the restore drill use it.
  - CQL finds current content only, as the inventory of a backup counts it (no historical versions, drafts or
    trashed content). Content the account may not see is not counted, so use a site administrator.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_site
attributes:
  check_mode:
    support: full
    details:
      - The module only reads; it runs the same way in check mode.
  diff_mode:
    support: none
options:
  space_keys:
    description:
      - Count only these spaces. Keys the site does not hold are listed in RV(missing_keys).
      - Default is every space the account can see.
    type: list
    elements: str
  count_blog_posts:
    description:
      - Count blog posts too (one more search request per space).
    type: bool
    default: true
  expected:
    description:
      - What the site should hold. Either the C(inventory) returned by M(atlassian_ops.backup.backup_verify) (counts,
        and C(by_space) for a comparison space by space), or the whole result of an earlier run of this module
        (for example on the source site before a migration).
      - When given, RV(comparison) is returned and the task fails when the share of spaces or of pages found is
        below 100 minus O(max_shortfall_percent).
    type: dict
  max_shortfall_percent:
    description:
      - With O(expected), the shortfall accepted, in percent of the spaces and of the pages expected.
    type: float
    default: 0.0
"""

EXAMPLES = r"""
- name: Count the spaces and pages of a Cloud site
  atlassian_ops.backup.confluence_content_info:
    url: https://example.atlassian.net
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
  register: source_content

- name: After a restore into another site, check that it holds what the source held (fails naming the spaces that differ)
  atlassian_ops.backup.confluence_content_info:
    url: https://example-restore.atlassian.net
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
    space_keys: "{{ source_content.spaces | map(attribute='key') | list }}"
    expected: "{{ source_content }}"

- name: Count two spaces of a Data Center site, pages only
  atlassian_ops.backup.confluence_content_info:
    url: https://wiki.example.com/confluence
    deployment: datacenter
    personal_access_token: "{{ vault_confluence_pat }}"
    space_keys: [DOC, TEAM]
    count_blog_posts: false
  register: dc_content

- name: Show them
  ansible.builtin.debug:
    msg: "{{ dc_content.totals.spaces }} spaces, {{ dc_content.totals.pages }} pages"
"""

RETURN = r"""
spaces:
  description: The spaces counted, in the order the site listed them.
  returned: always
  type: list
  elements: dict
  sample: [{"key": "DOC", "name": "Documentation", "type": "global", "status": "current", "pages": 120,
            "blog_posts": 4}]
  contains:
    key:
      description: The space key.
      type: str
      sample: DOC
    name:
      description: The space's name.
      type: str
      sample: Documentation
    type:
      description: The space type the site gives, in lower case (V(global), V(personal)...).
      type: str
      sample: global
    status:
      description: The space status the site gives, in lower case (V(current), V(archived)).
      type: str
      sample: current
    pages:
      description: Current pages of the space.
      type: int
      sample: 120
    blog_posts:
      description: Current blog posts of the space (when O(count_blog_posts)).
      type: int
      sample: 4
totals:
  description: The sums over RV(spaces).
  returned: always
  type: dict
  sample: {"spaces": 1, "pages": 120, "blog_posts": 4}
  contains:
    spaces:
      description: Spaces counted.
      type: int
    pages:
      description: Current pages.
      type: int
    blog_posts:
      description: Current blog posts (when O(count_blog_posts)).
      type: int
missing_keys:
  description: Keys of O(space_keys) that the site does not hold.
  returned: always
  type: list
  elements: str
  sample: []
requests:
  description: How many REST requests the count took.
  returned: always
  type: int
  sample: 3
comparison:
  description: With O(expected), what was found beside what was expected.
  returned: when O(expected) is given
  type: dict
  contains:
    ok:
      description: Whether the shortfall is within O(max_shortfall_percent).
      type: bool
      sample: true
    found_spaces_percent:
      description: The share of the expected spaces found, in percent.
      type: float
      sample: 100.0
    found_pages_percent:
      description:
        - The share of the expected pages found, in percent. Counted per space when the expectation names spaces, so
          that pages beyond one space's expected count do not make up for another space's shortfall.
      type: float
      sample: 97.5
    expected:
      description: The expected counts, and V(inventory) or V(site) as their C(source).
      type: dict
      sample: {"spaces": 4, "pages": 40, "source": "inventory"}
    found:
      description: The counts found of what was expected.
      type: dict
      sample: {"spaces": 4, "pages": 39}
    missing_spaces:
      description: Expected spaces the site does not hold.
      type: list
      elements: str
      sample: []
    short_spaces:
      description: Expected spaces that hold fewer pages or blog posts than expected.
      type: list
      elements: dict
      sample: [{"key": "DOC", "kind": "pages", "expected": 12, "found": 11}]
    message:
      description: One line for a report.
      type: str
      sample: "4 of 4 expected spaces and 39 of 40 expected pages found (100.0 % and 97.5 %); short: DOC 11 of 12 pages"
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 401
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: GET
url:
  description: The URL of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: https://example.atlassian.net/wiki/api/v2/spaces
response:
  description: A short, redacted excerpt of the server's answer to the request that failed.
  returned: on failure, when the server answered
  type: str
  sample: '{"code":401,"message":"Unauthorized"}'
request_id:
  description: The server's request id of the answer that failed.
  returned: on failure, when the server sent one
  type: str
  sample: 1a2b3c
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence import content
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

ARGUMENT_SPEC = dict(
    space_keys=dict(type="list", elements="str", no_log=False),
    count_blog_posts=dict(type="bool", default=True),
    expected=dict(type="dict"),
    max_shortfall_percent=dict(type="float", default=0.0),
)


def prepare(module, params):
    if not 0.0 <= params["max_shortfall_percent"] <= 100.0:
        module.fail_json(msg="max_shortfall_percent must be between 0 and 100 (got %s)." % params["max_shortfall_percent"])
    if params.get("expected") is not None:
        params["expected_counts"] = content.expected_counts(params["expected"])
        if params["expected_counts"] is None:
            module.fail_json(msg="expected holds no counts: give the inventory returned by backup_verify at level "
                                 "inventory (with spaces and pages counted), or the result of confluence_content_info.")


def run(module, params):
    api = content.ContentApi(module.client(), cloud=not module.datacenter)
    kinds = ("pages", "blog_posts") if params["count_blog_posts"] else ("pages",)
    found = api.inventory(params.get("space_keys"), kinds)
    result = dict(changed=False, spaces=found["spaces"], totals=found["totals"], missing_keys=found["missing_keys"],
                  requests=api.requests)
    if params.get("expected") is None:
        return result
    comparison = content.compare(found, params["expected_counts"], params["max_shortfall_percent"])
    result["comparison"] = comparison
    if not comparison["ok"]:
        raise TaskFailed("The site holds less than expected: %s (more than the %s %% accepted by "
                         "max_shortfall_percent)." % (comparison["message"], params["max_shortfall_percent"]),
                         **result)
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "count the content of the site", prepare=prepare, supports_check_mode=True)


if __name__ == "__main__":
    main()
