# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An Azure Blob Storage container and blob name prefix as an off-site store (azure-storage-blob): Azure, or Azurite
in the tests.

No Ansible imports. Uploads are block blobs: each part is a block (``Put Block`` with the part's ``Content-MD5``, so
that the service checks it on receipt), and ``Put Block List`` commits them in order with the whole content's MD5 as
the blob's ``Content-MD5`` property. That property is the checksum :meth:`AzureBlobStore.stat` reports (base64, as
the portal and ``az storage blob show`` print it); a blob written in one ``Put Blob`` (small objects, other tools)
gets it from the service. Blocks staged but never committed make no blob: the service drops them after a week.

Connect with a connection string, or with the account URL and an account key or SAS token (or a SAS in the URL).
The container must exist: the store never creates one. No message quotes a key, a SAS or the connection string.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
import traceback
import uuid

from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import PART_SIZE, Stat, Store, StoreError

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit  # type: ignore

try:
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
    from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings
    HAS_AZURE_BLOB = True
    AZURE_BLOB_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    class AzureError(Exception):  # type: ignore  # pylint: disable=missing-class-docstring
        pass
    ClientAuthenticationError = HttpResponseError = ResourceNotFoundError = AzureError
    MatchConditions = BlobBlock = BlobServiceClient = ContentSettings = None
    HAS_AZURE_BLOB = False
    AZURE_BLOB_IMPORT_ERROR = traceback.format_exc()

# Azure's rule for container names: 3 to 63 lower-case letters, digits and single hyphens, starting with a letter or
# digit.
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
# What may follow these in an SDK message is a secret (a SAS signature, an account key).
_SECRET_PARTS = re.compile(r"(sig=|AccountKey=|SharedAccessSignature=)[^&;\s'\"]*", re.IGNORECASE)
_MISSING_CONTAINER = "ContainerNotFound"


