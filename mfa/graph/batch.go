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

// maxBatch is how many requests one $batch may carry.
const maxBatch = 20

// step is one request of a $batch.
type step struct {
	info  *abs.RequestInformation
	units int  // resource units it costs
	write bool // it counts against the write quota
	after *step
	gone  bool // a 404 means done (a DELETE of what is already gone)

	// The outcome.
	done     bool
	status   int
	body     map[string]any
	attempts int
}

// op is a chain of steps about one user that go in the same $batch (a step waits for the one it
// is after with dependsOn), e.g. PATCH requirements then GET requirements.
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

// run applies ops in $batch requests of up to 20 steps with bounded concurrency, under the pacer.
// Inside a batch, a step throttled (429) is queued again after its Retry-After (and, when the
// application's quota in the tenant is exhausted, every caller waits that long); a step that failed with 5xx is queued again after a back-off, MaxAttempts times
// in all, then its op fails with Graph's error; a step whose predecessor failed is queued again
// with it. A whole $batch that fails for a passing reason is sent again the same way; if it keeps
// failing, or Graph refuses the credentials or a permission, the run stops with that error
// (fatal), leaving the ops not done undone.
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

// send sends the pending steps of ops as one $batch and sorts out the answers.
func (r *run) send(beta bool, ops []*op) {
	adapter := r.c.v1
	if beta {
		adapter = r.c.beta
	}
	batch := core.NewBatchRequest(adapter)
	byID := map[string]*step{}
	items := map[*step]core.BatchItem{}
	units, writes := 0, 0
	for _, o := range ops {
		for _, s := range o.pending() {
			info := *s.info
			info.PathParameters = clonePath(s.info.PathParameters)
			item, err := batch.AddBatchRequestStep(info)
			if err != nil {
				r.stop(fmt.Errorf("graph: building a $batch: %w", err))
				return
			}
			if s.after != nil && !s.after.done {
				item.DependsOnItem(items[s.after])
			}
			items[s] = item
			byID[*item.GetId()] = s
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
		if r.ctx.Err() == nil {
			r.stop(failureOf(err).asError())
		}
		return
	}
	var again []*op
	var wait time.Duration
	for _, o := range ops {
		retry, failed := false, false
		for _, s := range o.pending() {
			item := resp.GetResponseById(*items[s].GetId())
			if item == nil || item.GetStatus() == nil {
				s.attempts++
				if s.attempts >= r.c.cfg.MaxAttempts {
					o.fail, failed = &failure{msg: "the $batch answer has no response for a request"}, true
					break
				}
				retry = true
				continue
			}
			s.status = int(*item.GetStatus())
			if s.status < 300 || s.status == http.StatusNotFound && s.gone {
				s.done, s.body = true, item.GetBody()
				continue
			}
			f := itemFailure(item)
			if f.fatal() {
				r.stop(f.asError())
				return
			}
			if s.status != http.StatusFailedDependency {
				s.attempts++
			}
			if !f.transient() || s.attempts >= r.c.cfg.MaxAttempts {
				o.fail, failed = f, true
				break
			}
			retry = true
			d := r.c.backoff(f, max(s.attempts, 1))
			if f.appWide() {
				r.c.pace.pause(d)
			}
			if s.status != http.StatusFailedDependency {
				wait = max(wait, d)
			}
		}
		switch {
		case failed:
			r.finish(o)
		case retry:
			again = append(again, o)
		default:
			r.finish(o)
		}
	}
	if len(again) > 0 {
		r.requeue(again, wait)
	}
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
