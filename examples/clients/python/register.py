# An exec client for the `register` workload: read, write and cas on keys.
# shakedown writes one JSON op a line to stdin and reads one reply a line.
from toyexec import call, serve


def perform(f, key, value):
    key = str(key)
    if f == "read":
        return {"type": "ok", "value": call("get", key=key)}
    if f == "write":
        call("put", key=key, value=value)
        return {"type": "ok"}
    if f == "cas":  # [old, new]: set to new only if the value is old
        old, new = value
        call("begin")
        if call("get", key=key) != old:
            call("abort")
            return {"type": "fail", "error": "value differs"}
        call("put", key=key, value=new)
        call("commit")
        return {"type": "ok"}
    raise ValueError("not a register op: %s" % f)


serve(perform)
