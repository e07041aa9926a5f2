package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as indented JSON. A json.RawMessage is re-indented as
// it is, keeping the API's field order.
func printJSON(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// ms formats a Unix-milliseconds time, or "-".
func ms(t int64) string {
	if t <= 0 {
		return "-"
	}
	return time.UnixMilli(t).Local().Format("2006-01-02 15:04:05")
}

// msString formats a Unix-milliseconds time given as a string (updateTs).
func msString(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return orDash(s)
	}
	return ms(n)
}

// duration formats how long something ran: from start to end, or to now
// while it runs.
func duration(start, end int64) string {
	if start <= 0 {
		return "-"
	}
	if end <= 0 {
		end = time.Now().UnixMilli()
	}
	return roundDuration(time.Duration(end-start) * time.Millisecond)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
