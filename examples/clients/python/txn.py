# An exec client for the transactional workloads: `list-append` (append to
# and read lists), `rw-register` and `long-fork` (write and read registers).
# A txn is a list of micro-ops; the reply gives each read's value.
import os

from toyexec import call, serve


def perform(f, key, value):
    if f != "txn":
        raise ValueError("not a txn op: %s" % f)
    done = []
    call("begin")
    for mop, k, v in value:
        key = str(k)  # toydb's keys are strings; the reply keeps the request's
        if mop == "append":  # list-append
            call("put", key=key, value=(call("get", key=key) or []) + [v])
        elif mop == "w":  # rw-register, long-fork
            call("put", key=key, value=v)
        elif mop == "r":
            got = call("get", key=key)
            v = (got or []) if os.environ["SHAKEDOWN_WORKLOAD"] == "list-append" else got
        done.append([mop, k, v])
    call("commit")
    return {"type": "ok", "value": done}


serve(perform)
