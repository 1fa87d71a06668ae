// An exec client for the `register` workload: read, write and cas on keys.
// Build: `go build ./register` (standard library only).
package main

import (
	"fmt"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	key := fmt.Sprint(req.Key)
	switch req.F {
	case "read":
		v, err := db.Get(key)
		return exec.Ok(v), err
	case "write":
		return exec.Reply{Type: "ok"}, db.Put(key, req.Value)
	case "cas": // [old, new]: set to new only if the value is old
		pair, _ := req.Value.([]any)
		if len(pair) != 2 {
			return exec.Reply{}, fmt.Errorf("cas value %v is not [old, new]", req.Value)
		}
		if err := db.Begin(); err != nil {
			return exec.Reply{}, err
		}
		v, err := db.Get(key)
		if err != nil {
			return exec.Reply{}, err
		}
		if v != pair[0] {
			return exec.Fail("value differs"), db.Abort()
		}
		if err := db.Put(key, pair[1]); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	}
	return exec.Reply{}, fmt.Errorf("not a register op: %s", req.F)
}

func main() { exec.Serve(perform) }
