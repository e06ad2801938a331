package reconcile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRepoLocks_OneHolderPerName(t *testing.T) {
	l := repoLocks{held: map[string]chan struct{}{}}
	ctx := context.Background()
	unlockA, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another name is free at once.
	unlockB, err := l.lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	// The same name is not, for as long as it is held.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of a held name: %v, want a deadline error", err)
	}

	got := make(chan error, 1)
	go func() {
		unlock, err := l.lock(ctx, "a")
		if err == nil {
			unlock()
		}
		got <- err
	}()
	unlockA()
	if err := <-got; err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if len(l.held) != 0 {
		t.Errorf("%d names still held", len(l.held))
	}
}

// TestForEach_EveryItemOnceWithinTheBound: two callers sharing a semaphore of 3 call fn for
// each of their items once, never more than 3 at a time between them.
func TestForEach_EveryItemOnceWithinTheBound(t *testing.T) {
	sem := make(chan struct{}, 3)
	var mu sync.Mutex
	seen := map[int]int{}
	running, most, started := 0, 0, 0
	// The first three calls wait for each other, so the bound is reached, not just obeyed.
	full := make(chan struct{})
	fn := func(i int) {
		mu.Lock()
		seen[i]++
		running++
		started++
		most = max(most, running)
		first := started <= 3
		if started == 3 {
			close(full)
		}
		mu.Unlock()
		if first {
			<-full
		}
		mu.Lock()
		running--
		mu.Unlock()
	}
	items := func(from int) []int {
		out := make([]int, 20)
		for i := range out {
			out[i] = from + i
		}
		return out
	}
	var wg sync.WaitGroup
	wg.Go(func() { forEach(items(0), sem, fn) })
	wg.Go(func() { forEach(items(100), sem, fn) })
	wg.Wait()
	forEach([]int{}, sem, fn)

	if len(seen) != 40 {
		t.Errorf("%d items called, want 40", len(seen))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("item %d called %d times", i, n)
		}
	}
	if most != 3 {
		t.Errorf("%d calls at once at most, want 3", most)
	}
	if len(sem) != 0 {
		t.Errorf("%d slots still held", len(sem))
	}
}
