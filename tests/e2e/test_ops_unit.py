"""The systemd unit spoa-agent/systemd/edgeseal-spoa.service passes
`systemd-analyze verify` with no complaint at all (verify exits 0 even
on unknown keys or bad values, so any output fails the test).

The unit names /usr/sbin/edgeseal-spoa; verify wants the binaries to
exist, so a copy points at the built agent, and MANPATH at our man pages
for the Documentation= line. Skipped (exit 77) without systemd-analyze,
as on CI containers.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

UNIT = os.path.join(harness.ROOT, "spoa-agent", "systemd",
                    "edgeseal-spoa.service")
MAN = os.path.join(harness.ROOT, "spoa-agent", "man")


class Unit(unittest.TestCase):

    def setUp(self):
        self.analyze = shutil.which("systemd-analyze")
        if not self.analyze:
            self.skipTest("systemd-analyze not installed: unit not verified")
        self.dir = tempfile.mkdtemp(prefix="es-unit-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def verify(self, text):
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        for sec, page in (("8", "edgeseal-spoa.8"),
                          ("5", "edgeseal-spoa.conf.5")):
            os.makedirs(os.path.join(self.dir, "man", "man" + sec),
                        exist_ok=True)
            shutil.copy(os.path.join(MAN, page),
                        os.path.join(self.dir, "man", "man" + sec))
        path = os.path.join(self.dir, "edgeseal-spoa.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/sbin/edgeseal-spoa", spoa))
        env = dict(os.environ, MANPATH=os.path.join(self.dir, "man"))
        return subprocess.run([self.analyze, "verify", path], env=env,
                              capture_output=True, text=True, timeout=120)

    def read(self):
        with open(UNIT) as f:
            return f.read()

    def test_unit_verifies_cleanly(self):
        r = self.verify(self.read())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((r.stdout + r.stderr).strip(), "")

    def test_unit_has_the_promised_settings(self):
        text = self.read()
        for line in ("Type=notify", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes",
                     "PrivateTmp=yes", "PrivateDevices=yes",
                     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                     "SystemCallFilter=@system-service",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn("\n" + line + "\n", text)
        self.assertRegex(text, r"\nExecStartPre=\S+edgeseal-spoa -t -f ")

    def test_a_broken_unit_is_caught(self):
        # The check above could pass by ignoring output: prove it would not.
        r = self.verify(self.read().replace("Type=notify", "Type=notfy"))
        self.assertIn("notfy", r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main()
