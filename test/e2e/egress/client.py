"""The sandbox side of the sandbox-egress e2e (test/e2e/sandbox-egress-packets.test.ts), stdlib only.

  client.py JSON   JSON: [{"id", "kind", ...}]; runs every check in parallel and prints {"id": result}

kinds:
  https {url, proxy: bool}  GET with urllib, through HTTPS_PROXY (as a sandbox's tools do) or with no
                            proxy at all; the origin's certificate is verified against CA_FILE.
                            "ok <status> <body>" | "http <status> <X-Squid-Error>" | "<error>: <reason>"
  http  {url}               plain GET through HTTP_PROXY; same results
  pair  {name, sni}         CONNECT name:443 through the proxy, then a TLS handshake announcing `sni`
                            (certificates not checked: the question is what the proxy lets through),
                            and GET /: "answer <status line> | <X-Squid-Error> | <body>" | "refused
                            <CONNECT status line>" | "cut <error>"
  connect / dns {host, port, proto}   test/e2e/netpol/probe.py's probes (a TCP handshake, a DNS query)
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from probe import probe as packet_probe

CA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "origin-ca.pem")
TIMEOUT_S = 5.0


def _summary(e: BaseException) -> str:
    reason = getattr(e, "reason", None) or e
    return f"{type(e).__name__}: {type(reason).__name__} {str(reason)[:160]}"


def https(url: str, proxy: bool) -> str:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=CA_FILE))]
    handlers.append(urllib.request.ProxyHandler() if proxy else urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=TIMEOUT_S) as r:
            return f"ok {r.status} {r.read().decode(errors='replace')}"
    except urllib.error.HTTPError as e:
        return f"http {e.code} {e.headers.get('X-Squid-Error', '')}"
    except (OSError, ssl.SSLError) as e:
        return _summary(e)


def pair(name: str, sni: str) -> str:
    proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
    try:
        with socket.create_connection((proxy.hostname or "", proxy.port or 3128), timeout=TIMEOUT_S) as raw:
            raw.settimeout(TIMEOUT_S)
            raw.sendall(f"CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n".encode())
            head = raw.recv(4096).decode(errors="replace").splitlines()
            if not head or " 200 " not in head[0] + " ":
                return f"refused {head[0] if head else '(nothing)'}"
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            with context.wrap_socket(raw, server_hostname=sni) as tls:
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
                response = b""
                while chunk := tls.recv(4096):
                    response += chunk
    except (OSError, ssl.SSLError) as e:
        return f"cut {_summary(e)}"
    head_text, _, body = response.decode(errors="replace").partition("\r\n\r\n")
    lines = head_text.splitlines()
    squid_error = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("x-squid-error:")), "")
    return f"answer {lines[0] if lines else '(nothing)'} | {squid_error} | {body[:80]}"


def check(c: dict[str, object]) -> str:
    kind = str(c["kind"])
    if kind == "https":
        return https(str(c["url"]), bool(c["proxy"]))
    if kind == "http":
        return https(str(c["url"]), True)
    if kind == "pair":
        return pair(str(c["name"]), str(c["sni"]))
    return packet_probe(c)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    checks = json.loads(argv[0])
    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        results = list(pool.map(check, checks))
    print(json.dumps({str(c["id"]): r for c, r in zip(checks, results)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
