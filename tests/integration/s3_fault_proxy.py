"""A TCP proxy between an S3 client and a gateway that can break chosen requests: it reads each
request head the client sends (HTTP/1.1, keep-alive, bodies framed by Content-Length as curl
sends them), and when a rule matches it resets the connection instead of forwarding the request,
as a network fault mid-upload would. Everything else is relayed byte for byte (the signature
stays valid). Runs in threads of the test process; stop() closes everything it opened.

    proxy = FaultProxy(("127.0.0.1", rgw_port)).start()
    proxy.add_rule(method="PUT", query_has="partNumber=", times=2)
    ... client uses proxy.endpoint ...
    proxy.log  # [(method, target, "reset" | "forwarded"), ...]
"""

import socket
import struct
import threading


class FaultProxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = []
        self.log = []
        self._lock = threading.Lock()
        self._socks = []
        self._stop = False

    def start(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.endpoint = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self._stop = True
        with self._lock:
            socks, self._socks = self._socks, []
        for s in [self.listener] + socks:
            try:
                s.close()
            except OSError:
                pass

    def add_rule(self, method, query_has="", times=1):
        with self._lock:
            self.rules.append({"method": method, "query_has": query_has, "times": times})

    def _matches(self, method, target):
        with self._lock:
            for r in self.rules:
                if r["times"] > 0 and r["method"] == method and r["query_has"] in target:
                    r["times"] -= 1
                    return True
        return False

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self._socks.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        server = None
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if self._matches(method, target):
                    self.log.append((method, target, "reset"))
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                self.log.append((method, target, "forwarded"))
                if server is None:
                    server = socket.create_connection(self.upstream)
                    with self._lock:
                        self._socks.append(server)
                    threading.Thread(target=self._relay, args=(server, client), daemon=True).start()
                server.sendall(head + b"\r\n\r\n")
                while length > 0:
                    if not buf:
                        buf = client.recv(65536)
                        if not buf:
                            return
                    part, buf = buf[:length], buf[length:]
                    server.sendall(part)
                    length -= len(part)
        except OSError:
            return
        finally:
            for s in (client, server):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    @staticmethod
    def _relay(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
