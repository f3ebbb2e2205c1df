package sim

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
)

// The plots are plain SVG written here: no library, the same bytes for the
// same report.

const (
	plotW, plotH                   = 720, 400
	padL, padR, padT, padB         = 70, 20, 40, 55
	innerW, innerH                 = plotW - padL - padR, plotH - padT - padB
	colourLine, colourBar, colour2 = "#1f6feb", "#d1495b", "#8b949e"
)

// svgPlot is a chart being drawn: a frame with linear axes.
type svgPlot struct {
	b          bytes.Buffer
	xMax, yMax float64
	logLo      float64 // > 0: the x axis is logarithmic from logLo to xMax
}

func newPlot(title, xLabel, yLabel string, xMax, yMax float64) *svgPlot {
	p := &svgPlot{xMax: xMax, yMax: yMax}
	p.frame(title, xLabel, yLabel, ticks(xMax), tickLabel)
	return p
}

// newLogPlot is a plot whose x axis is milliseconds on a log scale from lo
// to hi (powers of ten), with a tick per decade labelled as a duration.
func newLogPlot(title, xLabel, yLabel string, lo, hi float64) *svgPlot {
	p := &svgPlot{xMax: hi, yMax: 1, logLo: lo}
	var xt []float64
	for v := lo; v <= hi*1.0001; v *= 10 {
		xt = append(xt, v)
	}
	p.frame(title, xLabel, yLabel, xt, logLabel)
	return p
}

