#!/usr/bin/python3
"""Independent EPM client for tests: impacket's ept_lookup walk over ncacn_ip_tcp:HOST[135].

Usage: epm_oracle.py HOST [MAX_ENTS]
impacket 0.10.0's hept_lookup raises on status 0x16c9a0d6, which both Samba modes send at
the end of the walk, so this calls dce.request(..., checkError=False) and applies the
end-of-walk rules of protocols.md 3.7 itself. Prints one line per entry:
  UUID vMAJOR.MINOR PROTSEQ ENDPOINT
(ENDPOINT is the port for ip protocols, the pipe/ncalrpc name otherwise), then
"# calls N status 0x........" last.
"""
import sys

from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket import uuid as iuuid

NAMES = {0x07: "ncacn_ip_tcp", 0x08: "ncadg_ip_udp", 0x0F: "ncacn_np", 0x10: "ncalrpc",
         0x1F: "ncacn_http", 0x12: "ncacn_nb"}


def main():
    host = sys.argv[1]
    max_ents = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    t = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[135]" % host)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    handle = epm.ept_lookup_handle_t()
    calls = 0
    status = 0
    while calls < 1000:
        req = epm.ept_lookup()
        req["inquiry_type"] = epm.RPC_C_EP_ALL_ELTS
        req["object"] = epm.NULL
        req["Ifid"] = epm.NULL
        req["vers_option"] = epm.RPC_C_VERS_ALL
        req["entry_handle"] = handle
        req["max_ents"] = max_ents
        resp = dce.request(req, checkError=False)
        calls += 1
        for i in range(resp["num_ents"]):
            entry = resp["entries"][i]
            tower = epm.EPMTower(b"".join(entry["tower"]["tower_octet_string"]))
            floors = tower["Floors"]
            ifid = iuuid.bin_to_string(floors[0]["InterfaceUUID"])
            ver = "%d.%d" % (floors[0]["MajorVersion"], floors[0]["MinorVersion"])
            proto, endpoint = "other", ""
            for f in floors[3:]:
                pid = f["ProtocolData"][0]  # generic EPMFloor: LHS bytes / RHS bytes
                rhs = f["RelatedData"]
                if pid in (0x07, 0x08, 0x1F):
                    proto, endpoint = NAMES[pid], str(int.from_bytes(rhs[:2], "big"))
                elif pid in (0x0F, 0x10, 0x12):
                    proto, endpoint = NAMES[pid], rhs.rstrip(b"\x00").decode("latin-1")
            print("%s v%s %s %s" % (ifid.lower(), ver, proto, endpoint))
        handle = resp["entry_handle"]
        status = resp["status"]
        if status != 0 or resp["num_ents"] == 0 or handle.isNull():
            break
    print("# calls %d status 0x%08x" % (calls, status))


if __name__ == "__main__":
    main()
