package engine

import (
	"sync"
)

// Stage is one consuming component and the topics it reads.
type Stage struct {
	Name   string
	Inputs []string
}

// Progress counts what every component committed. It implements
// streams.Observer; pass it as Options.Observer and its Stopped method as
// Options.Stopped. It tells when a bounded replay has been processed
// completely.
type Progress struct {
	mu       sync.Mutex
	produced map[string]int64
	consumed map[string]map[string]int64
	sources  map[string]bool // source name -> finished
	errs     map[string]error
}

// NewProgress returns a Progress that waits for the named sources to finish.
func NewProgress(sources ...string) *Progress {
	p := &Progress{
		produced: map[string]int64{},
		consumed: map[string]map[string]int64{},
		sources:  map[string]bool{},
		errs:     map[string]error{},
	}
	for _, s := range sources {
		p.sources[s] = false
	}
	return p
}

// Committed implements streams.Observer.
func (p *Progress) Committed(app string, consumed, produced map[string]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, n := range produced {
		p.produced[t] += n
	}
	if len(consumed) > 0 {
		m := p.consumed[app]
		if m == nil {
			m = map[string]int64{}
			p.consumed[app] = m
		}
		for t, n := range consumed {
			m[t] += n
		}
	}
}

// Stopped records that a component stopped; use it as Options.Stopped.
func (p *Progress) Stopped(name string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.errs[name] = err
		return
	}
	if _, ok := p.sources[name]; ok {
		p.sources[name] = true
	}
}

// Complete reports whether every source has finished and every stage has
// committed every record of its inputs. It is checked under one lock: a
// record in flight anywhere leaves some stage's consumed count below its
// input's produced count, because a batch's consumed and produced counts
// are reported together when it commits.
func (p *Progress) Complete(stages []Stage) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, done := range p.sources {
		if !done {
			return false
		}
	}
	for _, s := range stages {
		for _, t := range s.Inputs {
			if p.consumed[s.Name][t] != p.produced[t] {
				return false
			}
		}
	}
	return true
}

// Produced returns how many records were committed to topic.
func (p *Progress) Produced(topic string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.produced[topic]
}

// Consumed returns how many records of topic app committed as consumed.
func (p *Progress) Consumed(app, topic string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.consumed[app][topic]
}

// SourcesDone returns how many of the awaited sources finished, and how many
// there are.
func (p *Progress) SourcesDone() (done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.sources {
		if d {
			done++
		}
	}
	return done, len(p.sources)
}
