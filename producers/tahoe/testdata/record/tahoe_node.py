"""Run Tahoe-LAFS's own statistics code and record what /statistics serves.

This is our script, not Tahoe's: it imports Tahoe-LAFS's StatsProvider
(allmydata/stats.py), StorageServer (allmydata/storage/server.py), History
(allmydata/history.py) and the web page Statistics (allmydata/web/status.py)
from a Tahoe-LAFS source tree on PYTHONPATH, serves Statistics at
http://127.0.0.1:PORT/statistics as a Tahoe node's web port does, writes
node.url into a node directory as Tahoe does, drives real storage traffic
through the StorageServer and records the answers. See README.md beside it.

    record:  python3 tahoe_node.py record OUTDIR
    serve:   python3 tahoe_node.py serve NODEDIR   (live node for checking
             by hand; SIGUSR1 does another round of traffic, SIGUSR2
             "restarts" the node on a new port, rewriting NODEDIR/node.url)
"""

import json
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.request

from twisted.internet import reactor, threads
from twisted.web import resource, server
from zope.interface import implementer

from allmydata.history import History
from allmydata.interfaces import IStatsProducer
from allmydata.stats import StatsProvider
from allmydata.storage.server import StorageServer
from allmydata.util import fileutil
from allmydata.web.status import Statistics


@implementer(IStatsProducer)
class Uptime(object):
    """node.uptime, exactly as allmydata.client.Client.get_stats says it."""

    def __init__(self):
        self.started_timestamp = time.time()

    def get_stats(self):
        return {"node.uptime": time.time() - self.started_timestamp}


class RetrieveStatus(object):
    """The one method History.notify_retrieve asks of a retrieve status."""

    def __init__(self, size):
        self.size = size

    def get_size(self):
        return self.size


class PublishStatus(object):
    """History keeps publish statuses by weak reference; it asks nothing of
    them."""


class Node(object):
    """One node process: a stats provider, a storage server, a web port."""

    def __init__(self, storedir, nodedir):
        self.sp = StatsProvider(None)
        self.sp.register_producer(Uptime())
        self.ss = StorageServer(storedir, b"\x01" * 20, reserved_space=10**6,
                                stats_provider=self.sp)
        self.history = History(self.sp)
        self.sp.startService()
        self.ss.startService()
        root = resource.Resource()
        root.putChild(b"statistics", Statistics(self.sp))
        self.port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
        self.url = "http://127.0.0.1:%d/" % self.port.getHost().port
        # As allmydata.webish.WebishServer writes it.
        fileutil.write_atomically(os.path.join(nodedir, "node.url"), self.url + "\n", mode="")

    def stop(self):
        d = self.port.stopListening()
        self.ss.stopService()
        self.sp.stopService()
        return d

    def immutable(self, n, size, tag):
        """n immutable uploads of 3 shares (allocate, write, close), each
        read back (get, read); then the counts Tahoe's Uploader makes."""
        for i in range(n):
            si = (b"%s-imm-%04d" % (tag, i)).ljust(16, b"_")[:16]
            already, writers = self.ss.allocate_buckets(
                si, b"r" * 32, b"c" * 32, {0, 1, 2}, size)
            for shnum, bw in sorted(writers.items()):
                bw.write(0, bytes([shnum]) * size)
                bw.close()
            for shnum, br in sorted(self.ss.get_buckets(si).items()):
                assert br.read(0, size) == bytes([shnum]) * size
            # allmydata/immutable/upload.py Uploader.upload counts these.
            self.sp.count("uploader.files_uploaded", 1)
            self.sp.count("uploader.bytes_uploaded", size * 3)

    def mutable(self, n, size, tag):
        """n mutable slots written (writev) and read (readv); then the
        counts History makes for a publish and a retrieve."""
        for i in range(n):
            si = (b"%s-mut-%04d" % (tag, i)).ljust(16, b"_")[:16]
            secrets = (b"w" * 32, b"r" * 32, b"c" * 32)
            ok, _ = self.ss.slot_testv_and_readv_and_writev(
                si, secrets, {0: ([], [(0, b"m" * size)], None)}, [])
            assert ok
            got = self.ss.slot_readv(si, [0], [(0, size)])
            assert got[0][0] == b"m" * size
            self.history.notify_publish(PublishStatus(), size)
            self.history.notify_retrieve(RetrieveStatus(size))


def fetch(url, t):
    with urllib.request.urlopen(url + "statistics?t=" + t, timeout=10) as r:
        return r.read()


def record(outdir):
    base = tempfile.mkdtemp(prefix="tahoe-node-")
    storedir = os.path.join(base, "storage")
    nodedir = os.path.join(base, "node")
    os.makedirs(nodedir)
    call = lambda f, *a: threads.blockingCallFromThread(reactor, f, *a)
    node = call(Node, storedir, nodedir)
    notes = {"first_port": node.url}

    def save(name):
        for t, ext in (("json", "json"), ("openmetrics", "openmetrics")):
            with open(os.path.join(outdir, "%s.%s" % (name, ext)), "wb") as f:
                f.write(fetch(node.url, t))

    save("0-started")
    call(node.immutable, 12, 1000, b"a")
    save("1-immutable")
    call(node.mutable, 25, 500, b"a")
    save("2-mutable")
    # A restart: a new process has new counters, and a new web port when
    # web.port is tcp:0; node.url says where.
    call(node.stop)
    node = call(Node, storedir, nodedir)
    notes["second_port"] = node.url
    call(node.immutable, 2, 2000, b"b")
    save("3-restarted")
    with open(os.path.join(outdir, "ports.json"), "w") as f:
        json.dump(notes, f, indent=1)
        f.write("\n")
    reactor.callFromThread(reactor.stop)


def serve(nodedir):
    storedir = os.path.join(nodedir, "storage")
    state = {"node": Node(storedir, nodedir), "round": 0}

    def traffic():
        state["round"] += 1
        tag = b"r%d" % state["round"]
        state["node"].immutable(3, 1000, tag)
        state["node"].mutable(3, 500, tag)
        print("traffic round", state["round"], flush=True)

    def restart():
        d = state["node"].stop()
        def again(_):
            state["node"] = Node(storedir, nodedir)
            print("restarted at", state["node"].url, flush=True)
        d.addCallback(again)

    signal.signal(signal.SIGUSR1, lambda *a: reactor.callFromThread(traffic))
    signal.signal(signal.SIGUSR2, lambda *a: reactor.callFromThread(restart))
    traffic()
    print("serving", state["node"].url, flush=True)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "record":
        os.makedirs(d, exist_ok=True)
        threading.Thread(target=record, args=(d,), daemon=True).start()
    elif mode == "serve":
        os.makedirs(d, exist_ok=True)
        reactor.callWhenRunning(serve, d)
    else:
        sys.exit("usage: tahoe_node.py record OUTDIR | serve NODEDIR")
    reactor.run()


if __name__ == "__main__":
    main()
