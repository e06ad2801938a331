// Package viewtest helps tests read rendered pages: it parses HTML and finds elements by
// their data-testid attribute, the hooks the views put on what tests look for.
package viewtest

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Doc is a parsed page.
type Doc struct {
	root *html.Node
}

// Parse parses a page and fails the test when it is not HTML.
func Parse(t testing.TB, page string) *Doc {
	t.Helper()
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return &Doc{root: root}
}

// Root is the document node, for Elements.
func (d *Doc) Root() *html.Node { return d.root }

// All returns the elements whose data-testid is id, in document order.
func (d *Doc) All(id string) []*html.Node { return within(d.root, id) }

// One returns the only element whose data-testid is id, failing the test when there is not
// exactly one.
func (d *Doc) One(t testing.TB, id string) *html.Node {
	t.Helper()
	return one(t, d.root, id)
}

// Texts returns the text of every element whose data-testid is id.
func (d *Doc) Texts(id string) []string {
	var out []string
	for _, n := range d.All(id) {
		out = append(out, Text(n))
	}
	return out
}

// CheckTexts asserts the text of the one element with each data-testid in want.
func (d *Doc) CheckTexts(t testing.TB, want map[string]string) {
	t.Helper()
	for id, w := range want {
		if got := Text(d.One(t, id)); got != w {
			t.Errorf("%s: got %q, want %q", id, got, w)
		}
	}
}

// FormValues returns what a browser submits for form as it stands: the named inputs, with
// checkboxes and radio buttons only when checked.
func FormValues(form *html.Node) url.Values {
	v := url.Values{}
	for _, in := range Elements(form, "input") {
		name := Attr(in, "name")
		if name == "" {
			continue
		}
		switch Attr(in, "type") {
		case "checkbox", "radio":
			if !HasAttr(in, "checked") {
				continue
			}
		case "submit", "button":
			continue
		}
		v.Add(name, Attr(in, "value"))
	}
	return v
}

// In returns the elements whose data-testid is id below n.
func In(n *html.Node, id string) []*html.Node { return within(n, id) }

// OneIn returns the only element whose data-testid is id below n.
func OneIn(t testing.TB, n *html.Node, id string) *html.Node {
	t.Helper()
	return one(t, n, id)
}

// Elements returns the elements named tag (such as "input") below n.
func Elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
	}
	return out
}

// Text is the text inside n with runs of white space made single spaces; a <br> counts as
// white space.
func Text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		switch {
		case c.Type == html.TextNode:
			b.WriteString(c.Data)
		case c.Type == html.ElementNode && c.Data == "br":
			b.WriteString(" ")
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Attr returns the value of n's attribute key, empty when n has none.
func Attr(n *html.Node, key string) string {
	v, _ := attr(n, key)
	return v
}

// HasAttr reports whether n has the attribute key.
func HasAttr(n *html.Node, key string) bool {
	_, ok := attr(n, key)
	return ok
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func within(n *html.Node, id string) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && Attr(c, "data-testid") == id {
			out = append(out, c)
		}
	}
	return out
}

func one(t testing.TB, n *html.Node, id string) *html.Node {
	t.Helper()
	found := within(n, id)
	if len(found) != 1 {
		t.Fatalf("want one element with data-testid=%q, found %d", id, len(found))
	}
	return found[0]
}
