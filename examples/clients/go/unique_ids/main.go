// An exec client for the `unique-ids` workload: each generate returns a
// new id, here from a counter advanced in a transaction.
package main

import (
	"fmt"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	if req.F != "generate" {
		return exec.Reply{}, fmt.Errorf("not a unique-ids op: %s", req.F)
	}
	if err := db.Begin(); err != nil {
		return exec.Reply{}, err
	}
	v, err := db.Get("next id")
	if err != nil {
		return exec.Reply{}, err
	}
	id, err := exec.Int(v)
	if err != nil {
		return exec.Reply{}, err
	}
	if err := db.Put("next id", id+1); err != nil {
		return exec.Reply{}, err
	}
	return exec.Ok(id), db.Commit()
}

func main() { exec.Serve(perform) }
