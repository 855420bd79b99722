// Package model is etcd's key-value semantics for the recorded requests, as a porcupine model
// partitioned by key, and the conversion of a recorded history into porcupine operations.
//
// One key's state is whether it exists, its value and its mod revision (0: not known, after a
// write whose outcome is unknown). The checks per request:
//
//   - get: found, value and mod revision are the state's (a known mod revision must match;
//     an unknown one is learned from the read);
//   - put: the key now holds the value, with the put's revision as its mod revision;
//   - delete: deleted is 1 exactly when the key existed; the key no longer exists;
//   - cas (If(Value(k)==old).Then(Put(k,new)).Else(Get(k))): succeeded exactly when the key exists
//     with value old (etcd fails a value comparison on a missing key); then as a put, otherwise as
//     a get.
//
// Partitioning by key is valid for these checks: each request touches one key, and what it
// observes of the store depends only on that key's requests. Revisions are global, so they are
// checked across keys separately (RevisionOrder), outside porcupine.
//
// Outcomes: a failed request (etcd said it did not happen) is left out. A get that did not return
// ok is left out (it changed nothing and observed nothing). A write with an unknown outcome is
// kept with its return time at infinity, as porcupine's documentation and etcd's robustness tests
// do for ambiguous operations: it may take effect at any point after its call, or at the very
// end, which no request observes, the same as never.
package model

import (
	"fmt"
	"math"
	"sort"

	"etcd-stack/chaos/history"

	"github.com/anishathalye/porcupine"
)

// Input is what a request asked.
type Input struct {
	Op    string
	Key   string
	Value string // put, cas: the value written
	Old   string // cas: the value compared with
}

// Output is what etcd answered; Unknown when no answer is known.
type Output struct {
	Unknown   bool
	Rev       int64
	Found     bool
	Read      string
	ModRev    int64
	Deleted   int64
	Succeeded bool
	// put, delete: the key just before, when recorded (PrevKnown)
	PrevKnown  bool
	PrevFound  bool
	Prev       string
	PrevModRev int64
}

// State is one key's state.
type State struct {
	Exists bool
	Value  string
	ModRev int64 // 0: not known
}

// Infinity is the return time given to requests whose outcome is unknown.
const Infinity = int64(math.MaxInt64)

// Model is the per-key model.
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return State{} },
	Step: func(s, i, o interface{}) (bool, interface{}) {
		return Step(s.(State), i.(Input), o.(Output))
	},
	Equal: func(a, b interface{}) bool { return a.(State) == b.(State) },
	DescribeOperation: func(i, o interface{}) string {
		return Describe(i.(Input), o.(Output))
	},
	DescribeState: func(s interface{}) string {
		st := s.(State)
		if !st.Exists {
			return "(absent)"
		}
		if st.ModRev == 0 {
			return fmt.Sprintf("%q @?", st.Value)
		}
		return fmt.Sprintf("%q @%d", st.Value, st.ModRev)
	},
}

// Step is the model's step: whether the request could have answered o in state s, and the state after.
func Step(s State, in Input, o Output) (bool, State) {
	switch in.Op {
	case history.Get:
		return observe(s, o)
	case history.Put:
		if !o.Unknown && o.PrevKnown {
			if ok, _ := observe(s, Output{Found: o.PrevFound, Read: o.Prev, ModRev: o.PrevModRev}); !ok {
				return false, s
			}
		}
		return true, written(in.Value, o)
	case history.Delete:
		if !o.Unknown {
			if (o.Deleted == 1) != s.Exists {
				return false, s
			}
			if o.PrevKnown {
				if ok, _ := observe(s, Output{Found: o.PrevFound, Read: o.Prev, ModRev: o.PrevModRev}); !ok {
					return false, s
				}
			}
		}
		return true, State{}
	case history.CAS:
		holds := s.Exists && s.Value == in.Old
		if o.Unknown {
			if holds {
				return true, written(in.Value, o)
			}
			return true, s
		}
		if o.Succeeded != holds {
			return false, s
		}
		if holds {
			return true, written(in.Value, o)
		}
		return observe(s, o)
	}
	return false, s
}

