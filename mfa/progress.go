package mfa

import "sync"

// liveProgress is the progress of the batches being applied: rows already run through the rules in
// a batch's transaction, not yet committed. A job's stored counters advance only when its batch
// commits (a batch is one transaction of up to a second or two, so that shared index pages are
// written once); what a job's page shows adds the batch in flight, so that the progress bar moves
// every time it is polled.
type liveProgress struct {
	mu   sync.Mutex
	jobs map[string]*Job // counters of the batch in flight, by job id
}

// add counts a row of job id's batch in flight.
func (p *liveProgress) add(id string, changed, unchanged, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.jobs == nil {
		p.jobs = map[string]*Job{}
	}
	j := p.jobs[id]
	if j == nil {
		j = &Job{}
		p.jobs[id] = j
	}
	j.Done += changed + unchanged + failed
	j.Changed += changed
	j.Unchanged += unchanged
	j.Failed += failed
}

// reset forgets job id's batch: it was committed (and the stored counters count it) or given up.
func (p *liveProgress) reset(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.jobs, id)
}

// overlay adds the batch in flight to a job read from the store.
func (p *liveProgress) overlay(j *Job) {
	if j == nil || j.Finished() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.jobs[j.ID]; b != nil {
		j.Done = min(j.Total, j.Done+b.Done)
		j.Changed += b.Changed
		j.Unchanged += b.Unchanged
		j.Failed += b.Failed
	}
}
