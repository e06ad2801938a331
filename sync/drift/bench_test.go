package drift_test

import (
	"fmt"
	"testing"

	"github.com/regdrift/regdrift/sync/drift"
)

// BenchmarkClassify classifies one repository of n tags with a realistic mix: most in sync,
// some stale, some only on one side.
func BenchmarkClassify(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := drift.Side{Tags: make(map[string]drift.Resolved, n)}
			s := drift.Side{Tags: make(map[string]drift.Resolved, n)}
			for i := range n {
				tag := fmt.Sprintf("v%d", i)
				d := fmt.Sprintf("sha256:%064x", i)
				switch {
				case i%50 == 0:
					p.Tags[tag] = m(d)
				case i%50 == 1:
					s.Tags[tag] = m(d)
				case i%10 == 2:
					p.Tags[tag], s.Tags[tag] = m(d), m(d+"x")
				default:
					p.Tags[tag], s.Tags[tag] = m(d), m(d)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := drift.Classify(p, s); len(got) != n {
					b.Fatalf("%d rows, want %d", len(got), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/tag")
		})
	}
}