func written(value string, o Output) State {
	if o.Unknown {
		return State{Exists: true, Value: value}
	}
	return State{Exists: true, Value: value, ModRev: o.Rev}
}

// observe checks a read (a get, or the Else branch of a cas) against the state, and learns an unknown mod revision.
func observe(s State, o Output) (bool, State) {
	if o.Found != s.Exists {
		return false, s
	}
	if !o.Found {
		return true, s
	}
	if o.Read != s.Value || (s.ModRev != 0 && o.ModRev != s.ModRev) {
		return false, s
	}
	return true, State{Exists: true, Value: s.Value, ModRev: o.ModRev}
}

// Describe is one request as the visualization shows it.
func Describe(in Input, o Output) string {
	var ask string
	switch in.Op {
	case history.Get:
		ask = fmt.Sprintf("get(%s)", in.Key)
	case history.Put:
		ask = fmt.Sprintf("put(%s, %q)", in.Key, in.Value)
	case history.Delete:
		ask = fmt.Sprintf("delete(%s)", in.Key)
	case history.CAS:
		ask = fmt.Sprintf("cas(%s, %q -> %q)", in.Key, in.Old, in.Value)
	}
	if o.Unknown {
		return ask + " -> unknown"
	}
	read := "absent"
	if o.Found {
		read = fmt.Sprintf("%q @%d", o.Read, o.ModRev)
	}
	switch in.Op {
	case history.Get:
		return fmt.Sprintf("%s -> %s", ask, read)
	case history.Delete:
		return fmt.Sprintf("%s -> deleted %d @%d%s", ask, o.Deleted, o.Rev, prev(o))
	case history.CAS:
		if o.Succeeded {
			return fmt.Sprintf("%s -> succeeded @%d", ask, o.Rev)
		}
		return fmt.Sprintf("%s -> not succeeded, read %s", ask, read)
	}
	return fmt.Sprintf("%s -> @%d%s", ask, o.Rev, prev(o))
}

func prev(o Output) string {
	switch {
	case !o.PrevKnown:
		return ""
	case !o.PrevFound:
		return ", was absent"
	}
	return fmt.Sprintf(", was %q @%d", o.Prev, o.PrevModRev)
}

// Operations converts a history into porcupine operations, leaving out what the model cannot use
// (see the package comment) and the unknown writes no request observed (see Unobserved); returns
// how many of those were left out. Metadata is the record's index in the history.
func Operations(h []history.Record) ([]porcupine.Operation, int) {
	skip := Unobserved(h)
	return operations(h, skip), len(skip)
}

func operations(h []history.Record, skip map[int]bool) []porcupine.Operation {
	var ops []porcupine.Operation
	for i, r := range h {
		if r.Outcome == history.Failed || (r.Op == history.Get && r.Outcome != history.OK) || skip[i] {
			continue
		}
		in := Input{Op: r.Op, Key: r.Key, Value: r.Value, Old: r.Old}
		out := Output{Unknown: r.Outcome == history.Unknown, Rev: r.Rev, Found: r.Found, Read: r.Read,
			ModRev: r.ModRev, Deleted: r.Deleted, Succeeded: r.Succeeded,
			PrevKnown: r.PrevFound != nil, Prev: r.Prev, PrevModRev: r.PrevModRev}
		if r.PrevFound != nil {
			out.PrevFound = *r.PrevFound
		}
		ret := r.Return
		if out.Unknown {
			ret = Infinity
		}
		ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: in, Call: r.Call, Output: out, Return: ret, Metadata: i})
	}
	return ops
}

