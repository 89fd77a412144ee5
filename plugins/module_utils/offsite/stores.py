# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store a module's options name, opened: the one place that maps options to a :class:`base.Store`.

Takes the module only to fail with a clear message (a missing library, a missing connection); the stores themselves
import nothing from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import StoreError


# The options of the doc fragment offsite_store (backup_offsite, backup_fetch).
STORE_SPEC = dict(
    store=dict(type="str", required=True, choices=["s3", "azure_blob"]),
    prefix=dict(type="str", default=""),
    s3=dict(type="dict", options=dict(
        bucket=dict(type="str", required=True),
        endpoint_url=dict(type="str"),
        region=dict(type="str"),
        access_key=dict(type="str", no_log=True),
        secret_key=dict(type="str", no_log=True),
        session_token=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        server_side_encryption=dict(type="bool", default=True),
    )),
    azure=dict(type="dict", options=dict(
        container=dict(type="str", required=True),
        connection_string=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_STORAGE_CONNECTION_STRING"])),
        account_url=dict(type="str"),
        credential=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_STORAGE_KEY"])),
    )),
)


def folder(prefix):
    """``prefix`` as a store folder: no leading slash, one trailing slash, or empty."""
    prefix = (prefix or "").strip("/")
    return prefix + "/" if prefix else ""


def open_store(module, params):
    """The store of ``params["store"]`` with its connection options (``s3`` or ``azure``) and ``prefix``."""
    kind = params["store"]
    prefix = folder(params.get("prefix"))
    # Each store's SDK is imported only when that store is used (the Azure SDK alone is some 25 MB of memory).
    if kind == "s3":
        from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite import s3
        options = params.get("s3")
        if not options:
            module.fail_json(msg="store is s3, but the s3 option (bucket and connection) is not given.")
        if not s3.HAS_BOTO3:
            module.fail_json(msg=missing_required_lib("boto3"), exception=s3.BOTO3_IMPORT_ERROR)
        return s3.S3Store(options["bucket"], prefix, endpoint_url=options.get("endpoint_url"),
                          region=options.get("region"), access_key=options.get("access_key"),
                          secret_key=options.get("secret_key"), session_token=options.get("session_token"),
                          validate_certs=options.get("validate_certs", True),
                          server_side_encryption=options.get("server_side_encryption", True))
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite import azure_blob
    options = params.get("azure")
    if not options:
        module.fail_json(msg="store is azure_blob, but the azure option (container and connection) is not given.")
    if not azure_blob.HAS_AZURE_BLOB:
        module.fail_json(msg=missing_required_lib("azure-storage-blob"), exception=azure_blob.AZURE_BLOB_IMPORT_ERROR)
    # An account_url given wins over a connection string, which may come from the environment (an AWX credential
    # attached for another account must not send the copies there).
    by_url = bool(options.get("account_url"))
    if not (options.get("account_url") and options.get("credential")) and (by_url or not options.get("connection_string")):
        module.fail_json(msg="azure needs connection_string (or the environment variable "
                             "AZURE_STORAGE_CONNECTION_STRING), or account_url with credential (an account key or SAS "
                             "token, or AZURE_STORAGE_KEY).")
    try:
        return azure_blob.AzureBlobStore(options["container"], prefix,
                                         connection_string=None if by_url else options["connection_string"],
                                         account_url=options["account_url"] if by_url else None,
                                         credential=options["credential"] if by_url else None)
    except StoreError as exc:
        module.fail_json(msg=exc.msg)
