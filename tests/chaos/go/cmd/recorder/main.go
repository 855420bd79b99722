// recorder: the chaos runs' traffic. Several workers, each doing one request at a time on a small
// key space (puts, linearizable gets, deletes, compare-and-set transactions) against a list of
// etcd endpoints, so that requests collide; every request is written as one JSON line
// (history.Record) to -out as soon as it returns: client, invoke and return times (monotonic ns
// since start), op, key, arguments, outcome (ok, failed, unknown) and result.
//
//	recorder -endpoints https://10.0.0.1:2379,https://10.0.0.2:2379 -cacert ca.crt -cert c.crt -key c.key \
//	    -out history.jsonl [-workers 4] [-keys 4] [-duration 60s] [-stdin]
//
// First it deletes every key under -prefix (no worker has started; the recorder exits 1 if that
// does not succeed within a few tries): the history starts from an empty key space, which is the
// checker's initial state. With -stdin, a line {"endpoints":"URL,URL"} replaces the endpoints (a
// member added or removed): each worker dials the new list before its next request.
//
// Stops after -duration, on SIGTERM or SIGINT, or (with -stdin) when stdin is closed. Requests in
// flight then finish (each bounded by -timeout); then one final get per key (client id =
// -workers), so that a lost acknowledged write shows in the history; then a JSON summary line on
// stdout. -seed makes the workers' choices; every value written is unique
// ("<run>-w<worker>-<n>", -run defaults to the start time), which keeps the checker's search small.
//
// Puts and deletes ask for the previous value (WithPrevKV) and record it: the checker checks it,
// and leaves out the unknown writes nobody observed (model.Unobserved).
//
// Outcomes: ok when etcd answered. failed only when etcd's answer says the request was refused
// before it could happen (NOSPACE, too many requests, too large, permission denied, ...).
// Everything else (deadline exceeded, connection lost, leader changed, "request timed out") is
// unknown: the request may or may not have happened. A worker whose request did not end ok closes
// its client and dials afresh, so it is not left waiting on gRPC's reconnect backoff.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"etcd-stack/chaos/history"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

type config struct {
	endpoints           []string
	tls                 transport.TLSInfo
	useTLS              bool
	workers, keys       int
	prefix              string
	timeout, dial, wait time.Duration
	seed                int64
	run                 string // in every value written: unique across runs on the same cluster
	weights             [4]int // get, put, cas, delete
}

// definite are etcd's answers that mean the request was refused before it could take effect.
// Not NOSPACE: etcd's quota applier (quotaApplierV3 in server/etcdserver/apply/apply.go) applies
// the put or txn that crosses the quota and then answers it with NOSPACE, so that answer is
// ambiguous (a chaos run on the lab read such a value back, and the checker, told it had failed,
// called the history not linearizable).
var definite = []error{
	rpctypes.ErrGRPCRequestTooManyRequests, rpctypes.ErrGRPCRequestTooLarge,
	rpctypes.ErrGRPCPermissionDenied, rpctypes.ErrGRPCAuthFailed, rpctypes.ErrGRPCInvalidAuthToken,
	rpctypes.ErrGRPCEmptyKey, rpctypes.ErrGRPCTooManyOps, rpctypes.ErrGRPCDuplicateKey,
}

// outcome classifies a request's error.
func outcome(err error) string {
	if err == nil {
		return history.OK
	}
	desc := rpctypes.ErrorDesc(err)
	for _, d := range definite {
		if desc == rpctypes.ErrorDesc(d) {
			return history.Failed
		}
	}
	return history.Unknown
}

type recorder struct {
	cfg   config
	eps   sync.Mutex
	epoch int // bumped when the endpoints change: workers then dial afresh
	start time.Time
	mu    sync.Mutex
	out   io.Writer
	err   error
	count map[string]int
	dials int // dials that failed (no request made)
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) } // monotonic