// Unobserved are the unknown writes that can be left out without changing whether the history is
// linearizable, as etcd's robustness tests leave out the unknown writes their watch never saw
// (we have no watch; every request that reads the key observes it instead). Each one kept would
// stay pending to the end of the search, and a hundred of them (a 10 s freeze of a busy
// recorder) made porcupine run out of time. Indices into h.
//
//   - An unknown put or cas whose value no request read (get, a cas's Else read, the previous
//     value a put or a delete answered) and no cas compared with. Values are unique, so in any
//     linearization with it, the requests on its key between it and the next write that
//     changed the key observed nothing (an ok request there would have read or replaced its
//     value, and said so) except unknown swaps that did not take effect: with it left out, those
//     move to the end (an unknown request may take effect never). The next write does not
//     depend on what it replaced, except for the previous value it answered, which was not this
//     value. (A delete that answered "deleted 1" without its previous value would have observed
//     it, so on a key with such a delete nothing is left out.)
//   - An unknown delete after whose call no ok request on its key saw the key absent (a get or a
//     cas's Else read finding nothing, a delete of nothing, a put whose previous value was
//     absent): by the same argument, nothing observed its effect.
func Unobserved(h []history.Record) map[int]bool {
	referenced := map[string]bool{}
	blind := map[string]bool{} // keys with a delete of something whose previous value was not recorded
	for _, r := range h {
		if r.Op == history.Delete && r.Outcome == history.OK && r.Deleted > 0 && r.PrevFound == nil {
			blind[r.Key] = true
		}
		if r.Outcome == history.OK {
			if r.Found {
				referenced[r.Read] = true
			}
			if r.PrevFound != nil && *r.PrevFound {
				referenced[r.Prev] = true
			}
		}
		if r.Op == history.CAS {
			referenced[r.Old] = true
		}
	}
	// per key, the latest return time of an ok request that saw the key absent
	absentSeen := map[string]int64{}
	for _, r := range h {
		if r.Outcome != history.OK {
			continue
		}
		sawAbsent := false
		switch r.Op {
		case history.Get:
			sawAbsent = !r.Found
		case history.CAS:
			sawAbsent = !r.Succeeded && !r.Found
		case history.Delete:
			sawAbsent = r.Deleted == 0
		case history.Put:
			sawAbsent = r.PrevFound == nil || !*r.PrevFound // not recorded: assume it may have
		}
		if sawAbsent && r.Return > absentSeen[r.Key] {
			absentSeen[r.Key] = r.Return
		}
	}
	out := map[int]bool{}
	for i, r := range h {
		if r.Outcome != history.Unknown {
			continue
		}
		switch r.Op {
		case history.Put, history.CAS:
			if !referenced[r.Value] && !blind[r.Key] {
				out[i] = true
			}
		case history.Delete:
			if last, seen := absentSeen[r.Key]; !seen || last < r.Call {
				out[i] = true
			}
		}
	}
	return out
}

// RevisionOrder checks the revisions etcd answered across keys: a request that started after
// another had returned saw a revision at least as high (etcd's revision is one global counter,
// and every request here is linearizable), and no two writes that changed a key got the same
// revision. Returns a description of the first violation found, or "".
func RevisionOrder(h []history.Record) string {
	type op struct {
		idx            int
		call, ret, rev int64
	}
	var ops []op
	writes := map[int64]int{}
	for i, r := range h {
		if r.Outcome != history.OK || r.Rev == 0 {
			continue
		}
		ops = append(ops, op{i, r.Call, r.Return, r.Rev})
		changed := r.Op == history.Put || (r.Op == history.CAS && r.Succeeded) || (r.Op == history.Delete && r.Deleted > 0)
		if changed {
			if j, dup := writes[r.Rev]; dup {
				return fmt.Sprintf("two writes got revision %d: line %d (%s %s) and line %d (%s %s)",
					r.Rev, j+1, h[j].Op, h[j].Key, i+1, r.Op, r.Key)
			}
			writes[r.Rev] = i
		}
	}
	byCall := append([]op(nil), ops...)
	sort.Slice(byCall, func(a, b int) bool { return byCall[a].call < byCall[b].call })
	byRet := append([]op(nil), ops...)
	sort.Slice(byRet, func(a, b int) bool { return byRet[a].ret < byRet[b].ret })
	best := op{idx: -1}
	j := 0
	for _, o := range byCall {
		for j < len(byRet) && byRet[j].ret < o.call {
			if best.idx < 0 || byRet[j].rev > best.rev {
				best = byRet[j]
			}
			j++
		}
		if best.idx >= 0 && o.rev < best.rev {
			return fmt.Sprintf("line %d (%s %s) answered revision %d, but line %d (%s %s) had returned revision %d before it was called",
				o.idx+1, h[o.idx].Op, h[o.idx].Key, o.rev, best.idx+1, h[best.idx].Op, h[best.idx].Key, best.rev)
		}
	}
	return ""
}
