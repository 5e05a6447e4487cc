package history

import (
	"strconv"
	"unicode/utf8"
)

// MaxShown bounds how many bytes of one recorded value, key, error or other string a message
// for people shows (errors, warnings, explanations, reports). A history may hold a value of
// any size; a message must not echo 50 MB of it.
const MaxShown = 200

// Clip returns s when it is at most MaxShown bytes, else its first MaxShown bytes (cut at a
// character boundary) followed by how much was cut: "…(52,428,800 bytes, 52,428,600 cut)".
func Clip(s string) string { return ClipN(s, MaxShown) }

// ClipN is Clip with a bound of n bytes.
func ClipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := max(n, 0)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + cutNote(len(s), len(s)-i)
}

// cutNote says how much of a total was cut: "…(52,428,800 bytes, 52,428,600 cut)".
func cutNote(total, cut int) string {
	return "…(" + Thousands(int64(total)) + " bytes, " + Thousands(int64(cut)) + " cut)"
}

// Thousands renders n with commas between groups of three digits: 52,428,800.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Short renders v as String does, clipped as Clip clips, without building the whole text of
// a huge list first.
func (v Value) Short() string {
	if v.Kind != KindList {
		return v.String()
	}
	b := make([]byte, 0, MaxShown+32)
	b = append(b, '[')
	total := 1
	var tmp [24]byte
	for i, x := range v.List {
		n := len(strconv.AppendInt(tmp[:0], x, 10))
		if i > 0 {
			n++
		}
		if len(b) < MaxShown {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, x, 10)
		}
		total += n
	}
	total++ // the closing bracket
	if total <= MaxShown {
		return string(append(b, ']'))
	}
	if len(b) > MaxShown {
		b = b[:MaxShown]
	}
	return string(b) + cutNote(total, total-len(b))
}
