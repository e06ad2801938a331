package reconcile

import (
	"context"
	"errors"
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