func (r *recorder) write(rec history.Record) {
	line, _ := json.Marshal(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.out.Write(append(line, '\n')); err != nil && r.err == nil {
		r.err = err
	}
	r.count[rec.Outcome]++
}

// endpoints are the current endpoints and their epoch.
func (r *recorder) endpoints() ([]string, int) {
	r.eps.Lock()
	defer r.eps.Unlock()
	return r.cfg.endpoints, r.epoch
}

func (r *recorder) setEndpoints(list []string) {
	r.eps.Lock()
	defer r.eps.Unlock()
	r.cfg.endpoints = list
	r.epoch++
}

// commands reads stdin: each line {"endpoints":"URL,URL"} replaces the endpoints (members added or
// removed); other lines are refused on stderr. Returns when stdin is closed.
func (r *recorder) commands(in io.Reader) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var cmd struct {
			Endpoints string `json:"endpoints"`
		}
		if err := json.Unmarshal([]byte(line), &cmd); err != nil || cmd.Endpoints == "" {
			fmt.Fprintf(os.Stderr, "recorder: ignored a line on stdin (want {\"endpoints\":\"URL,URL\"}): %q\n", line)
			continue
		}
		r.setEndpoints(strings.Split(cmd.Endpoints, ","))
		fmt.Fprintf(os.Stderr, "recorder: endpoints now %s\n", cmd.Endpoints)
	}
}

// dial makes a client on the current endpoints; returns their epoch too.
func (r *recorder) dial() (*clientv3.Client, int, error) {
	list, epoch := r.endpoints()
	cli, err := r.dialTo(list)
	return cli, epoch, err
}

func (r *recorder) dialTo(list []string) (*clientv3.Client, error) {
	cc := clientv3.Config{Endpoints: list, DialTimeout: r.cfg.dial, Logger: zap.NewNop()}
	if r.cfg.useTLS {
		t, err := r.cfg.tls.ClientConfig()
		if err != nil {
			return nil, err
		}
		cc.TLS = t
	}
	return clientv3.New(cc)
}

// clear deletes every key under the prefix, trying up to 5 times; each try bounded by -timeout.
func (r *recorder) clear() error {
	var err error
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		var cli *clientv3.Client
		if cli, _, err = r.dial(); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.timeout)
		_, err = cli.Delete(ctx, r.cfg.prefix, clientv3.WithPrefix())
		cancel()
		cli.Close()
		if err == nil {
			return nil
		}
	}
	return err
}

// do makes one request and records it.
func (r *recorder) do(cli *clientv3.Client, rec history.Record) history.Record {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.timeout)
	defer cancel()
	rec.Call = r.now()
	var err error
	switch rec.Op {
	case history.Get:
		var resp *clientv3.GetResponse
		if resp, err = cli.Get(ctx, rec.Key); err == nil {
			rec.Rev = resp.Header.Revision
			if len(resp.Kvs) > 0 {
				rec.Found, rec.Read, rec.ModRev = true, string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
			}
		}
	case history.Put:
		var resp *clientv3.PutResponse
		if resp, err = cli.Put(ctx, rec.Key, rec.Value, clientv3.WithPrevKV()); err == nil {
			rec.Rev = resp.Header.Revision
			rec.PrevFound = prev(resp.PrevKv, &rec)
		}
	case history.Delete:
		var resp *clientv3.DeleteResponse
		if resp, err = cli.Delete(ctx, rec.Key, clientv3.WithPrevKV()); err == nil {
			rec.Rev, rec.Deleted = resp.Header.Revision, resp.Deleted
			var kv *mvccpb.KeyValue
			if len(resp.PrevKvs) > 0 {
				kv = resp.PrevKvs[0]
			}
			rec.PrevFound = prev(kv, &rec)
		}
	case history.CAS:
		var resp *clientv3.TxnResponse
		resp, err = cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(rec.Key), "=", rec.Old)).
			Then(clientv3.OpPut(rec.Key, rec.Value)).
			Else(clientv3.OpGet(rec.Key)).Commit()
		if err == nil {
			rec.Rev, rec.Succeeded = resp.Header.Revision, resp.Succeeded
			if !resp.Succeeded {
				if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
					rec.Found, rec.Read, rec.ModRev = true, string(rr.Kvs[0].Value), rr.Kvs[0].ModRevision
				}
			}
		}
	}
	rec.Return = r.now()
	rec.Outcome = outcome(err)
	if err != nil {
		rec.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(rec.Error, "deadline") {
			rec.Error += " (deadline exceeded)"
		}
	}
	return rec
}

