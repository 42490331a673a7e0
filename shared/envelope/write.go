package envelope

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

const hexUpper = "0123456789ABCDEF"

// AppendString appends s to dst as a JSON string the way Jackson (and so
// JsonConverter) writes it: '"', '\\' and control characters are escaped (\b \t \n
// \f \r, otherwise \u00XX with upper-case hex), and so is a character outside the
// Basic Multilingual Plane, as its UTF-16 surrogate pair (U+1F600 is \uD83D\uDE00);
// '<', '>', '&', U+2028 and U+2029 are written as they are. Invalid UTF-8 (which a
// Java string cannot hold) becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), "\uFFFD"...)
		case size == 4: // outside the BMP: Jackson escapes each UTF-16 surrogate
			r1, r2 := utf16.EncodeRune(r)
			dst = appendEscapedUnit(append(dst, s[start:i]...), r1)
			dst = appendEscapedUnit(dst, r2)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscapedUnit appends the UTF-16 code unit u as \uXXXX with upper-case hex.
func appendEscapedUnit(dst []byte, u rune) []byte {
	return append(dst, '\\', 'u', hexUpper[u>>12&0xF], hexUpper[u>>8&0xF], hexUpper[u>>4&0xF], hexUpper[u&0xF])
}

// appendFloat writes f as Java's Double.toString (bits 64) or Float.toString
// (bits 32) does, which is what Jackson writes: the shortest digits that read
// back to the same value, in plain notation with at least one fractional digit
// ("100.0", "0.001") when 1e-3 <= |f| < 1e7, and otherwise in scientific
// notation with a capital E and no plus sign ("1.0E7", "1.5E-4"). The caller
// rejects NaN and infinities.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// Java picks the shortest digits that read back to f, except that when one
	// digit would do it picks the closest decimal of one or two digits
	// (Double.MIN_VALUE is "4.9E-324", not "5.0E-324"). The closest two-digit
	// decimal is never farther than the one-digit one, so it reads back too.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // -d.ddddde±dd
	if e[1] == 'e' || (e[0] == '-' && e[2] == 'e') {
		e = strconv.AppendFloat(buf[:0], f, 'e', 1, bits)
	}
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	// Split e into its digits and decimal exponent: value = d1.d2d3... × 10^exp.
	var digits [24]byte
	nd := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	for nd > 1 && digits[nd-1] == '0' {
		nd--
	}
	exp := 0
	for _, c := range e[i+2:] { // AppendFloat writes e, a sign, then digits
		exp = exp*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			if nd <= exp+1 {
				dst = append(dst, digits[:nd]...)
				for range exp + 1 - nd {
					dst = append(dst, '0')
				}
				return append(dst, '.', '0')
			}
			dst = append(dst, digits[:exp+1]...)
			dst = append(dst, '.')
			return append(dst, digits[exp+1:nd]...)
		}
		dst = append(dst, '0', '.')
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits[:nd]...)
	}
	dst = append(dst, digits[0], '.')
	if nd == 1 {
		dst = append(dst, '0')
	} else {
		dst = append(dst, digits[1:nd]...)
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// appendBase64 writes b as a JSON string in standard padded base64, as
// Jackson writes binary nodes.
func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
