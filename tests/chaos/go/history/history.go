// Package history is the recorded traffic of a chaos run: one Record per request, written by the
// recorder as one JSON line each and read back by the checker.
package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Outcomes of a request.
const (
	// OK: etcd answered; the result fields hold its answer.
	OK = "ok"
	// Failed: etcd said the request did not happen (a definite refusal, such as too many requests;
	// not NOSPACE, which etcd also answers to the write that crosses the quota after applying it).
	Failed = "failed"
	// Unknown: no answer, or an error after which the request may or may not have happened
	// (a timeout, a connection lost). The checker lets it take effect at any time after its call,
	// or never.
	Unknown = "unknown"
)

// Kinds of request.
const (
	Put    = "put"    // Put(key, value)
	Get    = "get"    // a linearizable Get(key)
	Delete = "delete" // Delete(key)
	// CAS is Txn(If(Value(key) == old).Then(Put(key, value)).Else(Get(key))).
	CAS = "cas"
)

// Record is one request: who made it, when (monotonic nanoseconds since the recorder started),
// what it asked, and what etcd answered. Fields that do not apply to a kind are left out.
type Record struct {
	Client  int    `json:"client"`          // the worker (0-based); the final reads use one past the last worker
	Op      string `json:"op"`              // put, get, delete, cas
	Key     string `json:"key"`             //
	Value   string `json:"value,omitempty"` // put, cas: the value written (unique in the run)
	Old     string `json:"old,omitempty"`   // cas: the value compared with
	Call    int64  `json:"call"`            // invoke time, ns
	Return  int64  `json:"return"`          // return time, ns (for unknown: when the recorder gave up)
	Outcome string `json:"outcome"`         // ok, failed, unknown
	Error   string `json:"error,omitempty"` // failed, unknown: what the client said

	// Results, when the outcome is ok.
	Rev       int64  `json:"rev,omitempty"`       // the response header's revision (for a write: its revision)
	Found     bool   `json:"found,omitempty"`     // get, cas that did not succeed: the key exists
	Read      string `json:"read,omitempty"`      // get, cas that did not succeed: the value read
	ModRev    int64  `json:"modRev,omitempty"`    // get, cas that did not succeed: the key's mod revision
	Deleted   int64  `json:"deleted,omitempty"`   // delete: keys deleted (0 or 1)
	Succeeded bool   `json:"succeeded,omitempty"` // cas: the comparison held and the put was done
	// put, delete (asked WithPrevKV): whether the key existed just before, its value and mod
	// revision then. Absent (nil) when not recorded; the checker then does not check them.
	PrevFound  *bool  `json:"prevFound,omitempty"`
	Prev       string `json:"prev,omitempty"`
	PrevModRev int64  `json:"prevModRev,omitempty"`

	Final bool `json:"final,omitempty"` // one of the reads made after the workers stopped
}

// Read parses a history file: one Record per line; blank lines are skipped.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads Records from JSON lines and checks each is well formed.
func Parse(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if err := rec.validate(); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

func (r Record) validate() error {
	switch r.Op {
	case Put, Get, Delete, CAS:
	default:
		return fmt.Errorf("unknown op %q", r.Op)
	}
	switch r.Outcome {
	case OK, Failed, Unknown:
	default:
		return fmt.Errorf("unknown outcome %q", r.Outcome)
	}
	if r.Key == "" {
		return fmt.Errorf("no key")
	}
	if r.Client < 0 {
		return fmt.Errorf("negative client")
	}
	if r.Return < r.Call {
		return fmt.Errorf("returns (%d) before its call (%d)", r.Return, r.Call)
	}
	if (r.Op == Put || r.Op == CAS) && r.Value == "" {
		return fmt.Errorf("%s without a value", r.Op)
	}
	return nil
}
