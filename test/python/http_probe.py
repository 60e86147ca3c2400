"""One HTTP request from inside a container that has no network but loopback:
`python3 http_probe.py METHOD URL [JSON_BODY]` prints {"status", "body"} as JSON.
Standard library only, so it runs on any image's Python. Mounted read-only by
test_user_agent_image.py."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request


def main() -> None:
    method, url = sys.argv[1], sys.argv[2]
    data = sys.argv[3].encode() if len(sys.argv) > 3 else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:
        status, body = 0, str(exc).encode()
    print(json.dumps({"status": status, "body": body.decode("utf-8", "replace")}))


if __name__ == "__main__":
    main()
