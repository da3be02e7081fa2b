// model/builtin_schema.h: the built-in field-sales schema (customers, contacts, visits, orders)
// as the JSON text Schema::FieldSales() parses once. Every field is described in docs/schema.md;
// the two must change together, because hosts and the server depend on the field names.
//
// Thread safety: returns a pointer to a string literal.
#pragma once

namespace fieldsync::model {

// The schema in the format of fieldsync/schema.h. Static storage; never null.
const char* BuiltInSchemaJson();

}  // namespace fieldsync::model
