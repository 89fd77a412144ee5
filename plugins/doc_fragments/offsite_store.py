# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The off-site store of backup_offsite and backup_fetch (its argument spec: offsite/stores.py STORE_SPEC).
    DOCUMENTATION = r"""
options:
  store:
    description:
      - The kind of store. Its connection is O(s3) or O(azure).
    type: str
    required: true
    choices: [s3, azure_blob]
  prefix:
    description:
      - The folder in the store, such as C(atlassian-backups/wiki). Objects go directly under it. Leading and
        trailing slashes are ignored. Empty puts them at the top of the bucket or container.
    type: str
    default: ""
  s3:
    description:
      - The S3 bucket and how to reach it, for O(store=s3).
      - Credentials not given here come from boto3's usual chain (C(AWS_ACCESS_KEY_ID), C(AWS_SECRET_ACCESS_KEY),
        C(AWS_SESSION_TOKEN), the shared files, an instance profile).
    type: dict
    suboptions:
      bucket:
        description: The bucket. It must exist; the module never creates one.
        type: str
        required: true
      endpoint_url:
        description: An S3-compatible endpoint, such as C(https://<account>.r2.cloudflarestorage.com),
          C(https://s3.us-west-004.backblazeb2.com), C(https://storage.googleapis.com) or a MinIO server. AWS when
          not given.
        type: str
      region:
        description: The region.
        type: str
      access_key:
        description: The access key.
        type: str
      secret_key:
        description: The secret key.
        type: str
      session_token:
        description: A session token, for temporary credentials.
        type: str
      validate_certs:
        description: Verify the endpoint's TLS certificate.
        type: bool
        default: true
      server_side_encryption:
        description:
          - Ask S3 to encrypt the objects at rest (SSE-S3, AES256). What keeps the content from whoever can read the
            bucket is encryption with age (C(encrypt_recipients) of M(atlassian_ops.backup.backup_offsite)).
        type: bool
        default: true
  azure:
    description:
      - The Azure Blob container and how to reach it, for O(store=azure_blob). Give O(azure.connection_string), or
        O(azure.account_url) with O(azure.credential).
    type: dict
    suboptions:
      container:
        description: The container. It must exist; the module never creates one.
        type: str
        required: true
      connection_string:
        description:
          - The storage account's connection string. If not set, the environment variable
            E(AZURE_STORAGE_CONNECTION_STRING) is used.
        type: str
      account_url:
        description: The blob endpoint, such as C(https://<account>.blob.core.windows.net).
        type: str
      credential:
        description:
          - The account key or a SAS token for O(azure.account_url). If not set, the environment variable
            E(AZURE_STORAGE_KEY) is used.
        type: str
"""
