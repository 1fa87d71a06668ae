// An exec client for the `queue` and `total-queue` workloads: enqueue,
// dequeue (an empty queue is a fail), drain everything left.
package main

import (
	"fmt"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	if err := db.Begin(); err != nil {
		return exec.Reply{}, err
	}
	v, err := db.Get("queue")
	if err != nil {
		return exec.Reply{}, err
	}
	items, err := exec.List(v)
	if err != nil {
		return exec.Reply{}, err
	}
	switch req.F {
	case "enqueue":
		if err := db.Put("queue", append(items, req.Value)); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	case "dequeue":
		if len(items) == 0 {
			return exec.Fail("empty"), db.Abort()
		}
		if err := db.Put("queue", items[1:]); err != nil {
			return exec.Reply{}, err
		}
		return exec.Ok(items[0]), db.Commit()
	case "drain":
		if err := db.Put("queue", []any{}); err != nil {
			return exec.Reply{}, err
		}
		return exec.Ok(items), db.Commit()
	}
	db.Abort()
	return exec.Reply{}, fmt.Errorf("not a queue op: %s", req.F)
}

func main() { exec.Serve(perform) }
