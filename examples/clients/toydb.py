# toydb: an in-memory key-value store with serializable transactions, the
# database the example clients in this directory talk to. Replace it with
# yours: the clients' `perform` functions are what you rewrite.
#
#   python3 toydb.py HOST PORT
#
# One JSON object a line over TCP, one reply a line:
#   {"op": "get", "key": "x"}              -> {"ok": true, "value": V}   (null if never put)
#   {"op": "put", "key": "x", "value": V}  -> {"ok": true}
#   {"op": "begin"}, {"op": "commit"}, {"op": "abort"} -> {"ok": true}
#   anything else                          -> {"ok": false, "error": "..."}
# Between begin and commit a connection holds the store's one lock, so
# transactions are serializable (and strict); abort, or a connection that
# closes inside one, undoes its puts. Outside begin/commit each request is a
# transaction of its own. Values are any JSON.
import json, socketserver, sys, threading

store = {}
lock = threading.Lock()


class Connection(socketserver.StreamRequestHandler):
    def handle(self):
        undo = None  # inside a transaction: (key, old value or missing) per put
        try:
            for line in self.rfile:
                req = json.loads(line)
                op = req.get("op")
                if op == "begin" and undo is None:
                    lock.acquire()
                    undo = []
                    reply = {"ok": True}
                elif op in ("commit", "abort") and undo is not None:
                    if op == "abort":
                        for key, old in reversed(undo):
                            store.pop(key, None) if old is MISSING else store.__setitem__(key, old)
                    undo = None
                    lock.release()
                    reply = {"ok": True}
                elif op in ("get", "put") and isinstance(req.get("key"), str):
                    reply = self.access(op, req, undo)
                else:
                    reply = {"ok": False, "error": "bad request: %s" % line.decode().strip()}
                self.wfile.write((json.dumps(reply) + "\n").encode())
        finally:
            if undo is not None:  # the client went away mid-transaction
                for key, old in reversed(undo):
                    store.pop(key, None) if old is MISSING else store.__setitem__(key, old)
                lock.release()

    def access(self, op, req, undo):
        key = req["key"]
        if undo is None:
            lock.acquire()
        try:
            if op == "get":
                return {"ok": True, "value": store.get(key)}
            if undo is not None:
                undo.append((key, store.get(key, MISSING)))
            store[key] = req.get("value")
            return {"ok": True}
        finally:
            if undo is None:
                lock.release()


MISSING = object()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    server = Server((sys.argv[1], int(sys.argv[2])), Connection)
    print("toydb listening on %s:%s" % (sys.argv[1], sys.argv[2]), flush=True)
    server.serve_forever()
