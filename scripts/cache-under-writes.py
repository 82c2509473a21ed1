#!/usr/bin/env python3
"""The hot-path cache under unrelated writes, on SQLite.

Starts one `keyway serve` (the binary given, target/release/keyway by default) on a SQLite
file in a temporary directory, with an upstream on loopback, makes 200 token connections and
asks them in turn at 400 requests/s for 20 s, while another client creates an API key every
100 ms (WRITES=0 leaves that out). Prints, as JSON, the connection cache's hits and misses
over the run (from /metrics) and the client's median and p90.

    scripts/cache-under-writes.py [BINARY]

A figure for the README's hot-path cache section, not a test: nothing here is asserted."""
import base64, http.client, json, os, secrets, socket, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/keyway"
CONNECTIONS, RATE, SECONDS = 200, 400, 20

class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass

up = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
threading.Thread(target=up.serve_forever, daemon=True).start()
site = f"http://127.0.0.1:{up.server_address[1]}"

d = tempfile.mkdtemp()
s = socket.socket(); s.bind(("127.0.0.1", 0)); mport = s.getsockname()[1]; s.close()
open(f"{d}/k.toml", "w").write(f'metrics_listen = "127.0.0.1:{mport}"\n')
admin = "kw_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWAY_")}
env.update(KEYWAY_ADMIN_KEY=admin, KEYWAY_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(), KEYWAY_LOG="warn,keyway::serve=info")
log = open(f"{d}/serve.log", "w")
proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--allow-network", "127.0.0.1", "--config", f"{d}/k.toml",
                         "--data-dir", d, "--database-url", f"sqlite:{d}/k.db"], env=env, stdout=log, stderr=log)
addr = None
for _ in range(600):
    text = open(f"{d}/serve.log").read()
    line = next((l for l in text.splitlines() if "keyway is serving" in l), None)
    if line:
        addr = line.split("listen=")[1].split()[0]; break
    time.sleep(0.1)
host, port = addr.split(":"); port = int(port)

def call(method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection(host, port)
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
              headers={"authorization": f"Bearer {admin}", "content-type": "application/json"})
    r = c.getresponse(); data = r.read()
    assert r.status < 300, (method, path, r.status, data)
    return json.loads(data) if data else None

integ = call("POST", "/api/v1/integrations", {"name": "exp", "auth_method": "token", "site": site})["id"]
conns = [call("POST", f"/api/v1/integrations/{integ}/connections", {"credentials": {"token": "t"}})["id"] for _ in range(CONNECTIONS)]

def metric(name, cache):
    c = http.client.HTTPConnection("127.0.0.1", mport); c.request("GET", "/metrics"); text = c.getresponse().read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name) and f'cache="{cache}"' in l)

stop = time.time() + SECONDS
lat = []; lock = threading.Lock()
def worker(k, n):
    c = http.client.HTTPConnection(host, port)
    interval = n / RATE; nxt = time.time(); i = k
    while time.time() < stop:
        t = time.perf_counter()
        call("POST", f"/api/v1/connections/{conns[i % CONNECTIONS]}/request", {"method": "GET", "path": "/x"}, c)
        with lock: lat.append(time.perf_counter() - t)
        i += n; nxt += interval; time.sleep(max(0, nxt - time.time()))
def writer():
    c = http.client.HTTPConnection(host, port); i = 0
    while time.time() < stop:
        call("POST", "/api/v1/keys", {"name": f"k{i}", "role": "member"}, c); i += 1; time.sleep(0.1)
    return i
h0, m0 = metric("keyway_cache_hits_total", "connections"), metric("keyway_cache_misses_total", "connections")
threads = [threading.Thread(target=worker, args=(k, 8)) for k in range(8)]
if os.environ.get("WRITES", "1") == "1": threads.append(threading.Thread(target=writer))
for t in threads: t.start()
for t in threads: t.join()
h, m = metric("keyway_cache_hits_total", "connections") - h0, metric("keyway_cache_misses_total", "connections") - m0
lat.sort()
print(json.dumps({"binary": binary, "writes": os.environ.get("WRITES", "1"), "requests": len(lat), "connection_cache_hits": h, "misses": m,
                  "hit_ratio": round(h / max(h + m, 1), 4), "p50_us": round(lat[len(lat)//2] * 1e6), "p90_us": round(lat[int(len(lat)*.9)] * 1e6)}))
proc.terminate(); proc.wait()
