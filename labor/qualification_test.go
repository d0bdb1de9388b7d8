package labor

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckQualification(t *testing.T) {
	tig := Qualification{ID: "TIG", Name: "TIG welding"}
	trackIn := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	cert := func(level int, issued, expires time.Time) Certification {
		return Certification{Person: "P1", Qualification: "TIG", Level: level, Issued: issued, Expires: expires}
	}
	year := trackIn.AddDate(-1, 0, 0)
	tests := []struct {
		name    string
		certs   []Certification
		level   int
		want    error
		held    int
		expired time.Time
	}{
		{"valid", []Certification{cert(2, year, trackIn.AddDate(1, 0, 0))}, 2, nil, 0, time.Time{}},
		{"never expires", []Certification{cert(2, year, time.Time{})}, 1, nil, 0, time.Time{}},
		{"expires exactly at the track-in instant", []Certification{cert(2, year, trackIn)}, 2, ErrQualificationExpired, 0, trackIn},
		{"expires one nanosecond after track-in", []Certification{cert(2, year, trackIn.Add(1))}, 2, nil, 0, time.Time{}},
		{"issued exactly at track-in is valid", []Certification{cert(2, trackIn, time.Time{})}, 2, nil, 0, time.Time{}},
		{"issued after track-in", []Certification{cert(2, trackIn.Add(1), time.Time{})}, 2, ErrNotQualified, 0, time.Time{}},
		{"level too low", []Certification{cert(1, year, time.Time{})}, 2, ErrNotQualified, 1, time.Time{}},
		{"expired at level, valid below", []Certification{cert(3, year, trackIn.AddDate(0, -1, 0)), cert(1, year, time.Time{})}, 2,
			ErrQualificationExpired, 1, trackIn.AddDate(0, -1, 0)},
		{"renewed after expiry", []Certification{cert(2, year, trackIn.AddDate(0, -1, 0)), cert(2, trackIn.AddDate(0, -1, 0), time.Time{})}, 2, nil, 0, time.Time{}},
		{"no certification", nil, 1, ErrNotQualified, 0, time.Time{}},
		{"another person's certification does not count", []Certification{{Person: "P2", Qualification: "TIG", Level: 3, Issued: year}}, 1, ErrNotQualified, 0, time.Time{}},
		{"another qualification does not count", []Certification{{Person: "P1", Qualification: "MIG", Level: 3, Issued: year}}, 1, ErrNotQualified, 0, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("P1", tc.certs, Requirement{Qualification: tig, Level: tc.level}, trackIn)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, Check("P1", tc.certs, Requirement{Qualification: tig, Level: tc.level, Policy: WarnWithOverride}, trackIn))
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.False(t, errors.Is(err, ErrOverrideRequired), "Block never offers an override")
			var qe *QualificationError
			require.ErrorAs(t, err, &qe)
			assert.Equal(t, tig, qe.Qualification)
			assert.Equal(t, tc.level, qe.Required)
			assert.Equal(t, tc.held, qe.Held)
			assert.Equal(t, tc.expired, qe.Expired)
			assert.Contains(t, err.Error(), "TIG welding")
			if !tc.expired.IsZero() {
				assert.Contains(t, err.Error(), tc.expired.Format(time.RFC3339))
			}

			warn := Check("P1", tc.certs, Requirement{Qualification: tig, Level: tc.level, Policy: WarnWithOverride}, trackIn)
			require.ErrorIs(t, warn, ErrOverrideRequired)
			require.ErrorIs(t, warn, tc.want, "the override error still names the problem")
			var or *OverrideRequired
			require.ErrorAs(t, warn, &or)
			assert.Equal(t, qe, or.Problem)
		})
	}
}
