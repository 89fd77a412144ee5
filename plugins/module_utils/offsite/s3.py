# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An S3 bucket and key prefix as an off-site store (boto3): AWS, or any S3-compatible endpoint (MinIO, Ceph,
Cloudflare R2, Backblaze B2, Google Cloud Storage's XML interoperability, moto in the tests).

No Ansible imports. Uploads are multi-part (``CreateMultipartUpload``, ``UploadPart`` with ``Content-MD5`` so that
the service checks each part on receipt, ``CompleteMultipartUpload``); the ETag the service then reports is the MD5
of the parts' MD5s followed by ``-<parts>``, which the writer computes as the bytes go by. An object written in one
``PutObject`` (by other tools, or by this collection before 0.4.0 for small files) reports the plain MD5 instead:
:meth:`S3Store.checksums` accepts both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
import traceback

from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import PART_SIZE, Stat, Store, StoreError

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    boto3 = Config = None
    BotoCoreError = ClientError = Exception
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

_MISSING = ("404", "NoSuchKey", "NotFound")
_ETAG = re.compile(r"^[0-9a-f]{32}(-[0-9]+)?$")


def _code(exc):
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) and hasattr(
        exc, "response") else ""


def _config():
    """Retries as the AWS CLI's standard mode. Each part carries its own Content-MD5, which S3 checks: botocore 1.36
    and later would add a CRC32 of every part as well (``request_checksum_calculation``), costing CPU and a copy, so
    that is asked only where an operation requires it. Older botocore does not know the setting."""
    options = dict(retries=dict(max_attempts=5, mode="standard"), max_pool_connections=16)
    try:
        return Config(request_checksum_calculation="when_required", response_checksum_validation="when_required",
                      **options)
    except TypeError:
        return Config(**options)


