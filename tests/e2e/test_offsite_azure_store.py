# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure Blob store (plugins/module_utils/offsite/azure_blob.py) against Azurite, in Python: small objects, a
multi-part upload through base.UploadWriter and its read-back, an aborted upload, a tampered blob, and the messages
for a missing container, refused credentials and an unreachable endpoint (which never quote a key or SAS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import os
import uuid

import pytest

from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.azure_blob import AzureBlobStore
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import StoreError, UploadWriter

MIB = 1024 * 1024
PREFIX = "backups/"


def b64md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")  # nosec - Azure's checksum


@pytest.fixture
def container(azurite):
    """A new, empty container of Azurite's account (its name), and the SDK's client for it."""
    name = "t-" + uuid.uuid4().hex[:20]
    client = BlobServiceClient.from_connection_string(azurite["connection_string"]).create_container(name)
    return name, client


@pytest.fixture
def store(azurite, container):
    return AzureBlobStore(container[0], PREFIX, connection_string=azurite["connection_string"])


def test_put_read_list_delete(azurite, container, store):
    name, client = container
    assert store.kind == "azure_blob"
    assert store.url("a.json") == "azure://devstoreaccount1/%s/backups/a.json" % name
    assert store.list() == {}
    store.put("a.json", b'{"a": 1}', "application/json")
    store.put("b.zip.sha256", b"0" * 64 + b"  b.zip\n", "text/plain")
    store.put("empty", b"")
    client.upload_blob("backups/sub/deeper.zip", b"not in the folder")
    client.upload_blob("elsewhere.zip", b"not in the folder")
    assert store.list() == {"a.json": 8, "b.zip.sha256": 72, "empty": 0}
    assert store.read("a.json") == b'{"a": 1}'
    assert store.read("empty") == b""
    assert store.read("missing") is None and store.stat("missing") is None
    stat = store.stat("a.json")
    assert (stat.size, stat.checksum) == (8, b64md5(b'{"a": 1}'))
    assert client.get_blob_client("backups/a.json").get_blob_properties().content_settings.content_type == (
        "application/json")
    with pytest.raises(StoreError, match="holds more than the 4 bytes expected"):
        store.read("a.json", limit=4)
    assert list(store.chunks("b.zip.sha256", size=30)) == [b"0" * 30, b"0" * 30, b"0" * 4 + b"  b.zip\n"]
    assert list(store.chunks("empty")) == []
    store.put("a.json", b"{}", "application/json")
    assert store.read("a.json") == b"{}"
    store.delete("a.json")
    store.delete("a.json")
    assert store.stat("a.json") is None
    assert sorted(store.list()) == ["b.zip.sha256", "empty"]
    assert azurite["key"] not in store.url("a.json")


def test_upload_in_parts_and_read_back(container, store):
    name, client = container
    data = os.urandom(20 * MIB + 12345)
    sent_parts = []
    send_part = store.send_part

    def spy(token, number, part, md5):
        sent_parts.append((number, len(part)))
        send_part(token, number, part, md5)

    store.send_part = spy
    writer = UploadWriter(store, "big.zip", metadata={"sha256": hashlib.sha256(data).hexdigest()}, part_size=4 * MIB)
    for offset in range(0, len(data), 3 * MIB):
        writer.write(data[offset:offset + 3 * MIB])
    assert store.stat("big.zip") is None  # nothing shows before the commit
    sent = writer.commit()
    assert sorted(sent_parts) == [(n, 4 * MIB) for n in range(1, 6)] + [(6, 12345)]
    assert len(sent["parts"]) == 6 and sent["size"] == len(data)
    stat = store.stat("big.zip")
    assert stat.size == len(data)
    assert stat.checksum == b64md5(data) and stat.checksum in sent["checksums"]
    assert stat.checksum in store.checksums(sent["parts"], hashlib.md5(data).digest())  # nosec
    assert stat.metadata == {"sha256": hashlib.sha256(data).hexdigest()}
    committed = client.get_blob_client("backups/big.zip").get_block_list("committed")[0]
    assert [block.size for block in committed] == [4 * MIB] * 5 + [12345]
    pieces = list(store.chunks("big.zip", size=8 * MIB))
    assert [len(piece) for piece in pieces] == [8 * MIB, 8 * MIB, 4 * MIB + 12345]
    assert b"".join(pieces) == data
    assert store.list() == {"big.zip": len(data)}


def test_empty_upload(store):
    sent = UploadWriter(store, "empty.zip").commit()
    stat = store.stat("empty.zip")
    assert stat.size == 0 and stat.checksum in sent["checksums"]


def test_aborted_upload_leaves_no_blob(container, store):
    name, client = container
    writer = UploadWriter(store, "aborted.zip", part_size=4 * MIB)
    writer.write(os.urandom(9 * MIB))
    writer.abort()
    assert store.stat("aborted.zip") is None and store.list() == {}

    def refuse(summary):
        raise StoreError("refused before the commit")

    writer = UploadWriter(store, "refused.zip", part_size=4 * MIB)
    writer.write(os.urandom(5 * MIB))
    with pytest.raises(StoreError, match="refused before the commit"):
        writer.commit(before_commit=refuse)
    assert store.list() == {}
    # An aborted upload over an existing blob leaves that blob as it was.
    store.put("kept.zip", b"the old copy")
    writer = UploadWriter(store, "kept.zip", part_size=4 * MIB)
    writer.write(os.urandom(5 * MIB))
    writer.abort()
    assert store.read("kept.zip") == b"the old copy"
    assert [blob.name for blob in client.list_blobs()] == ["backups/kept.zip"]


def test_part_with_wrong_md5_is_refused(store):
    token = store.begin("bad.zip", {})
    with pytest.raises(StoreError, match=r"Could not upload part 1 of azure://devstoreaccount1/.*/backups/bad\.zip\."):
        store.send_part(token, 1, b"some bytes", hashlib.md5(b"other bytes").digest())  # nosec
    store.cancel(token)
    assert store.stat("bad.zip") is None


def test_tampered_blob_has_another_checksum(container, store):
    name, client = container
    data = os.urandom(5 * MIB)
    writer = UploadWriter(store, "t.zip", part_size=4 * MIB)
    writer.write(data)
    sent = writer.commit()
    assert store.stat("t.zip").checksum in sent["checksums"]
    tampered = bytearray(data)
    tampered[MIB] ^= 0xFF
    client.upload_blob("backups/t.zip", bytes(tampered), overwrite=True)
    stat = store.stat("t.zip")
    assert stat.size == len(data)
    assert stat.checksum == b64md5(bytes(tampered)) and stat.checksum not in sent["checksums"]


def test_missing_container(azurite):
    store = AzureBlobStore("no-such-container", "", connection_string=azurite["connection_string"])
    for call in (store.list, lambda: store.stat("x"), lambda: store.read("x"), lambda: store.put("x", b"1"),
                 lambda: store.delete("x")):
        with pytest.raises(StoreError) as info:
            call()
        assert "The container no-such-container does not exist in the storage account devstoreaccount1; create it" in (
            info.value.msg)
        assert azurite["key"] not in info.value.msg and "AccountKey" not in info.value.msg
    writer = UploadWriter(store, "x.zip")
    writer.write(b"data")
    with pytest.raises(StoreError, match="The container no-such-container does not exist"):
        writer.commit()
    assert not BlobServiceClient.from_connection_string(azurite["connection_string"]).get_container_client(
        "no-such-container").exists()


def test_refused_credentials(azurite, container):
    name, client = container
    wrong_key = base64.b64encode(b"w" * 64).decode("ascii")
    wrong_string = azurite["connection_string"].replace(azurite["key"], wrong_key)
    stores = [AzureBlobStore(name, PREFIX, account_url=azurite["endpoint"], credential=wrong_key),
              AzureBlobStore(name, PREFIX, connection_string=wrong_string)]
    # A SAS that may only read: writing is refused, and the SAS is never quoted.
    sas = generate_container_sas(azurite["account"], name, account_key=azurite["key"],
                                 permission=ContainerSasPermissions(read=True),
                                 expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    read_only = AzureBlobStore(name, PREFIX, account_url=azurite["endpoint"], credential=sas)
    assert read_only.stat("x") is None
    for store, call in [(s, c) for s in stores for c in ("list", "stat", "put")] + [(read_only, "put")]:
        with pytest.raises(StoreError) as info:
            if call == "list":
                store.list()
            elif call == "stat":
                store.stat("x")
            else:
                store.put("x", b"1")
        msg = info.value.msg
        assert "Azure refused the credentials" in msg and "check the connection string, account key or SAS token" in msg
        for secret in (wrong_key, azurite["key"], sas, sas.split("sig=")[1].split("&")[0]):
            assert secret not in msg
    assert [blob.name for blob in client.list_blobs()] == []


def test_unreachable_endpoint(azurite):
    store = AzureBlobStore("backups", "", account_url="http://127.0.0.1:9/devstoreaccount1",
                           credential=azurite["key"], client_options=dict(retry_total=0))
    with pytest.raises(StoreError) as info:
        store.list()
    assert info.value.msg.startswith("Could not list azure://devstoreaccount1/backups/. The endpoint "
                                     "http://127.0.0.1:9/devstoreaccount1 could not be reached")
    assert azurite["key"] not in info.value.msg


def test_one_way_of_connecting(azurite):
    for kwargs in (dict(), dict(connection_string=azurite["connection_string"], account_url=azurite["endpoint"])):
        with pytest.raises(StoreError, match="Give either an Azure connection string, or an account URL"):
            AzureBlobStore("backups", "", **kwargs)
    with pytest.raises(StoreError, match="holds its own credentials"):
        AzureBlobStore("backups", "", connection_string=azurite["connection_string"], credential=azurite["key"])
    with pytest.raises(StoreError, match="container name 'Backups_1' is not one"):
        AzureBlobStore("Backups_1", "", connection_string=azurite["connection_string"])
    with pytest.raises(StoreError) as info:
        AzureBlobStore("backups", "", connection_string="AccountKey=%s" % azurite["key"])
    assert "Could not use the Azure connection string" in info.value.msg and azurite["key"] not in info.value.msg
    assert AzureBlobStore("backups", "/nightly/site", account_url=azurite["endpoint"]).url("x") == (
        "azure://devstoreaccount1/backups/nightly/site/x")
