// fieldsync/schema.h: collections and typed fields, declared in versioned JSON.
//
// A Schema says which collections a database holds, the fields of each with their type, whether
// they are required, their allowed values, their sensitivity (confidential fields are visible
// only to some roles) and the merge rule the sync layer applies to them. The built-in
// field-sales schema (customers, contacts, visits, orders; docs/schema.md) is FieldSales();
// hosts add their own fields and collections with Extended(). Field names are stable snake_case
// English: hosts and the server depend on them.
//
// The JSON form:
//   {"version": 2,
//    "collections": {
//      "customers": {"delete_rule": "update_wins",
//                    "fields": {"name": {"type": "text", "required": true, "searchable": true},
//                               "grade": {"type": "enum", "values": ["A","B","C","D","E"]},
//                               "phones": {"type": "phone", "repeated": true},
//                               "credit_level": {"type": "enum", "values": [...],
//                                                "sensitivity": "confidential",
//                                                "merge": "server_only"}}}}}
//
// Thread safety: a Schema is immutable after construction; share it freely.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/status.h"

namespace fieldsync {

enum class FieldType {
  kText,     // UTF-8 string
  kInteger,  // 64-bit signed
  kDecimal,  // exact decimal, stored as a canonical string "1234.5"
  kMoney,    // like decimal; the currency lives in its own field
  kBool,
  kDate,       // "YYYY-MM-DD"
  kDateTime,   // RFC 3339, stored in UTC as "YYYY-MM-DDTHH:MM:SS.sssZ"
  kEnum,       // one of the declared values
  kPhone,      // validated with libphonenumber, stored as E.164 "+8613800138000"
  kEmail,      // stored lowercased
  kUrl,        // http or https
  kGeoPoint,   // {"lat": -90..90, "lon": -180..180}
  kStringSet,  // array of distinct strings, stored sorted
  kJson,       // any JSON value
};

enum class Sensitivity { kNormal, kConfidential };

enum class MergeRule {
  kLastWriterWins,  // default: the higher (HLC, node id) wins, field by field
  kReview,          // the losing value is kept as a conflict record for a person to resolve
  kServerOnly,      // reps cannot write it; a rep's write is refused with a reason
  kAddWinsSet,      // string sets: concurrent adds and removes merge, adds win
  kAppendOnly,      // records are written once and never edited (visits)
};

enum class DeleteRule {
  kDeleteWins,  // a delete beats a concurrent update
  kUpdateWins,  // a concurrent update resurrects the record
};

const char* FieldTypeName(FieldType type);
const char* MergeRuleName(MergeRule rule);

struct FieldDef {
  std::string name;
  FieldType type = FieldType::kText;
  bool required = false;
  bool repeated = false;  // a JSON array of values of `type` (e.g. several phones)
  std::vector<std::string> enum_values;
  Sensitivity sensitivity = Sensitivity::kNormal;
  MergeRule merge = MergeRule::kLastWriterWins;
  std::string references;   // for text ids: the collection the id points into
  bool searchable = false;  // indexed for Database::Search
  int max_length = 0;       // in Unicode code points for text; 0: the default limit (10,000)
  double min = 0, max = 0;  // for integers and decimals when min < max
};

struct CollectionDef {
  std::string name;
  std::vector<FieldDef> fields;  // in declaration order
  DeleteRule delete_rule = DeleteRule::kDeleteWins;
  bool append_only = false;

  const FieldDef* Field(std::string_view name) const;
};

class Schema {
 public:
  // InvalidArgument naming the problem (unknown type, enum without values, ...).
  static Result<Schema> Parse(std::string_view json);
  // The built-in field-sales schema.
  static const Schema& FieldSales();

  // This schema plus the collections and fields declared in `json`. Existing fields cannot
  // change type or rule (InvalidArgument); the version becomes the higher of the two.
  Result<Schema> Extended(std::string_view json) const;

  int version() const { return version_; }
  const std::vector<CollectionDef>& collections() const { return collections_; }
  const CollectionDef* Collection(std::string_view name) const;
  std::string ToJson() const;

 private:
  int version_ = 1;
  std::vector<CollectionDef> collections_;
};

}  // namespace fieldsync