class S3Store(Store):
    """``s3://<bucket>/<prefix>``. ``prefix`` is empty or ends with ``/``."""

    kind = "s3"
    checksum_name = "ETag"
    whole_md5 = False  # a multi-part upload's ETag comes from the parts' MD5s
    # S3's smallest part, rclone's default. Each part in flight costs about twice its size in this process (botocore
    # and the socket layer hold it while it is sent): 8 MiB parts put the module above 100 MB of memory.
    part_size = 5 * 1024 * 1024

    def __init__(self, bucket, prefix, endpoint_url=None, region=None, access_key=None, secret_key=None,
                 session_token=None, validate_certs=True, server_side_encryption=True, client=None):
        self.bucket = bucket
        self.prefix = prefix
        self.sse = server_side_encryption
        if client is None:
            session = boto3.session.Session(aws_access_key_id=access_key or None,
                                            aws_secret_access_key=secret_key or None,
                                            aws_session_token=session_token or None, region_name=region or None)
            client = session.client("s3", endpoint_url=endpoint_url or None, verify=validate_certs, config=_config())
        self.client = client

    # ------------------------------------------------------------------------------------------------ helpers
    def url(self, name=""):
        return "s3://%s/%s%s" % (self.bucket, self.prefix, name)

    def _key(self, name):
        return self.prefix + name

    def _fail(self, exc, what, name=""):
        code = _code(exc)
        where = self.url(name) if name else "s3://%s/%s" % (self.bucket, self.prefix)
        if code in ("NoSuchBucket",):
            hint = "The bucket %s does not exist; create it (the collection never creates buckets)." % self.bucket
        elif code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                      "InvalidToken"):
            hint = ("The credentials were refused (%s): check the access key, secret key and session token, and that "
                    "they may read, write and delete under the prefix." % code)
        elif isinstance(exc, ClientError):
            hint = "The service answered %s (%s)." % (code or "an error", exc.response.get("Error", {}).get(
                "Message", "") if hasattr(exc, "response") else exc)
        else:
            hint = ("The endpoint could not be reached or answered nothing usable (%s): check endpoint_url, region "
                    "and the network." % exc.__class__.__name__)
        raise StoreError("Could not %s %s. %s" % (what, where, hint))

    def _sse(self):
        return dict(ServerSideEncryption="AES256") if self.sse else {}

    # ------------------------------------------------------------------------------------------------ reads
    def list(self):
        found = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents") or []:
                    name = item["Key"][len(self.prefix):]
                    if name and "/" not in name:
                        found[name] = int(item.get("Size", 0))
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "list")
        return found

    def stat(self, name):
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except (BotoCoreError, ClientError) as exc:
            if _code(exc) in _MISSING:
                return None
            self._fail(exc, "read the details of", name)
        return Stat(int(head.get("ContentLength", 0)), (head.get("ETag") or "").strip('"').lower(),
                    head.get("Metadata") or {})

    def read(self, name, limit=1024 * 1024):
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
            if int(answer.get("ContentLength", 0)) > limit:
                raise StoreError("%s holds %s bytes, more than the %d expected of it." % (
                    self.url(name), answer.get("ContentLength"), limit))
            return answer["Body"].read(limit + 1)
        except (BotoCoreError, ClientError) as exc:
            if _code(exc) in _MISSING:
                return None
            self._fail(exc, "read", name)

    def chunks(self, name, size=PART_SIZE):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
            yield from body.iter_chunks(size)
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "read", name)

    # ------------------------------------------------------------------------------------------------ writes
    def put(self, name, data, content_type="application/octet-stream"):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=content_type,
                                   ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),  # nosec
                                   **self._sse())
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "write", name)

    def delete(self, name):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (BotoCoreError, ClientError) as exc:
            if _code(exc) in _MISSING:
                return
            self._fail(exc, "delete", name)

    def begin(self, name, metadata):
        try:
            answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(name),
                                                         Metadata=dict(metadata), **self._sse())
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "start the upload of", name)
        return dict(name=name, upload_id=answer["UploadId"], etags={})

    def send_part(self, token, number, data, md5):
        try:
            answer = self.client.upload_part(Bucket=self.bucket, Key=self._key(token["name"]), PartNumber=number,
                                             UploadId=token["upload_id"], Body=data,
                                             ContentMD5=base64.b64encode(md5).decode("ascii"))
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "upload part %d of" % number, token["name"])
        token["etags"][number] = answer["ETag"]

    def finish(self, token, parts, md5):
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self._key(token["name"]), UploadId=token["upload_id"],
                MultipartUpload=dict(Parts=[dict(ETag=token["etags"][number], PartNumber=number)
                                            for number, dummy, dummy_size in parts]))
        except (BotoCoreError, ClientError) as exc:
            self._fail(exc, "complete the upload of", token["name"])

    def cancel(self, token):
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(token["name"]),
                                               UploadId=token["upload_id"])
        except (BotoCoreError, ClientError):
            pass

    def comparable(self, stat):
        """S3's ETag is an MD5 (``<32 hex>``, or ``<32 hex>-<parts>`` for a multi-part upload) for unencrypted and
        SSE-S3 objects; SSE-KMS, SSE-C and some S3-compatible stores report something else."""
        return bool(_ETAG.match(stat.checksum or ""))

    def part_sizes_for(self, stat, default):
        """An ETag ``<md5>-<N>`` tells the object was sent in N parts: every usual part size (``default``, boto3's
        and the AWS CLI's 8 MiB, rclone's and S3's minimum 5 MiB, 16 and 64 MiB, or the size divided by N rounded
        up to a MiB) that cuts ``stat.size`` bytes into N parts, most likely first."""
        count = (stat.checksum or "").rpartition("-")[2]
        if "-" not in (stat.checksum or "") or not count.isdigit() or int(count) < 1:
            return [default]
        count, mib = int(count), 1024 * 1024
        guess = -(-stat.size // count)
        found = []
        for size in (default, 8 * mib, 5 * mib, 16 * mib, 64 * mib, -(-guess // mib) * mib):
            if size > 0 and -(-stat.size // size) == count and size not in found:
                found.append(size)
        return found or [default]

    def checksums(self, parts, md5):
        joined = hashlib.md5(b"".join(digest for dummy, digest, dummy_size in parts)).hexdigest()  # nosec
        found = set(["%s-%d" % (joined, len(parts))])
        if md5 is not None:
            found.add(md5.hex())  # the ETag of the same content written in one PutObject
        return found