// prev records the key's previous value a put or delete answered (asked WithPrevKV).
func prev(kv *mvccpb.KeyValue, rec *history.Record) *bool {
	found := kv != nil
	if found {
		rec.Prev, rec.PrevModRev = string(kv.Value), kv.ModRevision
	}
	return &found
}

// worker makes requests until stop is closed.
func (r *recorder) worker(id int, stop <-chan struct{}) {
	rng := rand.New(rand.NewSource(r.cfg.seed*1000 + int64(id)))
	last := map[string]string{} // the last value this worker saw or wrote per key: what its cas compares with
	total := 0
	for _, w := range r.cfg.weights {
		total += w
	}
	var cli *clientv3.Client
	epoch := 0
	defer func() {
		if cli != nil {
			cli.Close()
		}
	}()
	n := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, now := r.endpoints(); cli != nil && now != epoch {
			cli.Close()
			cli = nil
		}
		if cli == nil {
			c, e, err := r.dial()
			if err != nil {
				r.mu.Lock()
				r.dials++
				r.mu.Unlock()
				if !sleep(stop, r.cfg.wait+100*time.Millisecond) {
					return
				}
				continue
			}
			cli, epoch = c, e
		}
		key := fmt.Sprintf("%sk%d", r.cfg.prefix, rng.Intn(r.cfg.keys))
		rec := history.Record{Client: id, Key: key}
		pick := rng.Intn(total)
		switch {
		case pick < r.cfg.weights[0]:
			rec.Op = history.Get
		case pick < r.cfg.weights[0]+r.cfg.weights[1]:
			rec.Op = history.Put
		case pick < r.cfg.weights[0]+r.cfg.weights[1]+r.cfg.weights[2]:
			rec.Op = history.CAS
			rec.Old = last[key]
			if rec.Old == "" {
				rec.Old = "none" // never written: the comparison fails and the Else branch reads the key
			}
		default:
			rec.Op = history.Delete
		}
		if rec.Op == history.Put || rec.Op == history.CAS {
			n++
			rec.Value = fmt.Sprintf("%s-w%d-%d", r.cfg.run, id, n)
		}
		rec = r.do(cli, rec)
		r.write(rec)
		if rec.Outcome == history.OK {
			switch {
			case rec.Op == history.Put || rec.Succeeded:
				last[key] = rec.Value
			case rec.Op == history.Delete:
				delete(last, key)
			case rec.Found:
				last[key] = rec.Read
			}
		} else {
			cli.Close()
			cli = nil
		}
		if !sleep(stop, r.cfg.wait) {
			return
		}
	}
}

// sleep waits d, or less when stop is closed; false when stopped.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

