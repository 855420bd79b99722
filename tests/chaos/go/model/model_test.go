package model

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"etcd-stack/chaos/history"

	"github.com/anishathalye/porcupine"
)

type kv struct {
	value  string
	modRev int64
}

func prevOf(cur kv, exists bool, r *history.Record) *bool {
	if exists {
		r.Prev, r.PrevModRev = cur.value, cur.modRev
	}
	return &exists
}

// simulate makes a random history of a linearizable store: clients each make one request at a
// time; every request takes effect at a random point inside its interval (a write with an unknown
// outcome: at a random point after its call, or never), in that order, on a store with etcd's
// global revision; the answers are what the store answered. Some writes are refused (failed) and
// take no effect.
func simulate(rng *rand.Rand, clients, perClient, keys int) []history.Record {
	return simulateWith(rng, clients, perClient, keys, 20)
}

// simulateWith: about 1 request in oneIn has an unknown outcome (and 1 write in oneIn is refused).
func simulateWith(rng *rand.Rand, clients, perClient, keys, oneIn int) []history.Record {
	type pending struct {
		rec   history.Record
		point int64 // when it takes effect; -1: never
	}
	var all []pending
	n := 0
	for c := 0; c < clients; c++ {
		t := int64(rng.Intn(20))
		for i := 0; i < perClient; i++ {
			call := t + int64(rng.Intn(5))
			ret := call + 1 + int64(rng.Intn(30))
			rec := history.Record{Client: c, Key: fmt.Sprintf("k%d", rng.Intn(keys)), Call: call, Return: ret, Outcome: history.OK}
			switch rng.Intn(4) {
			case 0:
				rec.Op = history.Get
			case 1:
				rec.Op = history.Put
			case 2:
				rec.Op = history.Delete
			case 3:
				rec.Op = history.CAS
				rec.Old = fmt.Sprintf("v%d", rng.Intn(n+1)) // often a value written before, sometimes one never written
			}
			if rec.Op == history.Put || rec.Op == history.CAS {
				n++
				rec.Value = fmt.Sprintf("v%d", n)
			}
			point := call + int64(rng.Int63n(ret-call+1))
			switch r := rng.Intn(oneIn); {
			case r == 0 && rec.Op != history.Get:
				rec.Outcome, point = history.Failed, -1
			case r == 1:
				rec.Outcome = history.Unknown
				if rng.Intn(2) == 0 {
					point = -1
				} else {
					point = call + int64(rng.Intn(100)) // possibly long after it was given up on
				}
			}
			all = append(all, pending{rec, point})
			t = ret + int64(rng.Intn(3))
		}
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return all[order[a]].point < all[order[b]].point })
	store, rev := map[string]kv{}, int64(1)
	for _, i := range order {
		p := &all[i]
		if p.point < 0 {
			continue
		}
		r := &p.rec
		cur, exists := store[r.Key]
		read := func() {
			if exists {
				r.Found, r.Read, r.ModRev = true, cur.value, cur.modRev
			}
		}
		switch r.Op {
		case history.Get:
			read()
		case history.Put:
			r.PrevFound = prevOf(cur, exists, r)
			rev++
			store[r.Key] = kv{r.Value, rev}
		case history.Delete:
			r.PrevFound = prevOf(cur, exists, r)
			if exists {
				rev++
				delete(store, r.Key)
				r.Deleted = 1
			}
		case history.CAS:
			if exists && cur.value == r.Old {
				rev++
				store[r.Key] = kv{r.Value, rev}
				r.Succeeded = true
			} else {
				read()
			}
		}
		r.Rev = rev
	}
	out := make([]history.Record, len(all))
	for i, p := range all {
		out[i] = p.rec
		if p.rec.Outcome != history.OK { // no answer was recorded
			out[i] = history.Record{Client: p.rec.Client, Op: p.rec.Op, Key: p.rec.Key, Value: p.rec.Value, Old: p.rec.Old,
				Call: p.rec.Call, Return: p.rec.Return, Outcome: p.rec.Outcome}
		}
	}
	return out
}