def _code(exc):
    """The service's error code (``ContainerNotFound``, ``AuthenticationFailed``, ...) or ''."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _block_id(upload, number):
    """Part ``number``'s block id: the upload's own id and the number, always the same length (Azure requires the
    ids of a blob's blocks to be of one length); the SDK sends it base64 encoded."""
    return "%s-%08d" % (upload, number)


class AzureBlobStore(Store):
    """``azure://<account>/<container>/<prefix>``. ``prefix`` is empty or ends with ``/`` (one is added)."""

    kind = "azure_blob"
    checksum_name = "Content-MD5"
    takes_bytearray = False  # the SDK sends bytes; a bytearray would be iterated
    part_size = 4 * 1024 * 1024  # the SDK copies each block it sends (bytes sliced to its length)

    def __init__(self, container, prefix, connection_string=None, account_url=None, credential=None,
                 client_options=None):
        """``connection_string``, or ``account_url`` with ``credential`` (an account key or a SAS token; none when the
        URL holds a SAS): exactly one way of connecting. ``client_options`` go to the SDK's client (``retry_total``,
        ``connection_timeout``, ...)."""
        if not HAS_AZURE_BLOB:
            raise StoreError("The Python library azure-storage-blob is needed for Azure Blob copies and is not "
                             "installed: pip install 'azure-storage-blob>=12.19' on the host that runs the module.")
        if bool(connection_string) == bool(account_url):
            raise StoreError("Give either an Azure connection string, or an account URL with an account key or SAS "
                             "token, to reach Azure Blob (not both, not neither).")
        if connection_string and credential:
            raise StoreError("An Azure connection string holds its own credentials: give the account key or SAS "
                             "token only with an account URL.")
        if not _CONTAINER.match(container or ""):
            raise StoreError("The Azure Blob container name %r is not one: 3 to 63 lower-case letters, digits and "
                             "single hyphens, starting with a letter or digit." % (container,))
        self.container = container
        self.prefix = prefix.strip("/") + "/" if prefix and prefix.strip("/") else ""
        self._secrets = [s for s in (connection_string, credential, urlsplit(account_url or "").query) if s]
        options = dict(client_options or {})
        try:
            if connection_string:
                self.service = BlobServiceClient.from_connection_string(connection_string, **options)
            else:
                self.service = BlobServiceClient(account_url, credential=credential or None, **options)
        except (ValueError, AzureError) as exc:
            raise StoreError("Could not use the Azure %s (%s): check its form (%s)." % (
                "connection string" if connection_string else "account URL", exc.__class__.__name__,
                "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net"
                if connection_string else "https://<account>.blob.core.windows.net"))
        endpoint = urlsplit(self.service.primary_endpoint)
        self.endpoint = "%s://%s%s" % (endpoint.scheme, endpoint.netloc, endpoint.path.rstrip("/"))
        self.account = self.service.account_name or endpoint.hostname
        self.client = self.service.get_container_client(container)

    # ------------------------------------------------------------------------------------------------ helpers
    def url(self, name=""):
        return "azure://%s/%s/%s%s" % (self.account, self.container, self.prefix, name)

    def _blob(self, name):
        return self.client.get_blob_client(self.prefix + name)

    def _redact(self, text):
        text = str(text).strip().splitlines()[0] if str(text).strip() else ""
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return _SECRET_PARTS.sub(lambda match: match.group(1) + "********", text)[:300]

    def _fail(self, exc, what, name=""):
        code = _code(exc)
        status = getattr(exc, "status_code", None)
        where = self.url(name)
        if code == _MISSING_CONTAINER:
            hint = ("The container %s does not exist in the storage account %s; create it (the collection never "
                    "creates containers) or correct the container's name." % (self.container, self.account))
        elif isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            hint = ("Azure refused the credentials (%s): check the connection string, account key or SAS token, and "
                    "that a SAS token has not expired and allows read, add, create, write, delete and list."
                    % (code or status))
        elif code == "Md5Mismatch":
            hint = ("Azure received other bytes than were sent (their MD5 differs); nothing was committed. Run again; "
                    "if it happens again, something between this host and Azure changes the data.")
        elif code == "ConditionNotMet":
            hint = "The blob changed while it was read; read it again."
        elif isinstance(exc, HttpResponseError):
            hint = "Azure answered HTTP %s %s (%s)." % (status, code or "without an error code",
                                                        self._redact(getattr(exc, "message", "") or exc.reason))
        else:
            hint = ("The endpoint %s could not be reached or answered nothing usable (%s: %s): check the account URL "
                    "(or the connection string's BlobEndpoint), the network and any proxy." % (
                        self.endpoint, exc.__class__.__name__, self._redact(getattr(exc, "message", "") or exc)))
        raise StoreError("Could not %s %s. %s" % (what, where, hint))

    @staticmethod
    def _missing(exc):
        """A 404 for the blob (not for the container)."""
        return isinstance(exc, ResourceNotFoundError) and _code(exc) != _MISSING_CONTAINER

    # ------------------------------------------------------------------------------------------------ reads
    def list(self):
        found = {}
        try:
            for item in self.client.walk_blobs(name_starts_with=self.prefix or None, delimiter="/"):
                name = item.name[len(self.prefix):]
                if name and "/" not in name:
                    found[name] = int(item.size or 0)
        except AzureError as exc:
            self._fail(exc, "list")
        return found

    def stat(self, name):
        try:
            props = self._blob(name).get_blob_properties()
        except AzureError as exc:
            if self._missing(exc):
                return None
            self._fail(exc, "read the properties of", name)
        md5 = props.content_settings.content_md5
        checksum = base64.b64encode(bytes(md5)).decode("ascii") if md5 else None
        return Stat(int(props.size), checksum, dict(props.metadata or {}))

    def read(self, name, limit=1024 * 1024):
        try:
            data = self._blob(name).download_blob(offset=0, length=limit + 1).readall()
        except AzureError as exc:
            if self._missing(exc):
                return None
            if _code(exc) == "InvalidRange":
                return b""  # an empty blob has no byte 0 to start a range at
            self._fail(exc, "read", name)
        if len(data) > limit:
            raise StoreError("%s holds more than the %d bytes expected of it." % (self.url(name), limit))
        return data

    def chunks(self, name, size=PART_SIZE):
        blob = self._blob(name)
        try:
            props = blob.get_blob_properties()
            offset = 0
            while offset < props.size:
                # Each piece only from the blob that was there at the start: a change in between fails the read.
                data = blob.download_blob(offset=offset, length=min(size, props.size - offset), etag=props.etag,
                                          match_condition=MatchConditions.IfNotModified).readall()
                if not data:
                    raise StoreError("%s ended after %d of its %d bytes; read it again." % (
                        self.url(name), offset, props.size))
                offset += len(data)
                yield data
        except AzureError as exc:
            self._fail(exc, "read", name)

    # ------------------------------------------------------------------------------------------------ writes
    def put(self, name, data, content_type="application/octet-stream"):
        try:
            self._blob(name).upload_blob(data, length=len(data), overwrite=True, validate_content=True,
                                         content_settings=ContentSettings(content_type=content_type))
        except AzureError as exc:
            self._fail(exc, "write", name)

    def delete(self, name):
        try:
            self._blob(name).delete_blob(delete_snapshots="include")
        except AzureError as exc:
            if self._missing(exc):
                return
            self._fail(exc, "delete", name)

    def begin(self, name, metadata):
        # Nothing to ask the service: blocks are staged under the blob's name and only a commit makes the blob.
        return dict(name=name, blob=self._blob(name), metadata=dict(metadata), upload=uuid.uuid4().hex)

    def send_part(self, token, number, data, md5):
        # Called from several threads: reads the token only; the SDK's client is shared by threads as its own
        # parallel uploads do. Content-MD5 is the writer's own MD5 of the part, which the service checks on receipt.
        if not data:
            return  # Azure refuses an empty block; an empty blob is an empty block list
        try:
            token["blob"].stage_block(_block_id(token["upload"], number), data, length=len(data),
                                      transactional_content_md5=bytearray(md5))
        except AzureError as exc:
            self._fail(exc, "upload part %d of" % number, token["name"])

    def finish(self, token, parts, md5):
        blocks = [BlobBlock(block_id=_block_id(token["upload"], number)) for number, dummy, size in parts if size]
        try:
            token["blob"].commit_block_list(
                blocks, metadata=token["metadata"],
                content_settings=ContentSettings(content_type="application/octet-stream", content_md5=bytearray(md5)))
        except AzureError as exc:
            self._fail(exc, "complete the upload of", token["name"])

    def cancel(self, token):
        # Staged blocks make no blob and cannot be deleted one by one; the service drops them after a week. A blob
        # that was there before the upload stays as it was.
        token["cancelled"] = True

    def checksums(self, parts, md5):
        return set([base64.b64encode(md5).decode("ascii")])
