"""An "outside" web host of the sandbox-egress e2e (test/e2e/sandbox-egress-packets.test.ts), stdlib only.

  origin.py ROLE CERT KEY   serves HTTP on 80 and HTTPS on 443 (PEM certificate and key), each
                            answering every GET with "ROLE <host header>", and answers every DNS query
                            on UDP 53 (the query echoed back as a response with no answer), so a
                            client knows whether a DNS packet got through.
Runs in a network namespace the test creates; prints one line once all three listen.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import sys
import threading


def handler(role: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = f"{role} {self.headers.get('Host', '')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def dns_echo() -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("0.0.0.0", 53))
    while True:
        query, peer = srv.recvfrom(2048)
        if len(query) >= 12:
            # QR=1 (a response), the rest of the query as it came.
            srv.sendto(query[:2] + bytes([query[2] | 0x80]) + query[3:], peer)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    role, cert, key = argv
    plain = http.server.ThreadingHTTPServer(("0.0.0.0", 80), handler(role))
    tls = http.server.ThreadingHTTPServer(("0.0.0.0", 443), handler(role))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, tls)]
    threads.append(threading.Thread(target=dns_echo, daemon=True))
    for t in threads:
        t.start()
    print(f"serving {role} on 80 443 53/udp", flush=True)
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