func main() {
	var cfg config
	endpoints := flag.String("endpoints", "", "comma-separated client URLs (http:// or https://)")
	flag.StringVar(&cfg.tls.TrustedCAFile, "cacert", "", "CA bundle for https endpoints")
	flag.StringVar(&cfg.tls.CertFile, "cert", "", "client certificate")
	flag.StringVar(&cfg.tls.KeyFile, "key", "", "client key")
	out := flag.String("out", "", "history file (JSON lines), created or truncated")
	flag.IntVar(&cfg.workers, "workers", 4, "concurrent workers, one request at a time each")
	flag.IntVar(&cfg.keys, "keys", 4, "keys in the key space")
	flag.StringVar(&cfg.prefix, "prefix", "chaos/", "key prefix")
	duration := flag.Duration("duration", 0, "stop after this long (0: only on SIGTERM/SIGINT or, with -stdin, stdin closed)")
	maxDuration := flag.Duration("max-duration", 2*time.Hour, "hard bound on the run, whatever else is set")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Second, "deadline of one request")
	flag.DurationVar(&cfg.dial, "dial-timeout", 2*time.Second, "deadline of a dial")
	flag.DurationVar(&cfg.wait, "pause", 10*time.Millisecond, "pause between a worker's requests")
	flag.Int64Var(&cfg.seed, "seed", 1, "seed of the workers' choices")
	flag.StringVar(&cfg.run, "run", "", "tag in every value written (default: the start time, base 36)")
	mix := flag.String("mix", "40,25,25,10", "weights of get,put,cas,delete")
	watchStdin := flag.Bool("stdin", false, `read {"endpoints":"URL,URL"} lines on stdin (new endpoints); stop when stdin is closed`)
	finalReads := flag.Bool("final-reads", true, "after stopping, one get per key (client id = workers)")
	flag.Parse()
	if *endpoints == "" || *out == "" || cfg.workers < 1 || cfg.keys < 1 {
		fmt.Fprintln(os.Stderr, "usage: recorder -endpoints URLs -out history.jsonl [-cacert -cert -key] [-workers n] [-keys n] [-duration d] [-stdin]")
		os.Exit(2)
	}
	cfg.endpoints = strings.Split(*endpoints, ",")
	cfg.useTLS = cfg.tls.TrustedCAFile != "" || cfg.tls.CertFile != ""
	if _, err := fmt.Sscanf(*mix, "%d,%d,%d,%d", &cfg.weights[0], &cfg.weights[1], &cfg.weights[2], &cfg.weights[3]); err != nil ||
		cfg.weights[0]+cfg.weights[1]+cfg.weights[2]+cfg.weights[3] <= 0 {
		fmt.Fprintf(os.Stderr, "recorder: -mix %q: want four weights get,put,cas,delete\n", *mix)
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "recorder: %v\n", err)
		os.Exit(2)
	}
	if cfg.run == "" {
		cfg.run = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	r := &recorder{cfg: cfg, start: time.Now(), out: f, count: map[string]int{}}
	if err := r.clear(); err != nil {
		fmt.Fprintf(os.Stderr, "recorder: could not delete the key space %q before starting: %v\n", cfg.prefix, err)
		os.Exit(1)
	}

	stop := make(chan struct{})
	var once sync.Once
	why := "duration"
	halt := func(reason string) { once.Do(func() { why = reason; close(stop) }) }
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { s := <-sigs; halt(s.String()) }()
	if *watchStdin {
		go func() { r.commands(os.Stdin); halt("stdin closed") }()
	}
	limit := *maxDuration
	if *duration > 0 && *duration < limit {
		limit = *duration
	}
	go func() { time.Sleep(limit); halt("duration") }()

	var wg sync.WaitGroup
	for i := 0; i < cfg.workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.worker(i, stop) }()
	}
	wg.Wait()
	stopped := r.now()

	if *finalReads {
		if cli, _, err := r.dial(); err != nil {
			r.dials++
		} else {
			for k := 0; k < cfg.keys; k++ {
				r.write(r.do(cli, history.Record{Client: cfg.workers, Op: history.Get, Key: fmt.Sprintf("%sk%d", cfg.prefix, k), Final: true}))
			}
			cli.Close()
		}
	}
	if err := f.Close(); err != nil && r.err == nil {
		r.err = err
	}
	summary, _ := json.Marshal(map[string]interface{}{
		"history": *out, "stoppedBy": why, "ms": stopped / 1e6,
		"ok": r.count[history.OK], "failed": r.count[history.Failed], "unknown": r.count[history.Unknown],
		"failedDials": r.dials,
	})
	fmt.Println(string(summary))
	if r.err != nil {
		fmt.Fprintf(os.Stderr, "recorder: writing %s: %v\n", *out, r.err)
		os.Exit(1)
	}
}
