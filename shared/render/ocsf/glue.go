package ocsf

import (
	"fmt"
	"reflect"
	"strings"
)

// Column is one top-level column of the Glue table Firehose converts the JSON events to Parquet
// against (record format conversion reads the schema from Glue): Type is a Hive type string.
type Column struct {
	Name string
	Type string
}

// GlueColumns are the columns of DetectionFinding, derived from its JSON tags and Go types so
// the table cannot drift from what Finding and Result emit: int → int, int64 → bigint (OCSF
// timestamp_t is epoch milliseconds), string → string, slice → array<…>, struct (or pointer to
// one) → struct<…>. Names are the OCSF attribute names (already lower case, which Firehose's
// OpenX JSON SerDe needs).
func GlueColumns() []Column {
	t := reflect.TypeFor[DetectionFinding]()
	out := make([]Column, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, Column{Name: jsonName(f), Type: hiveType(f.Type)})
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		// Every field of the event types is tagged; an untagged one is a programming error
		// that the schema test catches by name.
		return strings.ToLower(f.Name)
	}
	return name
}

func hiveType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return hiveType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int32:
		return "int"
	case reflect.Int64:
		return "bigint"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array<" + hiveType(t.Elem()) + ">"
	case reflect.Struct:
		fields := make([]string, 0, t.NumField())
		for i := range t.NumField() {
			f := t.Field(i)
			fields = append(fields, jsonName(f)+":"+hiveType(f.Type))
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	panic(fmt.Sprintf("ocsf: no Hive type for %s", t))
}
