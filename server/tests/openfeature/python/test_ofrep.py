"""`killswitch serve` through the real OpenFeature OFREP provider for
Python (openfeature-provider-ofrep, pinned in requirements.txt): a killed
flag asked for with a caller default of True must resolve to False.

Run by .ci/run after `cargo build` (KILLSWITCH_BIN names the binary):

    python -m unittest test_ofrep
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import Reason

TOKEN = "python-provider-token"


def flags(checkout_killed):
    return json.dumps([
        {"flag_key": "killed", "enabled": True, "kill_switch": True, "rollout_percentage": 100},
        {"flag_key": "disabled", "enabled": False, "rollout_percentage": 100},
        {"flag_key": "checkout", "enabled": True, "kill_switch": checkout_killed,
         "rollout_percentage": 100},
        {"flag_key": "everyone", "enabled": True, "rollout_percentage": 100},
        {"flag_key": "no_rollout", "enabled": True},
    ])


def replace(path, text):
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.rename(path + ".tmp", path)


class OfrepProvider(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ["KILLSWITCH_BIN"]
        cls.dir = tempfile.TemporaryDirectory(prefix="killswitch-python-")
        cls.config = os.path.join(cls.dir.name, "flags.json")
        replace(cls.config, flags(False))
        with open(os.path.join(cls.dir.name, "tokens"), "w") as out:
            out.write(TOKEN + "\n")
        cls.server = subprocess.Popen(
            [binary, "serve", "flags.json", "--listen", "127.0.0.1:0",
             "--token-file", "tokens", "--poll-ms", "200"],
            cwd=cls.dir.name, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        base_url = None
        while base_url is None:
            assert time.monotonic() < deadline, "killswitch serve did not start"
            line = cls.server.stderr.readline()
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                base_url = match.group(1)
        api.set_provider(OFREPProvider(
            base_url, headers_factory=lambda: {"Authorization": f"Bearer {TOKEN}"}))
        cls.client = api.get_client()

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGTERM)
        code = cls.server.wait(timeout=10)
        cls.server.stderr.close()
        cls.dir.cleanup()
        assert code == 0, f"killswitch serve exited {code} on SIGTERM"

    def test_a_killed_flag_with_default_true_resolves_to_false(self):
        ctx = EvaluationContext(targeting_key="user-1")
        self.assertIs(self.client.get_boolean_value("killed", True, ctx), False)
        details = self.client.get_boolean_details("killed", True, ctx)
        self.assertIs(details.value, False)
        self.assertEqual(details.variant, "off")
        self.assertEqual(details.reason, Reason.DISABLED)
        self.assertIsNone(details.error_code)
        self.assertEqual(details.flag_metadata["reason"], "kill_switch")
        self.assertIs(self.client.get_boolean_value("disabled", True), False)

    def test_reasons_and_unknown_flags(self):
        ctx = EvaluationContext(targeting_key="user-1")
        on = self.client.get_boolean_details("everyone", False, ctx)
        self.assertEqual((on.value, on.variant, on.reason), (True, "on", Reason.SPLIT))
        default = self.client.get_boolean_details("no_rollout", True, ctx)
        self.assertEqual((default.value, default.reason), (False, Reason.DEFAULT))
        self.assertIsNone(default.error_code)
        missing = self.client.get_boolean_details("nope", True, ctx)
        self.assertIs(missing.value, True)
        self.assertEqual(missing.error_code.value, "FLAG_NOT_FOUND")

    def test_a_kill_switch_written_to_the_file_reaches_the_application(self):
        ctx = EvaluationContext(targeting_key="user-2")
        replace(self.config, flags(False))
        deadline = time.monotonic() + 10
        while not self.client.get_boolean_value("checkout", False, ctx):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        replace(self.config, flags(True))
        deadline = time.monotonic() + 10
        while True:
            details = self.client.get_boolean_details("checkout", True, ctx)
            if details.value is False:
                self.assertEqual(details.reason, Reason.DISABLED)
                break
            self.assertLess(time.monotonic(), deadline, "the kill switch never arrived")
            time.sleep(0.01)


if __name__ == "__main__":
    unittest.main()
