#!/usr/bin/env python3
"""A SQL Server Browser (SSRP, [MC-SQLR]) responder for tests only.

Usage: ssrp_responder.py FIXTURE_DIR [ADDRESS] [--tcp-first] [--listen]
                         [--broadcast BROADCAST] [--log FILE]
Binds udp ADDRESS:1434 (default 127.0.0.1; loopback, or 198.18.0.0/15 inside a test
namespace) and answers with byte sequences captured from real exchanges (FIXTURE_DIR/ssrp_*.bin):
  03 (CLNT_UCAST_EX), and 02 (CLNT_BCAST_EX) sent unicast, as nmap and tedious do
                              -> ssrp_ucast_ex_reply.bin  (or a tcp-before-np re-ordering of
                                 it with --tcp-first, the order real servers use)
  04 SQLEXPRESS 00            -> ssrp_inst_reply.bin
  0F 01 SQLEXPRESS 00         -> ssrp_dac_reply.bin
With --listen it also listens on each tcp port the EX reply names (an instance that
answers a TCP connect). With --broadcast it also receives on udp BROADCAST:1434 (the subnet's
broadcast address, so a CLNT_BCAST_EX reaches it) and answers from ADDRESS:1434, as a real
host does. With --log it appends one line per datagram received, before any filtering:
"unicast|broadcast SOURCE_IP:PORT HEX". Anything else (other names, malformed input) gets
silence, as a real Browser.
Responder rules from protocols.md 2.6: bound only to loopback or, inside a test's own
network namespace (/run/netns/berth-*), to 198.18.0.0/15 (the benchmarking range), allow-listed
sources (127.0.0.0/8 and 198.18.0.0/15), replies under 1 KB, per-source rate limit.
Prints "ready" once bound.
"""
import argparse
import ipaddress
import os
import select
import socket
import time

TEST_NET = ipaddress.ip_network("198.18.0.0/15")


def allowed(address):
    a = ipaddress.ip_address(address)
    return a.is_loopback or a in TEST_NET


def in_test_namespace():
    """True when this process runs in a network namespace a test named /run/netns/berth-*."""
    me = os.stat("/proc/self/ns/net")
    try:
        names = [n for n in os.listdir("/run/netns") if n.startswith("berth-")]
    except OSError:
        return False
    for n in names:
        try:
            st = os.stat(os.path.join("/run/netns", n))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (me.st_dev, me.st_ino):
            return True
    return False


def load(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def tcp_first(reply):
    """Re-orders each record so ;tcp;PORT comes before ;np;PIPE; fixes RESP_SIZE."""
    data = reply[3:].decode("latin-1")
    out = []
    for rec in data.split(";;"):
        if not rec:
            continue
        t = rec.split(";")
        pairs = [(t[i], t[i + 1]) for i in range(0, len(t) - 1, 2)]
        head = [p for p in pairs if p[0] not in ("np", "tcp")]
        tail = [p for p in pairs if p[0] == "tcp"] + [p for p in pairs if p[0] == "np"]
        out.append(";".join(k + ";" + v for k, v in head + tail))
    body = (";;".join(out) + ";;").encode("latin-1")
    return bytes([5]) + len(body).to_bytes(2, "little") + body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fixtures")
    p.add_argument("address", nargs="?", default="127.0.0.1")
    p.add_argument("--tcp-first", action="store_true")
    p.add_argument("--listen", action="store_true")
    p.add_argument("--broadcast")
    p.add_argument("--log")
    args = p.parse_args()
    addr = args.address
    for a in (addr, args.broadcast):
        if a is not None and not allowed(a):
            p.error("refusing to bind %s: only loopback or 198.18.0.0/15" % a)
        if a is not None and not ipaddress.ip_address(a).is_loopback and not in_test_namespace():
            p.error("refusing to bind %s outside a test network namespace" % a)
    ex = load(args.fixtures, "ssrp_ucast_ex_reply.bin")
    if args.tcp_first:
        ex = tcp_first(ex)
    answers = {
        bytes([3]): ex,
        bytes([2]): ex,
        load(args.fixtures, "ssrp_inst_request.bin"): load(args.fixtures, "ssrp_inst_reply.bin"),
        load(args.fixtures, "ssrp_dac_request.bin"): load(args.fixtures, "ssrp_dac_reply.bin"),
    }
    assert all(len(v) <= 1024 for v in answers.values())
    listeners = []
    if args.listen:
        items = ex[3:].decode("latin-1").split(";")
        for i, item in enumerate(items[:-1]):
            if item == "tcp":
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind((addr, int(items[i + 1])))
                t.listen(64)
                listeners.append(t)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 1434))
    names = {s: "unicast"}
    if args.broadcast:
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.bind((args.broadcast, 1434))
        names[b] = "broadcast"
    log = open(args.log, "a", buffering=1) if args.log else None
    print("ready", flush=True)
    last = {}
    while True:
        for r in select.select(list(names), [], [])[0]:
            data, peer = r.recvfrom(2048)
            if log:
                log.write("%s %s:%d %s\n" % (names[r], peer[0], peer[1], data.hex()))
            if not allowed(peer[0]):
                continue
            now = time.monotonic()
            if now - last.get(peer, 0) < 0.001:  # per-source rate limit
                continue
            last[peer] = now
            reply = answers.get(data)
            if reply is not None:
                s.sendto(reply, peer)  # from ADDRESS, also for a broadcast request


if __name__ == "__main__":
    main()
