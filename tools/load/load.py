#!/usr/bin/env python3
"""Load generator for the demo app (Python 3 standard library only).

Drives POST /v1/chat/completions and POST /api/chat with a fixed mix of requests: text only, a small and a
large image, JSON and multipart, streamed answers read to the end, and streams the client abandons after the
first chunk. Runs a plan of phases (concurrency x number of requests, each bounded in time) and prints per
phase: throughput, p50 / p99 latency, answers by status and the server's resident memory (RSS).

Only loopback addresses are accepted. Example (the demo on the tiny model, its PID for RSS):

    java --add-modules jdk.incubator.vector -jar demo-app/target/demo-app-0.1.0-SNAPSHOT.jar \
        --spring.profiles.active=tiny --server.port=18080 &
    python3 tools/load/load.py --port 18080 --pid $! --plan 1:40,4:80,8:80
"""
import argparse
import base64
import http.client
import json
import random
import socket
import struct
import sys
import threading
import time
import uuid
import zlib

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def png(width, height, seed):
    """An RGB PNG of colour gradients with noise (it compresses like a photo, not like a flat image)."""
    rnd = random.Random(seed)
    noise = rnd.randbytes(width + height + 64)
    red = bytes((x * 255 // max(1, width - 1)) & 0xFF for x in range(width))
    rows = bytearray()
    for y in range(height):
        row = bytearray(width * 3)
        shift = noise[y:y + width]
        row[0::3] = bytes((r + (n & 31)) & 0xFF for r, n in zip(red, shift)) if y % 8 == 0 else red
        row[1::3] = bytes([(y * 255 // max(1, height - 1)) & 0xFF]) * width
        row[2::3] = shift
        rows.append(0)
        rows += row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def data_url(image):
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


class Mix:
    """The request mix: (name, weight, function(conn) -> status). Each function sends one request."""

    def __init__(self, max_tokens):
        self.small = png(64, 48, 1)
        self.large = png(1024, 768, 2)
        self.small_url = data_url(self.small)
        self.large_url = data_url(self.large)
        self.max_tokens = max_tokens
        self.kinds = [
            ("v1 text", 3, self.v1_text),
            ("v1 small image", 3, lambda c: self.v1_image(c, self.small_url, False)),
            ("v1 large image", 1, lambda c: self.v1_image(c, self.large_url, False)),
            ("v1 stream small image", 3, lambda c: self.v1_image(c, self.small_url, True)),
            ("v1 stream disconnect", 2, self.v1_disconnect),
            ("api json small image", 2, self.api_json),
            ("api multipart large image", 1, self.api_multipart),
        ]

    def pick(self, rnd):
        total = sum(w for _, w, _ in self.kinds)
        r = rnd.uniform(0, total)
        for name, weight, fn in self.kinds:
            r -= weight
            if r <= 0:
                return name, fn
        return self.kinds[-1][0], self.kinds[-1][2]

    def _v1_body(self, content, stream):
        body = {"model": "qwen", "max_tokens": self.max_tokens, "temperature": 0,
                "messages": [{"role": "user", "content": content}]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return json.dumps(body)

    @staticmethod
    def _post(conn, path, body, content_type):
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        response.read()
        return response.status

    def v1_text(self, conn):
        return self._post(conn, "/v1/chat/completions",
                          self._v1_body("Write one short sentence about the sea.", False), "application/json")

    def v1_image(self, conn, url, stream):
        content = [{"type": "text", "text": "What is in this image?"},
                   {"type": "image_url", "image_url": {"url": url}}]
        return self._post(conn, "/v1/chat/completions", self._v1_body(content, stream), "application/json")

    def v1_disconnect(self, conn):
        content = [{"type": "text", "text": "Describe this image in detail."},
                   {"type": "image_url", "image_url": {"url": self.small_url}}]
        body = json.loads(self._v1_body(content, True))
        body["max_tokens"] = max(64, self.max_tokens * 4)
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        status = response.status
        response.read1(256) if hasattr(response, "read1") else response.read(1)
        # abandon the stream: reset the connection as a closed browser tab does
        sock = conn.sock
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return status

    def api_json(self, conn):
        body = json.dumps({"messages": [{"role": "user", "text": "What colours do you see?",
                                         "images": [self.small_url]}],
                           "options": {"maxTokens": self.max_tokens, "temperature": 0}})
        return self._post(conn, "/api/chat", body, "application/json")

    def api_multipart(self, conn):
        boundary = uuid.uuid4().hex
        parts = [
            b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="question"\r\n\r\nWhat is this?\r\n',
            b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="maxTokens"\r\n\r\n'
            + str(self.max_tokens).encode() + b"\r\n",
            b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="images"; filename="large.png"\r\n'
                                        b"Content-Type: image/png\r\n\r\n" + self.large + b"\r\n",
            b"--" + boundary.encode() + b"--\r\n",
        ]
        return self._post(conn, "/api/chat", b"".join(parts), "multipart/form-data; boundary=" + boundary)


def rss_kib(pid):
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_phase(args, mix, concurrency, count, seed):
    lock = threading.Lock()
    next_index = [0]
    results = []   # (kind, status or error name, seconds)
    deadline = time.monotonic() + args.phase_timeout
    rss_max = [rss_kib(args.pid) or 0]
    stop_sampler = threading.Event()

    def sampler():
        while not stop_sampler.wait(0.5):
            r = rss_kib(args.pid)
            if r:
                rss_max[0] = max(rss_max[0], r)

    def worker(wid):
        rnd = random.Random(seed * 1000 + wid)
        while True:
            with lock:
                if next_index[0] >= count or time.monotonic() > deadline:
                    return
                next_index[0] += 1
            kind, fn = mix.pick(rnd)
            conn = http.client.HTTPConnection(args.host, args.port, timeout=args.request_timeout)
            start = time.monotonic()
            try:
                status = fn(conn)
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
            finally:
                conn.close()
            with lock:
                results.append((kind, status, time.monotonic() - start))

    rss_start = rss_kib(args.pid)
    threading.Thread(target=sampler, daemon=True).start()
    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    stop_sampler.set()
    time.sleep(args.settle)      # the server finishes abandoned streams and may collect garbage when idle
    rss_end = rss_kib(args.pid)
    return results, elapsed, rss_start, rss_end, rss_max[0] or None


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--pid", type=int, help="the server's process id, for its RSS (/proc/PID/status)")
    parser.add_argument("--plan", default="1:40,4:80,8:80",
                        help="phases as concurrency:requests, comma separated (default 1:40,4:80,8:80)")
    parser.add_argument("--max-tokens", type=int, default=16, help="max_tokens of each request (default 16)")
    parser.add_argument("--phase-timeout", type=float, default=600,
                        help="no new request starts after this many seconds of a phase (default 600)")
    parser.add_argument("--request-timeout", type=float, default=300, help="socket timeout per request (default 300 s)")
    parser.add_argument("--max-requests", type=int, default=5000, help="refuse plans above this many requests")
    parser.add_argument("--settle", type=float, default=5,
                        help="seconds to wait after a phase before reading its end RSS (default 5)")
    parser.add_argument("--only", help="run only the request kinds whose name contains this text (e.g. 'large')")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.host not in LOOPBACK:
        sys.exit("Only loopback hosts (127.0.0.1, localhost, ::1) are allowed")
    plan = [tuple(int(x) for x in p.split(":")) for p in args.plan.split(",")]
    if any(c < 1 or c > 64 or n < 1 for c, n in plan) or sum(n for _, n in plan) > args.max_requests:
        sys.exit(f"Plan out of bounds: concurrency 1-64, at most {args.max_requests} requests in all")
    mix = Mix(args.max_tokens)
    if args.only:
        mix.kinds = [k for k in mix.kinds if args.only in k[0]]
        if not mix.kinds:
            sys.exit("--only matches no request kind")
    print(f"server 127.0.0.1:{args.port}, pid {args.pid}, max_tokens {args.max_tokens}, "
          f"images {len(mix.small)} B (64x48) and {len(mix.large)} B (1024x768)")
    print("mix: " + ", ".join(f"{name} x{w}" for name, w, _ in mix.kinds))
    header = (f"{'conc':>4} {'reqs':>5} {'secs':>7} {'req/s':>6} {'p50 ms':>8} {'p99 ms':>8}  "
              f"{'RSS MiB start/end/max':>22}  statuses")
    print("RSS end: --settle seconds after the phase's last answer; max: the highest seen during the phase")
    print(header)
    report = []
    for i, (concurrency, count) in enumerate(plan):
        results, elapsed, rss_start, rss_end, rss_max = run_phase(args, mix, concurrency, count, i + 1)
        statuses = {}
        for _, status, _ in results:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        ok_latencies = [s * 1000 for kind, status, s in results
                        if status == 200 and kind != "v1 stream disconnect"]
        p50, p99 = percentile(ok_latencies, 50), percentile(ok_latencies, 99)
        rate = len(results) / elapsed if elapsed > 0 else 0
        print(f"{concurrency:>4} {len(results):>5} {elapsed:>7.1f} {rate:>6.2f} {p50:>8.0f} {p99:>8.0f}  "
              f"{mib(rss_start) + '/' + mib(rss_end) + '/' + mib(rss_max):>22}  "
              + " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())), flush=True)
        report.append({"concurrency": concurrency, "requests": len(results), "seconds": round(elapsed, 2),
                       "requests_per_second": round(rate, 3), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
                       "rss_kib": {"start": rss_start, "end": rss_end, "max": rss_max}, "statuses": statuses})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"plan": args.plan, "max_tokens": args.max_tokens, "phases": report}, f, indent=2)


if __name__ == "__main__":
    main()
