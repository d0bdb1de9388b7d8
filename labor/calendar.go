package labor

import (
	"fmt"
	"slices"
	"time"
)

// WallClock is a time of day on the local wall clock, in minutes after local midnight
// (0 to 1439). Build one with HM.
type WallClock int

// HM returns the wall-clock time hour:minute.
func HM(hour, minute int) WallClock { return WallClock(hour*60 + minute) }

// String formats the time as "15:04".
func (w WallClock) String() string { return fmt.Sprintf("%02d:%02d", int(w)/60, int(w)%60) }

func (w WallClock) valid() bool { return w >= 0 && w < 24*60 }

// Date is a civil date in a calendar's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// String formats the date as "2006-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// addDays returns the date n days later (normalised, so Mar 32 is Apr 1).
func (d Date) addDays(n int) Date {
	y, m, dd := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC).Date()
	return Date{y, m, dd}
}

// at returns the instant of wall-clock time w, days after d, in loc. A wall time that does
// not exist or occurs twice on a daylight-saving change resolves as time.Date resolves it.
func (d Date) at(days int, w WallClock, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day+days, 0, int(w), 0, 0, loc).UTC()
}

// Break is a scheduled break of a shift: it starts at a wall-clock time (on the next day when
// earlier than the shift's start, for shifts across midnight) and lasts Length.
type Break struct {
	Start  WallClock
	Length time.Duration
}

// Shift is one shift of a pattern: from Start to End on the local wall clock. End at or
// before Start means the shift ends on the next day (a night shift 22:00–06:00). Lengths are
// computed in the calendar's location, so a night shift over a daylight-saving change is 7
// or 9 hours long.
type Shift struct {
	Name   string
	Start  WallClock
	End    WallClock
	Breaks []Break
}

// nominal is the shift's length in minutes on a day without a clock change.
func (s Shift) nominal() int {
	n := int(s.End - s.Start)
	if n <= 0 {
		n += 24 * 60
	}
	return n
}

// Exception replaces the weekly pattern on one date: a holiday (no Shifts) or a special
// schedule.
type Exception struct {
	Date   Date
	Name   string
	Shifts []Shift
}

// Interval is the half-open span [From, To).
type Interval struct {
	From, To time.Time
}

// Duration is To minus From.
func (iv Interval) Duration() time.Duration { return iv.To.Sub(iv.From) }

// ShiftInstance is a shift on a date: its real start and end in UTC and its breaks.
type ShiftInstance struct {
	Shift  string
	Date   Date // the local date the shift starts on
	Start  time.Time
	End    time.Time
	Breaks []Interval
}

// Duration is the shift's length, End minus Start (7 or 9 hours for an 8-hour night shift
// over a daylight-saving change).
func (si ShiftInstance) Duration() time.Duration { return si.End.Sub(si.Start) }

// Net is the shift's length minus its scheduled breaks: the available time.
func (si ShiftInstance) Net() time.Duration {
	d := si.Duration()
	for _, b := range si.Breaks {
		d -= b.Duration()
	}
	return d
}

// Calendar is a weekly shift pattern in a named IANA time zone with dated exceptions. Build
// it with NewCalendar; the zero Calendar has no shifts.
type Calendar struct {
	loc        *time.Location
	week       map[time.Weekday][]Shift
	exceptions map[Date]Exception
}

// maxSpan bounds Shifts so a mistaken range cannot make it loop for years.
const maxSpan = 400 * 24 * time.Hour

// NewCalendar builds a calendar in the IANA zone (such as "Europe/Berlin"): week gives the
// shifts starting on each weekday, exceptions replace the pattern on their dates. It reports
// every problem at once: an unknown zone, times outside the day, empty or overlapping shifts
// (also across midnight into the next weekday, and an exception's into the dates around it),
// breaks outside their shift, duplicate exception dates.
func NewCalendar(zone string, week map[time.Weekday][]Shift, exceptions ...Exception) (Calendar, error) {
	var ps problems
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		ps.add("Zone", zone, "not an IANA time zone name such as \"Europe/Berlin\"")
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		at := fmt.Sprintf("Week[%s]", wd)
		checkShifts(&ps, at, week[wd])
		checkCrossMidnight(&ps, at, week[wd], week[(wd+1)%7])
	}
	exc := make(map[Date]Exception, len(exceptions))
	for i, e := range exceptions {
		at := fmt.Sprintf("Exceptions[%d]", i)
		if _, dup := exc[e.Date]; dup {
			ps.add(at+".Date", e.Date, "two exceptions on one date; merge them")
		}
		if time.Date(e.Date.Year, e.Date.Month, e.Date.Day, 0, 0, 0, 0, time.UTC).Day() != e.Date.Day {
			ps.add(at+".Date", e.Date, "not a calendar date")
		}
		checkShifts(&ps, at+".Shifts", e.Shifts)
		exc[e.Date] = e
	}
	for i, e := range exceptions {
		checkNeighbours(&ps, fmt.Sprintf("Exceptions[%d].Shifts", i), e, week, exc)
	}
	if err := ps.err(); err != nil {
		return Calendar{}, err
	}
	w := make(map[time.Weekday][]Shift, len(week))
	for wd, ss := range week {
		w[wd] = slices.Clone(ss)
	}
	return Calendar{loc: loc, week: w, exceptions: exc}, nil
}

