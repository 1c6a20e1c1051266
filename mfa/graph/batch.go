package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// maxBatch is how many requests one $batch may carry ("JSON batch requests are currently limited
// to 20 individual requests", concepts/json-batching.md).
const maxBatch = 20

// step is one request of a $batch. Steps never depend on each other: every $batch this package
// sends is fully parallel, because Graph refuses a batch that is neither fully parallel nor fully
// sequential, and a fully sequential one fails every request after the first failure (424). Work
// that must happen in order (a PATCH, then reading the state back) is a later op, submitted by the
// earlier op's then.
type step struct {
	info  *abs.RequestInformation
	units int  // resource units it costs
	write bool // it counts against the write quota
	gone  bool // a 404 means done (a DELETE of what is already gone)

	// The outcome.
	done     bool
	status   int
	body     map[string]any
	attempts int
}

// op is a set of independent steps about one user, e.g. GET requirements and GET
// signInPreferences. Its steps go in the same $batch.
type op struct {
	beta  bool
	steps []*step
	// then runs once every step succeeded or one failed for good (fail is set); it may submit
	// more ops to the same run.
	then func(o *op)
	fail *failure
}

func (o *op) pending() []*step {
	var out []*step
	for _, s := range o.steps {
		if !s.done {
			out = append(out, s)
		}
	}
	return out
}

// run applies ops in fully parallel $batch requests of up to 20 steps, with bounded concurrency,
// under the pacer. A step Graph refuses for good (a 4xx other than 408 and 429, SPEC §8) fails its
// op with Graph's message at once, never retried; a step throttled (429), failed with 408 or 5xx,
// or missing from the answer is queued again after its Retry-After or a back-off, MaxAttempts times
// in all, and then fails its op. A 429 of a shared quota holds every caller back (pacer.pause). A
// whole $batch that fails for a passing reason is sent again the same way; if it keeps failing, or
// Graph refuses the credentials or a permission, the run stops with that error (fatal), leaving the
// ops not done undone: that is an outage, not a row's failure.
type run struct {
	c   *client
	ctx context.Context

	mu      sync.Mutex
	cond    *sync.Cond
	queue   [2][2][]*op // ready ops by API version (v1.0, beta) and kind (with writes, reads only)
	ready   int
	open    int // ops submitted and not finished
	fatal   error
	workers int
}

