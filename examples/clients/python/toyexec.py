# What every example client shares: the exec protocol's loop (one JSON op
# a line on stdin, one reply a line on stdout, errors mapped to fail or
# info) and a connection to the toy database (../toydb.py). A client for
# your database keeps `serve` and replaces `call` with your driver.
import json, os, socket, sys

conn = replies = None


def call(op, **args):
    """One toydb request (connecting first if need be); its value, or an exception."""
    global conn, replies
    if conn is None:
        conn = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7800), timeout=2)
        replies = conn.makefile("rb")
    conn.sendall((json.dumps({"op": op, **args}) + "\n").encode())
    line = replies.readline()
    if not line:
        raise ConnectionError("toydb closed the connection")
    reply = json.loads(line)
    if not reply["ok"]:
        raise RuntimeError(reply["error"])
    return reply.get("value")


def serve(perform):
    """Answers every operation on stdin with perform(f, key, value)'s reply."""
    global conn
    for line in sys.stdin:
        op = json.loads(line)
        try:
            reply = perform(op["f"], op.get("key"), op["value"])
        except ConnectionRefusedError as e:  # never reached the database: it did not happen
            reply = {"type": "fail", "error": str(e)}
        except Exception as e:  # anything else: it may or may not have happened
            reply = {"type": "info", "error": str(e)}
            if conn is not None:  # the next op connects afresh: toydb undoes a transaction left open
                conn.close()
                conn = None
        print(json.dumps(reply), flush=True)
