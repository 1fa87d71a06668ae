#!/usr/bin/env python3
"""A shakedown exec client for Redis: register and set workloads.

shakedown starts one of these per worker and writes one JSON operation per
line on stdin; we answer one JSON line each on stdout (see the README,
"Testing your own database")."""
import json, os, sys
import redis

db = redis.Redis(host=os.environ["SHAKEDOWN_HOST"], port=6379,
                 socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
# Compare-and-set in one atomic step.
cas = db.register_script("if redis.call('GET', KEYS[1]) == ARGV[1] then "
                         "redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end")

def perform(op):
    f, key, value = op["f"], "r%s" % op.get("key"), op.get("value")
    if f == "read" and "key" in op:
        v = db.get(key)
        return {"type": "ok", "value": None if v is None else int(v)}
    if f == "write":
        db.set(key, value)
        return {"type": "ok"}
    if f == "cas":
        ok = cas(keys=[key], args=[str(value[0]), str(value[1])])
        return {"type": "ok"} if ok else {"type": "fail", "error": "value differs"}
    if f == "add":
        db.sadd("set", value)
        return {"type": "ok"}
    if f == "read":
        return {"type": "ok", "value": sorted(int(e) for e in db.smembers("set"))}
    return {"type": "fail", "error": "unknown op %s" % f}

for line in sys.stdin:
    op = json.loads(line)
    try:
        reply = perform(op)
    except redis.exceptions.ConnectionError as e:
        # Refused before sending: it did not happen. Anything else: unknown.
        sent = "refused" not in str(e) and "Connection refused" not in str(e)
        reply = {"type": "info" if sent else "fail", "error": str(e)}
    except redis.exceptions.RedisError as e:
        reply = {"type": "info", "error": str(e)}
    print(json.dumps(reply), flush=True)
