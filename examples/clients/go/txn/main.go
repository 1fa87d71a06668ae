// An exec client for the transactional workloads: `list-append` (append to
// and read lists), `rw-register` and `long-fork` (write and read
// registers). A txn is a list of micro-ops; the reply gives each read's
// value, in one serializable transaction.
package main

import (
	"fmt"
	"os"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	mops, _ := req.Value.([]any)
	if req.F != "txn" || mops == nil {
		return exec.Reply{}, fmt.Errorf("not a txn op: %s %v", req.F, req.Value)
	}
	lists := os.Getenv("SHAKEDOWN_WORKLOAD") == "list-append"
	if err := db.Begin(); err != nil {
		return exec.Reply{}, err
	}
	done := make([]any, 0, len(mops))
	for _, m := range mops {
		mop, _ := m.([]any)
		if len(mop) != 3 {
			return exec.Reply{}, fmt.Errorf("micro-op %v is not [f, key, value]", m)
		}
		// toydb's keys are strings; the reply keeps the request's key.
		f, key, value := mop[0], fmt.Sprint(mop[1]), mop[2]
		switch f {
		case "append": // list-append
			v, err := db.Get(key)
			if err != nil {
				return exec.Reply{}, err
			}
			list, err := exec.List(v)
			if err != nil {
				return exec.Reply{}, err
			}
			if err := db.Put(key, append(list, value)); err != nil {
				return exec.Reply{}, err
			}
		case "w": // rw-register, long-fork
			if err := db.Put(key, value); err != nil {
				return exec.Reply{}, err
			}
		case "r":
			v, err := db.Get(key)
			if err != nil {
				return exec.Reply{}, err
			}
			value = v
			if lists {
				if value, err = exec.List(v); err != nil {
					return exec.Reply{}, err
				}
			} else if v == nil {
				value = exec.Null
			}
		default:
			return exec.Reply{}, fmt.Errorf("unknown micro-op %v", f)
		}
		done = append(done, []any{f, mop[1], value})
	}
	return exec.Ok(done), db.Commit()
}

func main() { exec.Serve(perform) }
