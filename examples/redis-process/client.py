# A shakedown exec client for Redis (register and set workloads): one JSON
# operation per line on stdin, one JSON reply per line on stdout.
import json, os, sys
import redis

db = redis.Redis(host=os.environ["SHAKEDOWN_HOST"], port=6379, decode_responses=True,
                 socket_timeout=2, socket_connect_timeout=2)
cas = db.register_script("if redis.call('GET', KEYS[1]) == ARGV[1] then "
                         "redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end")

def perform(f, key, value):
    if f == "read" and key is not None:                    # register
        v = db.get(key)
        return {"type": "ok", "value": None if v is None else int(v)}
    if f == "write":
        db.set(key, value)
        return {"type": "ok"}
    if f == "cas":
        if cas(keys=[key], args=value):
            return {"type": "ok"}
        return {"type": "fail", "error": "value differs"}
    if f == "add":                                         # set
        db.sadd("set", value)
        return {"type": "ok"}
    if f == "read":
        return {"type": "ok", "value": sorted(int(e) for e in db.smembers("set"))}

for line in sys.stdin:
    op = json.loads(line)
    try:
        reply = perform(op["f"], op.get("key"), op["value"])
    except redis.exceptions.ConnectionError as e:          # refused: it did not happen
        reply = {"type": "fail" if "refused" in str(e) else "info", "error": str(e)}
    except redis.exceptions.RedisError as e:               # anything else: unknown
        reply = {"type": "info", "error": str(e)}
    print(json.dumps(reply), flush=True)
