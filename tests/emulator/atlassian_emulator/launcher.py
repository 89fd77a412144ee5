# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start the emulator in its own process and drive its control API (for tests, the campaign and the bench)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import requests

EMULATOR_PATH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorProcess(object):
    """``python -m atlassian_emulator`` with ``config`` (a dict), its log in ``workdir/emulator.log``."""

    def __init__(self, workdir, config, tls=False, start_timeout=30):
        self.ready = os.path.join(workdir, "emulator.json")
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        config_path = os.path.join(workdir, "emulator-config.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        self.log = open(os.path.join(workdir, "emulator.log"), "w")
        command = [sys.executable, "-m", "atlassian_emulator", "--ready-file", self.ready, "--config", config_path]
        if tls:
            command += ["--tls", os.path.join(workdir, "tls")]
        env = dict(os.environ, PYTHONPATH=EMULATOR_PATH)
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + start_timeout
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start; see %s" % self.log.name)
            time.sleep(0.05)
        with open(self.ready) as handle:
            info = json.load(handle)
        self.url = info["site_url"]
        self.media_url = info["media_url"]
        self.ca_file = info.get("ca_file")
        # With TLS, the control API is reached with the emulator's own CA.
        self.verify = self.ca_file or True

    def control(self, path, body=None):
        url = self.url + "/_emulator/" + path
        if body is None:
            response = requests.get(url, timeout=600, verify=self.verify)
        else:
            response = requests.post(url, json=body, timeout=600, verify=self.verify)
        response.raise_for_status()
        return response.json()

    def state(self):
        return self.control("state")

    def reset(self, **config):
        return self.control("reset", {"config": config})

    def config(self, **values):
        return self.control("config", values)

    def faults(self, *rules):
        return self.control("faults", {"faults": list(rules)})

    def release(self, name):
        """Let a media answer held by a "hold" fault of this name go on."""
        return self.control("release", {"name": name})

    def seed(self, **body):
        return self.control("obm/backup", body)

    def dc_job(self, **body):
        """Place a Confluence Data Center backup/restore job (``POST /_emulator/dc/job``)."""
        return self.control("dc/job", body)

    def dc_restore_file(self, **body):
        """Place a file in the Data Center restore folder (``POST /_emulator/dc/restore-file``)."""
        return self.control("dc/restore-file", body)

    def content_site(self, **body):
        """Change what a Confluence site holds (``POST /_emulator/content/site``): ``cloud`` (cloudName or cloudId)
        or ``dc`` (a context path), and ``spaces`` (replace all), ``add`` or ``delete`` (keys)."""
        return self.control("content/site", body)

    def snapshots_task(self, **body):
        """Place a task of the Snapshots app's backup API (``POST /_emulator/snapshots/task``)."""
        return self.control("snapshots/task", body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