func (c *client) newRun(ctx context.Context) *run {
	r := &run{c: c, ctx: ctx}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func version(beta bool) int {
	if beta {
		return 1
	}
	return 0
}

// submit queues an op.
func (r *run) submit(o *op) {
	if len(o.steps) > maxBatch {
		panic(fmt.Sprintf("graph: an op of %d steps does not fit in a $batch", len(o.steps)))
	}
	r.mu.Lock()
	r.open++
	r.enqueue(o)
	if r.workers < r.c.cfg.Concurrency {
		r.workers++
		go r.work()
	}
	r.mu.Unlock()
	r.cond.Signal()
}

// wait blocks until every op submitted (also by then functions) is finished, or the run stopped,
// and returns why it stopped.
func (r *run) wait() error {
	stop := context.AfterFunc(r.ctx, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.open > 0 && r.fatal == nil && r.ctx.Err() == nil {
		r.cond.Wait()
	}
	if r.fatal != nil {
		return r.fatal
	}
	return r.ctx.Err()
}

func (r *run) stopped() bool { return r.fatal != nil || r.ctx.Err() != nil }

// kind is 0 for an op with a write pending, 1 for reads only.
func kind(o *op) int {
	for _, s := range o.pending() {
		if s.write {
			return 0
		}
	}
	return 1
}

// enqueue makes an op ready; r.mu is held.
func (r *run) enqueue(o *op) {
	v, k := version(o.beta), kind(o)
	r.queue[v][k] = append(r.queue[v][k], o)
	r.ready++
}

// take removes ready ops of one API version whose pending steps fit in a batch. Writes go first:
// the write quota is what a bulk update waits for, so writes are sent as soon as they are ready
// while reads fill the other requests.
func (r *run) take() (beta bool, ops []*op) {
	v := 0
	switch w0, w1 := len(r.queue[0][0]), len(r.queue[1][0]); {
	case w0+w1 > 0:
		if w1 > w0 {
			v = 1
		}
	case len(r.queue[1][1]) > len(r.queue[0][1]):
		v = 1
	}
	n := 0
	for k := range 2 {
		q := r.queue[v][k]
		i := 0
		for ; i < len(q); i++ {
			c := len(q[i].pending())
			if n+c > maxBatch {
				break
			}
			n += c
		}
		ops = append(ops, q[:i]...)
		r.queue[v][k] = q[i:]
		r.ready -= i
		if i < len(q) {
			break
		}
	}
	return v == 1, ops
}

func (r *run) work() {
	for {
		r.mu.Lock()
		for r.ready == 0 && r.open > 0 && !r.stopped() {
			r.cond.Wait()
		}
		if r.open == 0 || r.stopped() {
			r.workers--
			r.mu.Unlock()
			r.cond.Broadcast()
			return
		}
		beta, ops := r.take()
		r.mu.Unlock()
		r.send(beta, ops)
	}
}

// finish ends an op: its then runs (and may submit more) before it stops counting as open.
func (r *run) finish(o *op) {
	if o.then != nil {
		o.then(o)
	}
	r.mu.Lock()
	r.open--
	r.mu.Unlock()
	r.cond.Broadcast()
}

// requeue puts ops back after d.
func (r *run) requeue(ops []*op, d time.Duration) {
	put := func() {
		r.mu.Lock()
		for _, o := range ops {
			r.enqueue(o)
		}
		r.mu.Unlock()
		r.cond.Broadcast()
	}
	if d <= 0 {
		put()
		return
	}
	time.AfterFunc(d, put)
}

func (r *run) stop(err error) {
	r.mu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.mu.Unlock()
	r.cond.Broadcast()
}

// send sends the pending steps of ops as one fully parallel $batch and sorts out the answers.
func (r *run) send(beta bool, ops []*op) {
	adapter := r.c.v1
	if beta {
		adapter = r.c.beta
	}
	batch := core.NewBatchRequest(adapter)
	ids := map[*step]string{}
	units, writes := 0, 0
	for _, o := range ops {
		for _, s := range o.pending() {
			info := *s.info
			info.PathParameters = clonePath(s.info.PathParameters)
			item, err := batch.AddBatchRequestStep(info)
			if err != nil {
				r.stop(failureOf(fmt.Errorf("building a $batch: %w", err)).asError())
				return
			}
			ids[s] = *item.GetId()
			units += s.units
			if s.write {
				writes++
			}
		}
	}
	var resp core.BatchResponse
	err := r.c.do(r.ctx, units, writes, func(ctx context.Context) error {
		var err error
		resp, err = batch.Send(ctx, adapter)
		return err
	})
	if err != nil {
		if r.ctx.Err() != nil {
			return
		}
		f := failureOf(err)
		if !f.refused() {
			r.stop(f.asError()) // an outage, or credentials: the run stops, the ops stay undone
			return
		}
		for _, o := range ops { // Graph refused the batch itself: the same batch would be refused again
			o.fail = f
			r.finish(o)
		}
		return
	}
	var again []*op
	var wait time.Duration
	for _, o := range ops {
		retry := false
		for _, s := range o.pending() {
			f := r.answer(s, resp.GetResponseById(ids[s]))
			switch {
			case f == nil:
				continue
			case f.fatal():
				r.stop(f.asError())
				return
			case f.transient() && s.attempts < r.c.cfg.MaxAttempts:
				retry = true
				d := r.c.backoff(f, s.attempts)
				if f.shared() {
					r.c.pace.pause(d)
				}
				wait = max(wait, d)
				continue
			}
			o.fail = f // refused for good, or still failing after MaxAttempts
			break
		}
		if o.fail == nil && retry {
			again = append(again, o)
		} else {
			r.finish(o)
		}
	}
	if len(again) > 0 {
		r.requeue(again, wait)
	}
}

// answer records the response to a step: nil when the step is done, else why not (a response
// missing from the $batch answer is a passing failure: the request is sent again, which is safe
// for every request this package sends: GETs, PATCHes that set a value, DELETEs whose 404 is done).
func (r *run) answer(s *step, item core.BatchItem) *failure {
	if item == nil || item.GetStatus() == nil {
		s.attempts++
		return &failure{msg: fmt.Sprintf("Microsoft Graph's $batch answer had no response for this request (%d times)", s.attempts)}
	}
	s.status = int(*item.GetStatus())
	if s.status < 300 || s.status == http.StatusNotFound && s.gone {
		s.done, s.body = true, item.GetBody()
		return nil
	}
	s.attempts++
	return itemFailure(item)
}

func clonePath(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// itemFailure reads the failure of one response of a $batch: its status, Graph's error and the
// Retry-After it announces.
func itemFailure(item core.BatchItem) *failure {
	f := &failure{status: int(*item.GetStatus()), msg: fmt.Sprintf("HTTP %d", *item.GetStatus())}
	// The SDK hands the body over as a map of pointers: read it back through JSON.
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if (&step{body: item.GetBody()}).decode(&body) == nil {
		if body.Error.Message != "" {
			f.msg = body.Error.Message
		}
		f.code = body.Error.Code
	}
	h := item.GetHeaders()
	get := func(k string) string {
		for hk, v := range h {
			if strings.EqualFold(hk, k) {
				return v
			}
		}
		return ""
	}
	f.retryAfter, f.scope = retryAfter(get), get("x-ms-throttle-scope")
	return f
}

// decode turns a step's answer into v (through JSON: the SDK hands $batch bodies over as maps).
func (s *step) decode(v any) error {
	b, err := json.Marshal(s.body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