// Histories of a linearizable store are accepted: the model is not stricter than etcd.
func TestSimulatedHistoriesAreLinearizable(t *testing.T) {
	rng := rand.New(rand.NewSource(27))
	unknown := 0
	for i := 0; i < 300; i++ {
		h := simulate(rng, 1+rng.Intn(5), 1+rng.Intn(15), 1+rng.Intn(3))
		for _, r := range h {
			if r.Outcome == history.Unknown {
				unknown++
			}
		}
		ops, _ := Operations(h)
		if res := porcupine.CheckOperationsTimeout(Model, ops, 0); res != porcupine.Ok {
			t.Fatalf("history %d: porcupine says %s:\n%s", i, res, dump(h))
		}
		if res := porcupine.CheckOperationsTimeout(Model, operations(h, nil), 0); res != porcupine.Ok {
			t.Fatalf("history %d, no unknown write left out: porcupine says %s:\n%s", i, res, dump(h))
		}
		if v := RevisionOrder(h); v != "" {
			t.Fatalf("history %d: %s\n%s", i, v, dump(h))
		}
	}
	if unknown == 0 {
		t.Fatal("no unknown outcome was simulated")
	}
}

// A read made to return a value that was overwritten before the read was called is rejected.
func TestStaleReadsAreRejected(t *testing.T) {
	rng := rand.New(rand.NewSource(28))
	rejected := 0
	for i := 0; i < 300 && rejected < 50; i++ {
		h := simulate(rng, 2+rng.Intn(3), 5+rng.Intn(10), 1+rng.Intn(2))
		for j, r := range h {
			if r.Op != history.Get || r.Outcome != history.OK || !r.Found {
				continue
			}
			// the write of the value read, ok and returned before the read's call, and a write of the key before that one
			var w, older *history.Record
			for k := range h {
				x := &h[k]
				if x.Key == r.Key && x.Outcome == history.OK && x.Value == r.Read && (x.Op == history.Put || x.Succeeded) && x.Return < r.Call {
					w = x
				}
			}
			if w == nil {
				continue
			}
			for k := range h {
				x := &h[k]
				if x.Key == r.Key && x.Outcome == history.OK && (x.Op == history.Put || x.Succeeded) && x.Return < w.Call {
					older = x
				}
			}
			if older == nil {
				continue
			}
			bad := append([]history.Record(nil), h...)
			bad[j].Read, bad[j].ModRev = older.Value, older.Rev
			ops, _ := Operations(bad)
			if res := porcupine.CheckOperationsTimeout(Model, ops, 0); res != porcupine.Illegal {
				t.Fatalf("history %d, read %d made stale: porcupine says %s:\n%s", i, j, res, dump(bad))
			}
			rejected++
			break
		}
	}
	if rejected < 10 {
		t.Fatalf("only %d stale reads made", rejected)
	}
}

// Leaving out the unknown writes nobody observed (Unobserved) never changes the verdict: on random
// histories with many unknown outcomes, some with a read made to answer another value written to
// its key (often not linearizable then), porcupine answers the same with and without them.
func TestLeavingOutUnobservedWritesKeepsTheVerdict(t *testing.T) {
	rng := rand.New(rand.NewSource(29))
	verdicts := map[porcupine.CheckResult]int{}
	left := 0
	for i := 0; i < 400; i++ {
		h := simulateWith(rng, 2+rng.Intn(3), 3+rng.Intn(6), 1+rng.Intn(2), 3)
		if rng.Intn(2) == 0 {
			var reads, writes []int
			for j, r := range h {
				if r.Outcome == history.OK && (r.Op == history.Get || (r.Op == history.Put && *r.PrevFound)) {
					reads = append(reads, j)
				}
				if r.Op == history.Put || r.Op == history.CAS {
					writes = append(writes, j)
				}
			}
			if len(reads) > 0 && len(writes) > 0 {
				j, w := reads[rng.Intn(len(reads))], h[writes[rng.Intn(len(writes))]]
				if h[j].Op == history.Get {
					h[j].Found, h[j].Read, h[j].ModRev = true, w.Value, w.Rev
				} else {
					h[j].Prev, h[j].PrevModRev = w.Value, w.Rev
				}
			}
		}
		reduced, n := Operations(h)
		left += n
		a := porcupine.CheckOperationsTimeout(Model, reduced, 0)
		b := porcupine.CheckOperationsTimeout(Model, operations(h, nil), 0)
		if a != b {
			t.Fatalf("history %d: %s with %d unobserved unknown writes left out, %s with them:\n%s", i, a, n, b, dump(h))
		}
		verdicts[a]++
	}
	if verdicts[porcupine.Ok] < 50 || verdicts[porcupine.Illegal] < 50 || left < 100 {
		t.Fatalf("not a useful sample: %v, %d writes left out", verdicts, left)
	}
	t.Logf("verdicts %v; %d unknown writes left out", verdicts, left)
}

func dump(h []history.Record) string {
	s := ""
	for _, r := range h {
		s += fmt.Sprintf("%+v\n", r)
	}
	return s
}
