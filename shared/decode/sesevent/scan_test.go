package sesevent

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// scanStringRef is the byte-at-a-time scanString the word-at-a-time one must match.
func scanStringRef(data []byte, pos int) (raw []byte, esc, high, ok bool, end int) {
	i := pos + 1
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return data[pos+1 : i], esc, high, true, i + 1
		case c == '\\':
			esc = true
			if i+1 >= len(data) {
				return nil, false, false, false, pos
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) {
					return nil, false, false, false, pos
				}
				if _, ok := hex4(data[i+2 : i+6]); !ok {
					return nil, false, false, false, pos
				}
				i += 6
			default:
				return nil, false, false, false, pos
			}
		case c < 0x20:
			return nil, false, false, false, pos
		default:
			if c >= utf8.RuneSelf {
				high = true
			}
			i++
		}
	}
	return nil, false, false, false, pos
}

func checkScanString(t *testing.T, data []byte) {
	t.Helper()
	if len(data) == 0 || data[0] != '"' {
		data = append([]byte{'"'}, data...)
	}
	d := fastDecoder{data: data}
	raw, esc, high, ok := d.scanString()
	wraw, wesc, whigh, wok, wend := scanStringRef(data, 0)
	if ok != wok || !bytes.Equal(raw, wraw) || esc != wesc || high != whigh || (ok && d.pos != wend) {
		t.Fatalf("scanString(%q) = %q %v %v %v pos %d; want %q %v %v %v pos %d", data, raw, esc, high, ok, d.pos, wraw, wesc, whigh, wok, wend)
	}
}

func TestScanString(t *testing.T) {
	for _, s := range []string{
		`""`, `"a"`, `"abcdefgh"`, `"abcdefghi"`, `"abcdefg\"h"`, `"abcdefgh\\"`, `"\u00e9abcdefghijkl"`,
		`"caf` + "\xc3\xa9" + `" tail`, `"` + "\xe3\x81\x94\xe6\xb3\xa8\xe6\x96\x87" + `abcdefgh"`, `"abc` + "\x01" + `defgh"`,
		`"abcdefgh` + "\n" + `"`, `"unterminated`, `"unterminated and long enough`, `"abc\q"`, `"abcdefgh\u12"`,
		`"` + "\x7f\x80\xff" + `abcdefgh"`, `"\"\"\"\"\"\"\"\"\""`, `"ab"cdefghijk"`,
	} {
		checkScanString(t, []byte(s))
	}
	// Every special byte at every offset of a few words, and of a few 32-byte vector steps.
	for _, n := range []int{28, 100} {
		for _, c := range []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff} {
			for off := 1; off < n-2; off++ {
				b := bytes.Repeat([]byte{'x'}, n)
				b[0] = '"'
				b[off] = c
				checkScanString(t, b)
				b = append(b, '"')
				checkScanString(t, b)
			}
		}
	}
}

func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"abcdefghij\"kl"`, `"\u00e9"`, "\"\xc3\xa9abcdefgh\"", `"abc\u`} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScanString)
}

// TestPlainRun32 checks the vector scan for every special byte at every offset of a few steps,
// from every start offset before it (when the CPU has AVX2; else the word loop is what runs).
func TestPlainRun32(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 here: scanString uses the word loop only")
	}
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	// What scanString relies on: every byte from i to the result is plain, and the result is
	// either a special byte or fewer than 32 bytes from the end.
	check := func(b []byte, i int) {
		t.Helper()
		r := plainRun32(b, i)
		if r < i || r > len(b) {
			t.Fatalf("plainRun32(%q, %d) = %d, out of range", b, i, r)
		}
		for j := i; j < r; j++ {
			if special(b[j]) {
				t.Fatalf("plainRun32(%q, %d) = %d, past the special byte at %d", b, i, r, j)
			}
		}
		if !(r < len(b) && special(b[r])) && r+32 <= len(b) {
			t.Fatalf("plainRun32(%q, %d) = %d: stopped on a plain byte with 32 left", b, i, r)
		}
	}
	for _, c := range []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xc3, 0xff} {
		for off := 0; off < 100; off++ {
			b := bytes.Repeat([]byte{'x'}, 100)
			b[off] = c
			for i := 0; i <= off; i++ {
				check(b, i)
			}
		}
	}
	for _, c := range []byte{0x20, 0x21, '!', 0x7f, '[', ']', 'A'} {
		b := bytes.Repeat([]byte{c}, 97)
		for i := range 40 {
			check(b, i)
		}
	}
}

// headerLiteral takes exactly the two member orders without white space and leaves anything
// else (consuming nothing) to the validating skipper.
func TestHeaderLiteral(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"name":"From","value":"a@b"}`, true},
		{`{"value":"a@b","name":"From"}`, true},
		{`{"name":"","value":""}`, true},
		{`{"name":"X","value":"\"q\" \u00e9"}`, true},
		{`{"name":"From","value":"a@b"`, false},
		{`{"name": "From","value":"a@b"}`, false},
		{`{"name":"From", "value":"a@b"}`, false},
		{`{"name":"From","valuе":"a@b"}`, false},
		{`{"name":"From","value":1}`, false},
		{`{"name":"From","name":"a@b"}`, false},
		{`{"value":"a@b","value":"x"}`, false},
		{`{"nam":"From","value":"a@b"}`, false},
		{`{"name":"From"}`, false},
		{`{"name":"Fr` + "\x01" + `om","value":"a@b"}`, false},
		{`{"name":"`, false},
	} {
		d := fastDecoder{data: []byte(tc.in + `,{}]`)}
		if got := d.headerLiteral(); got != tc.want || got && d.pos != len(tc.in) || !got && d.pos != 0 {
			t.Errorf("headerLiteral(%s) = %v at %d, want %v", tc.in, got, d.pos, tc.want)
		}
	}
}
