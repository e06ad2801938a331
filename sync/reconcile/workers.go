package reconcile

import (
	"context"
	"sync"
)

// withSlot runs fn while holding one slot of sem.
func withSlot(sem chan struct{}, fn func()) {
	sem <- struct{}{}
	defer func() { <-sem }()
	fn()
}

// forEach calls fn for every item, each call holding a slot of sem, so at most cap(sem) run at
// once across every caller sharing sem. It returns when all calls have returned.
//
// A few workers take the items in turn rather than a goroutine each: a request through
// regclient runs deep, and growing a new goroutine's stack for each was a tenth of a check's
// CPU.
func forEach[T any](items []T, sem chan struct{}, fn func(T)) {
	next := make(chan T)
	var wg sync.WaitGroup
	for range min(len(items), cap(sem)) {
		wg.Go(func() {
			for it := range next {
				fn(it)
				<-sem
			}
		})
	}
	for _, it := range items {
		sem <- struct{}{}
		next <- it
	}
	close(next)
	wg.Wait()
}

// repoLocks keeps two runs from working on one repository at once.
//
// TODO: the locks live in one process; a CLI execute and a server run on the same repository
// are not kept apart. A lock row in the database would cover both.
type repoLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// lock waits until no other run holds name, then holds it until unlock is called.
func (l *repoLocks) lock(ctx context.Context, name string) (unlock func(), err error) {
	for {
		l.mu.Lock()
		busy, ok := l.held[name]
		if !ok {
			done := make(chan struct{})
			l.held[name] = done
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, name)
				l.mu.Unlock()
				close(done)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
