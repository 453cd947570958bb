#!/usr/bin/env python3
"""Measures how long after an atomic replace of the config file a kill
switch is served: one keep-alive client asks for the flag in a loop, the
file is renamed over with `kill_switch: true`, and the first `false` answer
is timed. Run while a load generator keeps the server busy (bench/run.sh).

    killtime.py ADDR CONFIG_PATH FLAG ROUNDS
"""
import http.client
import json
import os
import sys
import time

addr, path, flag, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = addr.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=5)
original = open(path).read()
config = json.loads(original)


def ask():
    conn.request("POST", f"/ofrep/v1/evaluate/flags/{flag}",
                 body='{"context": {"targetingKey": "user-1", "email": "ana@internal.com"}}',
                 headers={"Content-Type": "application/json"})
    return json.loads(conn.getresponse().read())["value"]


def write(killed):
    for f in config:
        if f["flag_key"] == flag:
            f["kill_switch"] = killed
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        json.dump(config, out)
    os.rename(tmp, path)


times = []
for _ in range(rounds):
    write(False)
    deadline = time.monotonic() + 5
    while not ask():
        assert time.monotonic() < deadline, "the flag never came back on"
    time.sleep(0.05)
    write(True)
    start = time.monotonic()
    while ask():
        assert time.monotonic() - start < 5, "the kill switch was never served"
    times.append((time.monotonic() - start) * 1000)
    time.sleep(0.05)
with open(path, "w") as out:
    out.write(original)
times.sort()
print(f"kill switch served after: median {times[len(times)//2]:.1f} ms, "
      f"max {times[-1]:.1f} ms over {rounds} replaces")
