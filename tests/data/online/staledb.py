# staledb: the toy database of examples/clients/toydb.py (same protocol,
# so the example clients drive it), with one bug on a timer:
#
#   python3 staledb.py HOST PORT [STALE_AFTER_SECONDS]
#
# For STALE_AFTER seconds it is correct (serializable, strict). Then it
# takes a snapshot of the store and from then on serves every read outside
# a transaction from that snapshot: stale reads, as a replica that stopped
# applying its primary's log would serve them. Writes and transactions
# still go to the live store. Without STALE_AFTER it never goes stale.
import json, socketserver, sys, threading, time

store = {}
snapshot = None
lock = threading.Lock()
MISSING = object()


def stale_after(seconds):
    global snapshot
    time.sleep(seconds)
    with lock:
        snapshot = dict(store)
    print("staledb: serving reads from a snapshot from now on", flush=True)


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
                        rollback(undo)
                    undo = None
                    lock.release()
                    reply = {"ok": True}
                elif op in ("get", "put") and isinstance(req.get("key"), str):
                    reply = access(op, req, undo)
                else:
                    reply = {"ok": False, "error": "bad request: %s" % line.decode().strip()}
                self.wfile.write((json.dumps(reply) + "\n").encode())
        finally:
            if undo is not None:  # the client went away mid-transaction
                rollback(undo)
                lock.release()


def rollback(undo):
    for key, old in reversed(undo):
        if old is MISSING:
            store.pop(key, None)
        else:
            store[key] = old


def access(op, req, undo):
    key = req["key"]
    if undo is None:
        lock.acquire()
    try:
        if op == "get":
            if undo is None and snapshot is not None:
                return {"ok": True, "value": snapshot.get(key)}
            return {"ok": True, "value": store.get(key)}
        if undo is not None:
            undo.append((key, store.get(key, MISSING)))
        store[key] = req.get("value")
        return {"ok": True}
    finally:
        if undo is None:
            lock.release()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    server = Server((sys.argv[1], int(sys.argv[2])), Connection)
    if len(sys.argv) > 3:
        threading.Thread(target=stale_after, args=(float(sys.argv[3]),), daemon=True).start()
    print("staledb listening on %s:%s" % (sys.argv[1], sys.argv[2]), flush=True)
    server.serve_forever()
