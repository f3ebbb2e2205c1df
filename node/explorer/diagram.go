package explorer

import (
	"fmt"
	"math"
	"strconv"
)

// A diagram is a picture the server draws as inline SVG: boxes (with an
// optional link, tooltip and two lines of text), paths and free text. The
// "diagram" template (explorer/templates/_diagram.html) renders it with
// html/template, so every label and tooltip is escaped like the rest of
// the page. Coordinates are in the SVG's own units; CSS scales the picture
// to the page's width.
type diagram struct {
	W, H  px
	Class string // CSS class of the <svg>
	Label string // the picture's accessible name
	Paths []diagramPath
	Boxes []diagramBox
	Texts []diagramText
	// Empty, when set, is said instead of drawing (too few blocks, ...).
	Empty string
}

// px is an SVG coordinate; it prints with at most one decimal.
type px float64

// String formats the coordinate for an SVG attribute.
func (p px) String() string {
	if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(float64(p)*10)/10, 'f', -1, 64)
}

// diagramBox is a rectangle, maybe a link, with a tooltip and up to two
// lines of text centred in it.
type diagramBox struct {
	X, Y, W, H px
	R          px // corner radius
	Class      string
	Href       string
	Title      string // tooltip
	Label, Sub string
	ID         string // data-id: a stable handle for scripts and tests
}

// LabelY and SubY place the box's text lines.
func (b diagramBox) LabelY() px {
	if b.Sub == "" {
		return b.Y + b.H/2 + 4
	}
	return b.Y + b.H/2 - 3
}

// SubY is the baseline of the second line.
func (b diagramBox) SubY() px { return b.Y + b.H/2 + 11 }

// CX is the box's horizontal centre.
func (b diagramBox) CX() px { return b.X + b.W/2 }

// diagramPath is an SVG path.
type diagramPath struct {
	D     string
	Class string
}

// diagramText is a label.
type diagramText struct {
	X, Y   px
	Text   string
	Class  string
	Anchor string // start, middle or end
}

func line(x1, y1, x2, y2 px) string {
	return fmt.Sprintf("M%s %sL%s %s", x1, y1, x2, y2)
}

// curve is an S-shaped connector between two points left to right.
func curve(x1, y1, x2, y2 px) string {
	mx := (x1 + x2) / 2
	return fmt.Sprintf("M%s %sC%s %s %s %s %s %s", x1, y1, mx, y1, mx, y2, x2, y2)
}

// niceCeil rounds v up to a round number for an axis: 1, 1.2, 1.5, 2, 2.5,
// 3, 4, 5, 6 or 8 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
