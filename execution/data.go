package execution

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// StringMembers reads string members of the top level of a JSON object, such as an event's
// data, into out: out[i] is the value of member names[i], or "" when it is absent or not a
// string. It stops once it has them all and skips the other members without decoding
// them, so it costs a fraction of json.Unmarshal when the members sought come first. It
// reports false when data is not a JSON object. data must be valid JSON with unique member
// names, as json.Marshal writes it; it is not validated.
func StringMembers(data []byte, names []string, out []string) bool {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return false
	}
	i++
	for left := len(names); left > 0; {
		i = skipSpace(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		if i == len(data) || data[i] != '"' {
			return i < len(data) && data[i] == '}'
		}
		end := stringEnd(data, i)
		if end < 0 {
			return false
		}
		key := data[i:end]
		i = skipSpace(data, end)
		if i == len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		k := -1
		raw := key[1 : len(key)-1]
		if bytes.IndexByte(raw, '\\') >= 0 {
			raw = []byte(jsonString(key)) // an escaped name, such as "\u006cot"
		}
		for n, name := range names {
			if string(raw) == name {
				k = n
			}
		}
		isString := i < len(data) && data[i] == '"'
		if isString {
			end = stringEnd(data, i)
		} else {
			end = valueEnd(data, i)
		}
		if end < 0 {
			return false
		}
		if k >= 0 && isString {
			out[k] = jsonString(data[i:end])
			left--
		}
		i = end
	}
	return true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the end of the JSON string starting at data[i] (a quote), or -1.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// jsonString decodes a JSON string token.
func jsonString(token []byte) string {
	raw := token[1 : len(token)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw)
	}
	var s string // with escapes, or invalid UTF-8 to replace as json does
	_ = json.Unmarshal(token, &s)
	return s
}

// valueEnd returns the end of the JSON value starting at data[i], or -1.
func valueEnd(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		c := data[i]
		if depth == 0 && (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			return i // the end of a number, true, false or null
		}
		switch c {
		case '"':
			if i = stringEnd(data, i); i < 0 {
				return -1
			}
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
		default:
			i++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return i
		}
	}
	return -1
}
