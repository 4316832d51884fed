package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseJSONTime reads a time as AWS findings write it: an RFC 3339 string, or
// UNIX seconds as a number (or a string of one). Absent, null and "" give
// nil. field names it in errors.
func ParseJSONTime(field string, raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %v", field, err)
		}
		if s == "" {
			return nil, nil
		}
	} else {
		s = string(raw)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var ok bool
		if t, ok = unixSeconds(s); !ok {
			return nil, fmt.Errorf("%s %s is neither an RFC 3339 time nor UNIX seconds", field, raw)
		}
	}
	// JSON can hold only years 0-9999, and @timestamp must not be zero.
	if t = t.UTC(); t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return nil, fmt.Errorf("%s %s is out of range", field, raw)
	}
	return &t, nil
}

// unixSeconds parses non-negative decimal UNIX seconds exactly, to the
// nanosecond.
func unixSeconds(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || len(frac) > 9 || strings.Trim(whole+frac, "0123456789") != "" {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if frac != "" {
		nsec, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Unix(sec, nsec), true
}

// UnixTime converts epoch seconds (a float, as Python's time.time() gives
// them) to a UTC time, to the microsecond. field names it in errors.
func UnixTime(field string, sec float64) (time.Time, error) {
	if math.IsNaN(sec) || math.IsInf(sec, 0) || sec < -62135596800 || sec >= 253402300800 {
		return time.Time{}, fmt.Errorf("%s %v is out of range", field, sec)
	}
	s, frac := math.Modf(sec)
	return time.Unix(int64(s), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}
