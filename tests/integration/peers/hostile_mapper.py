#!/usr/bin/env python3
"""Misbehaving port mappers, for tests only: each keeps a prober's conversation going forever.

Usage: hostile_mapper.py MODE ADDRESS
  wrong-xid      tcp ADDRESS:111: reads one RPC call, then sends complete RPC reply records
                 (MSG_ACCEPTED, SUCCESS, an empty rpcbind list) whose xid is never the call's,
                 as fast as the socket takes them, until the client goes away.
  wrong-call-id  tcp ADDRESS:135: accepts the DCE/RPC bind (bind_ack, result 0), then answers
                 every request with response PDUs whose call_id is never the request's, as
                 fast as the socket takes them, until the client goes away.
  drip           tcp ADDRESS:111 and tcp ADDRESS:135: sends the start of a record that never
                 completes, one byte every 0.2 s, until the client goes away.
Binds only to 127.0.0.0/8 (inside the test's own namespace). Prints "ready" once listening.
Each connection is served by a thread of its own; the process runs until killed.
"""
import ipaddress
import socket
import struct
import sys
import threading
import time


def recv_some(conn):
    try:
        return conn.recv(65536)
    except OSError:
        return b""


def wrong_xid(conn):
    call = recv_some(conn)
    if len(call) < 8:
        return
    xid = struct.unpack(">I", call[4:8])[0]
    body = struct.pack(">IIIIIII", (xid + 1) & 0xFFFFFFFF, 1, 0, 0, 0, 0, 0)  # REPLY ACCEPTED SUCCESS, list end
    record = struct.pack(">I", 0x80000000 | len(body)) + body
    while True:
        conn.sendall(record * 8)


def pdu_header(ptype, frag_len, call_id, flags=0x03):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\x00\x00\x00", frag_len, 0, call_id)


def wrong_call_id(conn):
    bind = recv_some(conn)
    if len(bind) < 16:
        return
    body = struct.pack("<HHIH", 4280, 4280, 0x1234, 0) + b"\x00\x00"  # max_xmit/recv, group, no sec_addr, pad
    body += struct.pack("<B3sHH16sI", 1, b"\x00" * 3, 0, 0, b"\x00" * 16, 0)  # 1 result: acceptance
    conn.sendall(pdu_header(12, 16 + len(body), struct.unpack("<I", bind[12:16])[0]) + body)
    request = recv_some(conn)
    if len(request) < 16:
        return
    call_id = struct.unpack("<I", request[12:16])[0]
    stub = b"\x00" * 24
    response = pdu_header(2, 24 + len(stub), (call_id + 1000) & 0xFFFFFFFF) + struct.pack("<IHBB", len(stub), 0, 0, 0) + stub
    while True:
        conn.sendall(response * 8)


def drip(conn):
    # A last-fragment record mark for 4096 bytes (RPC), or a DCE/RPC 5.0 header announcing
    # 4096 bytes; then zeros, one byte at a time.
    port = conn.getsockname()[1]
    start = struct.pack(">I", 0x80001000) if port == 111 else pdu_header(2, 4096, 99)
    for b in start + b"\x00" * 1000000:
        conn.sendall(bytes([b]))
        time.sleep(0.2)


def serve(listener, handler):
    while True:
        conn, _ = listener.accept()

        def run(c=conn):
            try:
                handler(c)
            except OSError:
                pass
            finally:
                c.close()

        threading.Thread(target=run, daemon=True).start()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mode, address = sys.argv[1], sys.argv[2]
    if not ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8"):
        sys.exit("hostile_mapper.py binds to 127.0.0.0/8 only")
    plan = {"wrong-xid": [(111, wrong_xid)], "wrong-call-id": [(135, wrong_call_id)],
            "drip": [(111, drip), (135, drip)]}.get(mode)
    if plan is None:
        sys.exit(__doc__)
    threads = []
    for port, handler in plan:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(16)
        threads.append(threading.Thread(target=serve, args=(listener, handler), daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