func checkShifts(ps *problems, path string, ss []Shift) {
	for i, s := range ss {
		at := fmt.Sprintf("%s[%d]", path, i)
		if s.Name == "" {
			ps.add(at+".Name", s.Name, "a shift needs a name")
		}
		if !s.Start.valid() {
			ps.add(at+".Start", int(s.Start), "a time of day is 00:00 to 23:59")
		}
		if !s.End.valid() {
			ps.add(at+".End", int(s.End), "a time of day is 00:00 to 23:59")
		}
		if s.Start == s.End {
			ps.add(at+".End", s.End, "a shift cannot start and end at the same time")
		}
		for j, b := range s.Breaks {
			bat := fmt.Sprintf("%s.Breaks[%d]", at, j)
			off := (int(b.Start-s.Start) + 24*60) % (24 * 60)
			switch {
			case !b.Start.valid():
				ps.add(bat+".Start", int(b.Start), "a time of day is 00:00 to 23:59")
			case b.Length <= 0:
				ps.add(bat+".Length", b.Length, "a break must have a positive length")
			case time.Duration(off)*time.Minute+b.Length > time.Duration(s.nominal())*time.Minute:
				ps.add(bat, fmt.Sprintf("%s+%s", b.Start, b.Length), "the break does not lie within the shift %s-%s", s.Start, s.End)
			}
		}
		for j := range i {
			o := ss[j]
			if overlaps(s.Start, s.nominal(), o.Start, o.nominal()) {
				ps.add(at, s.Name, "overlaps shift %q on the same day; shifts of a calendar must not overlap", o.Name)
			}
		}
	}
}

// checkCrossMidnight reports shifts of one day that run into shifts of the next day.
func checkCrossMidnight(ps *problems, path string, day, next []Shift) {
	for i, s := range day {
		for _, o := range next {
			if overlaps(s.Start, s.nominal(), o.Start+24*60, o.nominal()) {
				ps.add(fmt.Sprintf("%s[%d]", path, i), s.Name, "runs into shift %q of the next day; shifts of a calendar must not overlap", o.Name)
			}
		}
	}
}

// checkNeighbours reports shifts of exception e that overlap shifts of the dates before and
// after it (an exception on the date before checks itself against e).
func checkNeighbours(ps *problems, path string, e Exception, week map[time.Weekday][]Shift, exc map[Date]Exception) {
	prev, next := e.Date.addDays(-1), e.Date.addDays(1)
	for i, s := range e.Shifts {
		for _, o := range pattern(week, exc, next) {
			if overlaps(s.Start, s.nominal(), o.Start+24*60, o.nominal()) {
				ps.add(fmt.Sprintf("%s[%d]", path, i), s.Name, "runs into shift %q of %s; shifts of a calendar must not overlap", o.Name, next)
			}
		}
		if _, ok := exc[prev]; ok {
			continue
		}
		for _, o := range pattern(week, exc, prev) {
			if overlaps(o.Start, o.nominal(), s.Start+24*60, s.nominal()) {
				ps.add(fmt.Sprintf("%s[%d]", path, i), s.Name, "overlaps shift %q of %s, which runs past midnight; shifts of a calendar must not overlap", o.Name, prev)
			}
		}
	}
}

// pattern returns the shifts starting on date d: the exception's when d has one, else the
// weekly pattern's.
func pattern(week map[time.Weekday][]Shift, exc map[Date]Exception, d Date) []Shift {
	if e, ok := exc[d]; ok {
		return e.Shifts
	}
	return week[time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()]
}

func overlaps(aStart WallClock, aLen int, bStart WallClock, bLen int) bool {
	return int(aStart) < int(bStart)+bLen && int(bStart) < int(aStart)+aLen
}

// Location returns the calendar's time zone.
func (c Calendar) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// ShiftsOn returns the shifts that start on the local date d, in start order: the
// exception's shifts when d has one, else the weekly pattern's.
func (c Calendar) ShiftsOn(d Date) []ShiftInstance {
	shifts := pattern(c.week, c.exceptions, d)
	loc := c.Location()
	out := make([]ShiftInstance, 0, len(shifts))
	for _, s := range shifts {
		si := ShiftInstance{Shift: s.Name, Date: d, Start: d.at(0, s.Start, loc)}
		endDay := 0
		if s.End <= s.Start {
			endDay = 1
		}
		si.End = d.at(endDay, s.End, loc)
		for _, b := range s.Breaks {
			day := 0
			if b.Start < s.Start {
				day = 1
			}
			from := d.at(day, b.Start, loc)
			si.Breaks = append(si.Breaks, Interval{From: from, To: from.Add(b.Length)})
		}
		out = append(out, si)
	}
	slices.SortFunc(out, func(a, b ShiftInstance) int { return a.Start.Compare(b.Start) })
	return out
}

// ShiftAt returns the shift whose window [Start, End) contains t, and false when t falls
// between shifts. A shift that started on the previous local date (a night shift) is found.
func (c Calendar) ShiftAt(t time.Time) (ShiftInstance, bool) {
	d := DateOf(t, c.Location())
	for _, day := range []Date{d, d.addDays(-1)} {
		for _, si := range c.ShiftsOn(day) {
			if !t.Before(si.Start) && t.Before(si.End) {
				return si, true
			}
		}
	}
	return ShiftInstance{}, false
}

// Shifts returns the shifts overlapping [from, to), in start order. The span may be at most
// 400 days.
func (c Calendar) Shifts(from, to time.Time) ([]ShiftInstance, error) {
	if !from.Before(to) || to.Sub(from) > maxSpan {
		return nil, fmt.Errorf("%w: span %s to %s; pass from before to, at most 400 days apart", ErrInvalid, from, to)
	}
	var out []ShiftInstance
	last := DateOf(to, c.Location())
	for d := DateOf(from, c.Location()).addDays(-1); ; d = d.addDays(1) {
		for _, si := range c.ShiftsOn(d) {
			if si.Start.Before(to) && from.Before(si.End) {
				out = append(out, si)
			}
		}
		if d == last {
			return out, nil
		}
	}
}