// logLabel names a decade of milliseconds: "10 ms", "1 s", "1000 s".
func logLabel(ms float64) string {
	if ms < 1000 {
		return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', -1, 64) + " s"
}

// frame draws the background, title, grid, tick labels and axis labels.
func (p *svgPlot) frame(title, xLabel, yLabel string, xTicks []float64, xLabelOf func(float64) string) {
	fmt.Fprintf(&p.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(&p.b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&p.b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	for _, t := range xTicks {
		x := p.x(t)
		fmt.Fprintf(&p.b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#eeeeee"/>`+"\n", f(x), padT, f(x), padT+innerH)
		fmt.Fprintf(&p.b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f(x), padT+innerH+16, html.EscapeString(xLabelOf(t)))
	}
	for _, t := range ticks(p.yMax) {
		y := p.y(t)
		fmt.Fprintf(&p.b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#eeeeee"/>`+"\n", padL, f(y), padL+innerW, f(y))
		fmt.Fprintf(&p.b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", padL-6, f(y), tickLabel(t))
	}
	fmt.Fprintf(&p.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444444"/>`+"\n", padL, padT, innerW, innerH)
	fmt.Fprintf(&p.b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+innerW/2, plotH-12, html.EscapeString(xLabel))
	fmt.Fprintf(&p.b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>`+"\n", padT+innerH/2, padT+innerH/2, html.EscapeString(yLabel))
}

func (p *svgPlot) x(v float64) float64 {
	if p.logLo > 0 {
		return padL + math.Log10(v/p.logLo)/math.Log10(p.xMax/p.logLo)*innerW
	}
	return padL + v/p.xMax*innerW
}
func (p *svgPlot) y(v float64) float64 { return padT + innerH - v/p.yMax*innerH }

// text puts a label at data coordinates.
func (p *svgPlot) text(x, y float64, anchor, colour, s string) {
	fmt.Fprintf(&p.b, `<text x="%s" y="%s" text-anchor="%s" fill="%s">%s</text>`+"\n", f(p.x(x)), f(p.y(y)), anchor, colour, html.EscapeString(s))
}

func (p *svgPlot) done() []byte {
	p.b.WriteString("</svg>\n")
	return p.b.Bytes()
}

// f formats a coordinate with one decimal.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// ticks returns about five round values from 0 to max.
func ticks(max float64) []float64 {
	if max <= 0 {
		return []float64{0}
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := 0.0; v <= max*1.0000001; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

func tickLabel(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// axisMax rounds v up to the last tick above it.
func axisMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	t := ticks(v * 1.05)
	step := 1.0
	if len(t) > 1 {
		step = t[1]
	}
	return math.Ceil(v*1.05/step) * step
}

// PropagationSVG plots the CDF of the delay from mining a block to its
// arrival at each node, on a logarithmic time axis (a partition holds some
// arrivals up for hours, the rest take milliseconds), with the medians of
// the time to reach 50%, 90% and 100% of the nodes marked.
func (r *Report) PropagationSVG() []byte {
	lo, hi := 1.0, 1000.0
	if n := len(r.CDF); n > 0 {
		first := r.CDF[0].Millis
		if first <= 0 && n > 1 {
			first = r.CDF[1].Millis
		}
		lo = math.Pow(10, math.Floor(math.Log10(math.Max(first, 1e-3))))
		hi = math.Pow(10, math.Ceil(math.Log10(math.Max(r.CDF[n-1].Millis, lo*10)*1.0001)))
	}
	title := fmt.Sprintf("Block propagation: %d nodes, latency %s, %s", r.Config.Nodes, fmtMillis(r.Config.LatencyMillis), fmtBandwidth(r.Config.BandwidthBits))
	p := newLogPlot(title, "delay from mining to arrival at a node (log scale)", "fraction of arrivals", lo, hi)
	if len(r.CDF) > 0 {
		var path bytes.Buffer
		fmt.Fprintf(&path, "M%s %s", f(p.x(lo)), f(p.y(0)))
		prev := 0.0
		for _, s := range r.CDF {
			x := p.x(math.Max(s.Millis, lo))
			fmt.Fprintf(&path, " L%s %s L%s %s", f(x), f(p.y(prev)), f(x), f(p.y(s.Fraction)))
			prev = s.Fraction
		}
		fmt.Fprintf(&path, " L%s %s", f(p.x(hi)), f(p.y(prev)))
		fmt.Fprintf(&p.b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", path.String(), colourLine)
	}
	marks := []struct {
		label string
		q     Quantiles
	}{{"50%", r.Propagation.To50}, {"90%", r.Propagation.To90}, {"100%", r.Propagation.To100}}
	for i, m := range marks {
		if m.q.N == 0 {
			continue
		}
		x := math.Max(m.q.Median, lo)
		fmt.Fprintf(&p.b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-dasharray="4 3"/>`+"\n", f(p.x(x)), padT, f(p.x(x)), padT+innerH, colour2)
		fmt.Fprintf(&p.b, `<text x="%d" y="%s" fill="#333333">median time to %s of the nodes: %s</text>`+"\n",
			padL+innerW-260, f(p.y(0.32-0.08*float64(i))), m.label, html.EscapeString(fmtMillis(m.q.Median)))
	}
	return p.done()
}

// StaleSVG plots the stale rate of the blocks mined in each time window,
// with partitions shaded and the whole run's rate as a line.
func (r *Report) StaleSVG() []byte {
	xMax := r.EndSeconds / 3600
	if xMax <= 0 {
		xMax = 1
	}
	yTop := r.Blocks.StaleRate
	for _, b := range r.StaleOver {
		if b.Mined > 0 {
			yTop = math.Max(yTop, float64(b.Stale)/float64(b.Mined))
		}
	}
	yMax := axisMax(math.Max(yTop*100, 1))
	title := fmt.Sprintf("Stale blocks over time: %d of %d mined (%.2f%%)", r.Blocks.Stale, r.Blocks.Mined, r.Blocks.StaleRate*100)
	p := newPlot(title, "simulated time (hours)", "stale rate (%)", xMax, yMax)
	for _, pt := range r.Config.Partitions {
		x0, x1 := p.x(pt.StartSeconds/3600), p.x(math.Min(pt.HealSeconds/3600, xMax))
		fmt.Fprintf(&p.b, `<rect x="%s" y="%d" width="%s" height="%d" fill="#f2cc60" fill-opacity="0.3"/>`+"\n", f(x0), padT, f(x1-x0), innerH)
		p.text(pt.StartSeconds/3600, yMax*0.95, "start", "#7a5b00", " partition")
	}
	for _, b := range r.StaleOver {
		if b.Mined == 0 {
			continue
		}
		rate := float64(b.Stale) / float64(b.Mined) * 100
		x0, x1 := p.x(b.StartSeconds/3600), p.x(b.EndSeconds/3600)
		y := p.y(rate)
		fmt.Fprintf(&p.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%d of %d stale</title></rect>`+"\n",
			f(x0+1), f(y), f(math.Max(x1-x0-2, 1)), f(float64(padT+innerH)-y), colourBar, b.Stale, b.Mined)
	}
	y := p.y(r.Blocks.StaleRate * 100)
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-dasharray="6 4"/>`+"\n", padL, f(y), padL+innerW, f(y), colourLine)
	fmt.Fprintf(&p.b, `<text x="%d" y="%s" fill="%s">whole run %.2f%%</text>`+"\n", padL+6, f(y-5), colourLine, r.Blocks.StaleRate*100)
	return p.done()
}
