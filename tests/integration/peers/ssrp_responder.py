#!/usr/bin/env python3
"""A SQL Server Browser (SSRP, [MC-SQLR]) responder for tests only.

Usage: ssrp_responder.py FIXTURE_DIR [ADDRESS] [--tcp-first] [--listen]
Binds udp ADDRESS:1434 (default 127.0.0.1; loopback only) and answers with byte sequences
captured from real exchanges (FIXTURE_DIR/ssrp_*.bin):
  03 (CLNT_UCAST_EX), and 02 (CLNT_BCAST_EX) sent unicast, as nmap and tedious do
                              -> ssrp_ucast_ex_reply.bin  (or a tcp-before-np re-ordering of
                                 it with --tcp-first, the order real servers use)
  04 SQLEXPRESS 00            -> ssrp_inst_reply.bin
  0F 01 SQLEXPRESS 00         -> ssrp_dac_reply.bin
With --listen it also listens on each tcp port the EX reply names (an instance that
answers a TCP connect). Anything else (other names, malformed input) gets silence, as a real Browser.
Responder rules from protocols.md 2.6: loopback only, allow-listed sources (127.0.0.0/8),
replies under 1 KB, per-source rate limit. Prints "ready" once bound.
"""
import ipaddress
import os
import socket
import sys
import time


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
    fixtures = sys.argv[1]
    addr = next((a for a in sys.argv[2:] if not a.startswith("--")), "127.0.0.1")
    if not ipaddress.ip_address(addr).is_loopback:
        sys.exit("ssrp_responder: refusing to bind a non-loopback address")
    ex = load(fixtures, "ssrp_ucast_ex_reply.bin")
    if "--tcp-first" in sys.argv:
        ex = tcp_first(ex)
    answers = {
        bytes([3]): ex,
        bytes([2]): ex,
        load(fixtures, "ssrp_inst_request.bin"): load(fixtures, "ssrp_inst_reply.bin"),
        load(fixtures, "ssrp_dac_request.bin"): load(fixtures, "ssrp_dac_reply.bin"),
    }
    assert all(len(v) <= 1024 for v in answers.values())
    listeners = []
    if "--listen" in sys.argv:
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
    print("ready", flush=True)
    last = {}
    while True:
        data, peer = s.recvfrom(2048)
        if not ipaddress.ip_address(peer[0]).is_loopback:
            continue
        now = time.monotonic()
        if now - last.get(peer, 0) < 0.001:  # per-source rate limit
            continue
        last[peer] = now
        reply = answers.get(data)
        if reply is not None:
            s.sendto(reply, peer)


if __name__ == "__main__":
    main()
