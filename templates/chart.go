package templates

import (
	"fmt"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// StateChart is the overview's chart of the state counts day by day, laid out on the server as
// SVG coordinates (no script draws it).
type StateChart struct {
	Width, Height int
	Lines         []ChartLine
	YTicks        []ChartTick
	XTicks        []ChartTick
	Days          []mfa.OverviewCounts // the figures, for the table behind the chart
}

// ChartLine is one state's line.
type ChartLine struct {
	State  mfa.State
	Points string // "x,y x,y ..."
	Dots   []ChartDot
}

// ChartDot is one day's point.
type ChartDot struct {
	X, Y  int
	Title string
}

// ChartTick is a labelled position on an axis.
type ChartTick struct {
	Pos   int
	Label string
}

// The chart's margins, in SVG units.
const (
	chartLeft   = 60
	chartRight  = 10
	chartTop    = 10
	chartBottom = 30
)

// NewStateChart lays out the snapshots (oldest first).
func NewStateChart(days []mfa.OverviewCounts) StateChart {
	c := StateChart{Width: 720, Height: 240, Days: days}
	if len(days) == 0 {
		return c
	}
	top := 0
	for _, d := range days {
		top = max(top, d.Enabled, d.Enforced, d.Disabled)
	}
	top = niceCeil(top)
	plotW, plotH := c.Width-chartLeft-chartRight, c.Height-chartTop-chartBottom
	x := func(i int) int {
		if len(days) == 1 {
			return chartLeft + plotW/2
		}
		return chartLeft + i*plotW/(len(days)-1)
	}
	y := func(n int) int { return chartTop + plotH - n*plotH/top }
	for _, st := range mfa.States {
		line := ChartLine{State: st}
		var pts []string
		for i, d := range days {
			n := countOf(d, st)
			pts = append(pts, fmt.Sprintf("%d,%d", x(i), y(n)))
			line.Dots = append(line.Dots, ChartDot{X: x(i), Y: y(n), Title: fmt.Sprintf("%s: %s %s", d.Day, thousands(n), st.Label())})
		}
		line.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, line)
	}
	for k := 0; k <= 4; k++ {
		n := top * k / 4
		c.YTicks = append(c.YTicks, ChartTick{Pos: y(n), Label: thousands(n)})
	}
	step := max(1, len(days)/6)
	for i := 0; i < len(days); i += step {
		c.XTicks = append(c.XTicks, ChartTick{Pos: x(i), Label: days[i].Day[5:]})
	}
	return c
}

func countOf(d mfa.OverviewCounts, st mfa.State) int {
	switch st {
	case mfa.StateEnabled:
		return d.Enabled
	case mfa.StateEnforced:
		return d.Enforced
	}
	return d.Disabled
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1), for the axis' top.
func niceCeil(n int) int {
	p := 1
	for {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n && m*p > 0 {
				return m * p
			}
		}
		p *= 10
	}
}

// OverviewView is the overview tab.
type OverviewView struct {
	Overview   *mfa.Overview
	Chart      StateChart
	Exemptions int // users disabled for a while
	// ConditionalAccess: the directory knows Conditional Access coverage, which the admins
	// without MFA leave out (and their links filter out).
	ConditionalAccess bool
}

// AdminsWithoutMFAWho says who the admins without MFA are, up to their states (the links).
func (v OverviewView) AdminsWithoutMFAWho() string {
	if v.ConditionalAccess {
		return "may sign in, hold an admin role, are not required to use MFA by Conditional Access or security defaults, and are"
	}
	return "may sign in, hold an admin role and are"
}

// AdminsWithoutMFALink is the users page listing exactly the admins without MFA in state
// (mfa.OverviewCounts.AdminsWithoutMFA): sign-in allowed, admins, in state, not covered.
func (v OverviewView) AdminsWithoutMFALink(state mfa.State) string {
	link := "/users?view=allowed&privileged=true&status=" + string(state)
	if v.ConditionalAccess {
		link += "&coverage=none"
	}
	return link
}
