# --network=host sockets seen by python3: a threaded http.server and urllib in one process,
# non-blocking connect, readiness, EAGAIN, timeouts, UDP truncation. net_checks.sh host-sockets
# compares its output natively and under moat do --network=host.
import http.server, socket, threading, urllib.request, select, errno, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("path %s" % self.path).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
port = srv.server_address[1]
t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
for i in range(3):
    print(urllib.request.urlopen("http://127.0.0.1:%d/x%d" % (port, i), timeout=10).read().decode())
# Non-blocking connect, readiness, EAGAIN, a receive timeout, half-close.
c = socket.socket(); c.setblocking(False)
print("connect", errno.errorcode.get(c.connect_ex(("127.0.0.1", port)), "ok"))
select.select([], [c], [], 5); print("so_error", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
try: c.recv(10)
except BlockingIOError: print("recv EAGAIN")
c.setblocking(True); c.settimeout(0.2)
c.sendall(b"GET /y HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = c.recv(4096)
    if not b: break
    data += b
print(data.split(b"\r\n")[0].decode(), data.endswith(b"path /y"))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b"datagram", u.getsockname())
m, a = u.recvfrom(3); print("udp", m, a[0])
u.settimeout(0.1)
try: u.recv(10)
except socket.timeout: print("udp timeout")
# A privileged port may be connected to (nothing listens on 1 here).
r = socket.socket(); r.settimeout(5)
print("connect 1", errno.errorcode.get(r.connect_ex(("127.0.0.1", 1)), "ok"))
srv.shutdown()
